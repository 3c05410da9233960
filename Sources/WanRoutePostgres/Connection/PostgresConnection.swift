import Foundation

/// One session with a PostgreSQL server over protocol 3.0, using the extended query protocol only:
/// SQL text and parameter values travel in separate messages, so no value is ever spliced into SQL.
///
/// Calls block the calling thread, each bounded by the configuration's time-outs. A connection
/// serves one caller at a time (calls are serialised by a lock; a transaction belongs to whoever
/// opened it), so share a ``PostgresPool`` between threads, not a connection. After a time-out, a
/// closed socket or a protocol violation the connection is unusable (``isUsable`` is false) and
/// every later call fails with ``PostgresError/connectionUnusable``.
public final class PostgresConnection: @unchecked Sendable {
    /// What the server said about the session's transaction at the last ReadyForQuery.
    public enum TransactionStatus: Sendable, Equatable {
        /// Not in a transaction block.
        case idle
        /// In a transaction block.
        case inTransaction
        /// In a failed transaction block: every statement fails until ROLLBACK.
        case failed
    }

    /// The configuration this connection was opened with.
    public let configuration: PostgresConfiguration
    /// The server backend's process id (what `pg_backend_pid()` returns, and `pg_terminate_backend` takes).
    public private(set) var backendProcessID: Int32 = 0
    /// Settings the server reported (server_version, TimeZone, ...).
    public private(set) var serverParameters: [String: String] = [:]

    private var socket: PostgresSocket?
    private var secretKey: Int32 = 0
    private var status: TransactionStatus = .idle
    private var statementCounter = 0
    private let lock = NSLock()

    /// Largest message accepted before login completes: authentication and errors are small.
    private static let startupMessageLimit = 64 * 1024

    private init(configuration: PostgresConfiguration) {
        self.configuration = configuration
    }

    deinit {
        if let socket {
            var buffer = FrontendBuffer()
            buffer.terminate()
            try? socket.send(buffer.bytes, by: Deadline(secondsFromNow: 0.1))
            socket.close()
        }
    }

    /// Connects, logs in and waits for the server to be ready, all within `connectTimeout`.
    public static func connect(_ configuration: PostgresConfiguration) throws(PostgresError) -> PostgresConnection {
        let connection = PostgresConnection(configuration: configuration)
        let deadline = Deadline(secondsFromNow: configuration.connectTimeout)
        do {
            connection.socket = try PostgresSocket.connect(to: configuration.endpoint, by: deadline)
        } catch {
            throw connection.mapped(error, during: "connecting", seconds: configuration.connectTimeout)
        }
        do {
            try connection.startUp(by: deadline)
        } catch {
            connection.closeSocket()
            throw error
        }
        return connection
    }

    /// True while the connection can take queries.
    public var isUsable: Bool {
        lock.lock(); defer { lock.unlock() }
        return socket != nil
    }

    /// The transaction state at the last ReadyForQuery.
    public var transactionStatus: TransactionStatus {
        lock.lock(); defer { lock.unlock() }
        return status
    }

    /// Ends the session politely (Terminate) and closes the socket. Safe to call twice.
    public func close() {
        lock.lock(); defer { lock.unlock() }
        guard let socket else { return }
        var buffer = FrontendBuffer()
        buffer.terminate()
        try? socket.send(buffer.bytes, by: Deadline(secondsFromNow: 1))
        closeSocket()
    }

    // MARK: - Queries

    /// Runs one statement with parameters `$1`, `$2`, ... and returns its rows. One round trip:
    /// Parse, Bind, Describe, Execute and Sync leave in one write.
    @discardableResult
    public func query(_ sql: String, _ parameters: [PostgresValue] = []) throws(PostgresError) -> PostgresQueryResult {
        lock.lock(); defer { lock.unlock() }
        let values = try encode(parameters)
        try checkText(sql)
        var buffer = FrontendBuffer()
        buffer.parse(statement: "", query: sql, parameterTypes: parameters.map(\.typeOID))
        buffer.bind(portal: "", statement: "", values: values)
        buffer.describe(portal: "")
        buffer.execute(portal: "")
        buffer.sync()
        return try exchange(buffer.bytes, columns: nil)[0]
    }

    /// Runs several statements in one round trip: all their messages, then one Sync. PostgreSQL runs
    /// statements between two Syncs as one implicit transaction (unless they open their own), so
    /// either every statement takes effect or, at the first error, none does, and that error is
    /// thrown. Returns one result per statement.
    @discardableResult
    public func pipeline(_ statements: [(sql: String, parameters: [PostgresValue])]) throws(PostgresError) -> [PostgresQueryResult] {
        lock.lock(); defer { lock.unlock() }
        guard !statements.isEmpty else { return [] }
        var buffer = FrontendBuffer()
        for (sql, parameters) in statements {
            let values = try encode(parameters)
            try checkText(sql)
            buffer.parse(statement: "", query: sql, parameterTypes: parameters.map(\.typeOID))
            buffer.bind(portal: "", statement: "", values: values)
            buffer.describe(portal: "")
            buffer.execute(portal: "")
        }
        buffer.sync()
        let results = try exchange(buffer.bytes, columns: nil)
        guard results.count == statements.count else {
            closeSocket()
            throw .protocolViolation("\(results.count) results for \(statements.count) statements")
        }
        return results
    }

    /// Parses a statement once on this connection, for repeated ``execute(_:_:)`` calls that skip the parse.
    public func prepare(_ sql: String) throws(PostgresError) -> PostgresPreparedStatement {
        lock.lock(); defer { lock.unlock() }
        try checkText(sql)
        statementCounter += 1
        let name = "wanroute_\(statementCounter)"
        var buffer = FrontendBuffer()
        buffer.parse(statement: name, query: sql, parameterTypes: [])
        buffer.describe(statement: name)
        buffer.sync()
        let result = try exchange(buffer.bytes, columns: nil)[0]
        return PostgresPreparedStatement(name: name, connectionID: ObjectIdentifier(self), columns: result.columns)
    }

    /// Runs a statement prepared on this connection.
    @discardableResult
    public func execute(_ statement: PostgresPreparedStatement, _ parameters: [PostgresValue] = []) throws(PostgresError) -> PostgresQueryResult {
        lock.lock(); defer { lock.unlock() }
        guard statement.connectionID == ObjectIdentifier(self) else {
            throw .invalidParameter(index: 0, reason: "the statement was prepared on another connection")
        }
        let values = try encode(parameters)
        var buffer = FrontendBuffer()
        buffer.bind(portal: "", statement: statement.name, values: values)
        buffer.execute(portal: "")
        buffer.sync()
        return try exchange(buffer.bytes, columns: statement.columns)[0]
    }

    /// Runs `body` inside BEGIN ... COMMIT; any error thrown rolls back and is rethrown. A COMMIT that
    /// the server answers with ROLLBACK (the transaction had failed) throws ``PostgresError/transactionRolledBack``.
    @discardableResult
    public func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        // A nested BEGIN is only a warning to PostgreSQL, and our COMMIT would end the outer transaction.
        guard transactionStatus == .idle else { throw PostgresError.alreadyInTransaction }
        try query("BEGIN")
        let value: T
        do {
            value = try body(self)
        } catch {
            if isUsable { _ = try? query("ROLLBACK") }
            throw error
        }
        let commit = try query("COMMIT")
        guard commit.commandTag == "COMMIT" else { throw PostgresError.transactionRolledBack }
        return value
    }

    // MARK: - The exchange

    private func encode(_ parameters: [PostgresValue]) throws(PostgresError) -> [[UInt8]?] {
        guard parameters.count <= Int(Int16.max) else {
            throw .invalidParameter(index: parameters.count, reason: "at most \(Int16.max) parameters fit in one statement")
        }
        var values: [[UInt8]?] = []
        values.reserveCapacity(parameters.count)
        for (offset, parameter) in parameters.enumerated() { values.append(try parameter.encoded(index: offset + 1)) }
        return values
    }

    private func checkText(_ sql: String) throws(PostgresError) {
        guard !sql.utf8.contains(0) else { throw .invalidParameter(index: 0, reason: "the SQL text contains a NUL character") }
    }

    /// Sends one batch ending in Sync and reads to ReadyForQuery, collecting rows, one result per
    /// CommandComplete (or a single result when none came, as for Describe). An ErrorResponse is
    /// remembered and thrown after ReadyForQuery, so the connection stays in step for the next call.
    private func exchange(_ bytes: [UInt8], columns knownColumns: [PostgresColumn]?) throws(PostgresError) -> [PostgresQueryResult] {
        guard let socket else { throw .connectionUnusable }
        let deadline = Deadline(secondsFromNow: configuration.queryTimeout)
        var columns = knownColumns ?? []
        var rows: [PostgresRow] = []
        var resultBytes = 0
        var results: [PostgresQueryResult] = []
        var serverError: PostgresServerError?
        do {
            try socket.send(bytes, by: deadline)
            loop: while true {
                let message = try socket.readMessage(by: deadline, maximumLength: configuration.maximumMessageLength)
                var reader = MessageReader(message.body)
                switch message.type {
                case UInt8(ascii: "D"):
                    let count = Int(try reader.int16())
                    guard count == columns.count else { throw SocketFailure.rejected(.protocolViolation("a row has \(count) values for \(columns.count) columns")) }
                    var values: [[UInt8]?] = []
                    values.reserveCapacity(count)
                    for _ in 0..<count {
                        let length = Int(try reader.int32())
                        values.append(length < 0 ? nil : try reader.bytes(length))
                    }
                    resultBytes += message.body.count
                    guard resultBytes <= configuration.maximumResultBytes else {
                        throw SocketFailure.rejected(.tooLarge(what: "result", bytes: resultBytes, limit: configuration.maximumResultBytes))
                    }
                    rows.append(PostgresRow(columns: columns, values: values))
                case UInt8(ascii: "T"):
                    columns = try Self.parseRowDescription(&reader)
                case UInt8(ascii: "C"), UInt8(ascii: "I"):  // CommandComplete, EmptyQueryResponse
                    let tag = message.type == UInt8(ascii: "C") ? try reader.cString() : ""
                    results.append(PostgresQueryResult(columns: columns, rows: rows, commandTag: tag))
                    columns = knownColumns ?? []
                    rows = []
                case UInt8(ascii: "n"):
                    columns = []  // NoData: this statement returns no rows
                case UInt8(ascii: "1"), UInt8(ascii: "2"), UInt8(ascii: "3"), UInt8(ascii: "t"), UInt8(ascii: "s"):
                    break  // ParseComplete, BindComplete, CloseComplete, ParameterDescription, PortalSuspended
                case UInt8(ascii: "E"):
                    let error = try PostgresServerError(parsing: message.body)
                    if error.endsSession {
                        closeSocket()
                        throw PostgresError.server(error)
                    }
                    serverError = serverError ?? error
                case UInt8(ascii: "Z"):
                    try readyForQuery(&reader)
                    break loop
                default:
                    try handleAsynchronous(message)
                }
            }
        } catch let error as PostgresError {
            closeSocket()
            throw error
        } catch let failure as SocketFailure {
            if case .timedOut = failure { cancelRunningQuery() }
            throw mapped(failure, during: "a query", seconds: configuration.queryTimeout)
        } catch {
            closeSocket()
            throw .protocolViolation("\(error)")
        }
        if let serverError { throw .server(serverError) }
        if results.isEmpty { results.append(PostgresQueryResult(columns: columns, rows: rows, commandTag: "")) }
        return results
    }

    private static func parseRowDescription(_ reader: inout MessageReader) throws(PostgresError) -> [PostgresColumn] {
        let count = Int(try reader.int16())
        guard count >= 0 else { throw .protocolViolation("negative column count") }
        var columns: [PostgresColumn] = []
        columns.reserveCapacity(count)
        for _ in 0..<count {
            let name = try reader.cString()
            _ = try reader.int32()  // table OID
            _ = try reader.int16()  // column number
            let type = UInt32(bitPattern: try reader.int32())
            _ = try reader.int16()  // type size
            _ = try reader.int32()  // type modifier
            _ = try reader.int16()  // format code (always text here)
            columns.append(PostgresColumn(name: name, typeOID: type))
        }
        return columns
    }

    private func readyForQuery(_ reader: inout MessageReader) throws(PostgresError) {
        switch try reader.byte() {
        case UInt8(ascii: "I"): status = .idle
        case UInt8(ascii: "T"): status = .inTransaction
        case UInt8(ascii: "E"): status = .failed
        case let other: throw .protocolViolation("unknown transaction status \(other)")
        }
    }

    /// Messages the server may send at any time: notices, setting changes, notifications.
    private func handleAsynchronous(_ message: BackendMessage) throws(PostgresError) {
        var reader = MessageReader(message.body)
        switch message.type {
        case UInt8(ascii: "N"), UInt8(ascii: "A"):
            break  // NoticeResponse, NotificationResponse: nothing here listens
        case UInt8(ascii: "S"):
            let name = try reader.cString()
            let value = try reader.cString()
            serverParameters[name] = value
            // Rows are decoded as UTF-8: a session switched to another encoding would garble them.
            if name == "client_encoding" && value != "UTF8" {
                throw .protocolViolation("the server switched client_encoding to \(value); this client reads only UTF8")
            }
        default:
            throw .protocolViolation("unexpected message '\(message.typeName)'")
        }
    }

    // MARK: - Start-up and login

    private func startUp(by deadline: Deadline) throws(PostgresError) {
        guard let socket else { throw .connectionUnusable }
        for text in [configuration.user, configuration.database, configuration.applicationName] where text.utf8.contains(0) {
            throw .invalidURL("the user, database and application name cannot contain NUL")
        }
        var buffer = FrontendBuffer()
        buffer.startup(parameters: [
            ("user", configuration.user), ("database", configuration.database),
            ("application_name", configuration.applicationName), ("client_encoding", "UTF8"),
            ("DateStyle", "ISO"), ("TimeZone", "UTC"),
        ])
        var scram: SCRAMSHA256Client?
        var scramVerified = false
        do {
            try socket.send(buffer.bytes, by: deadline)
            loop: while true {
                let message = try socket.readMessage(by: deadline, maximumLength: Self.startupMessageLimit)
                var reader = MessageReader(message.body)
                switch message.type {
                case UInt8(ascii: "R"):
                    let code = try reader.int32()
                    switch code {
                    case 0:
                        // A server that started SCRAM must finish it with a valid signature before "OK".
                        guard scram == nil || scramVerified else {
                            throw PostgresError.authenticationFailed("the server skipped the SCRAM proof of its own identity")
                        }
                    case 3:
                        try sendPassword(Self.require(configuration.password), socket, deadline)
                    case 5:
                        throw PostgresError.authenticationFailed("the server asks for MD5 password authentication, which this client does not speak; set password_encryption = 'scram-sha-256', set the role's password again, and use scram-sha-256 in pg_hba.conf")
                    case 10:
                        var mechanisms: [String] = []
                        while !reader.isAtEnd {
                            let name = try reader.cString()
                            if name.isEmpty { break }
                            mechanisms.append(name)
                        }
                        guard mechanisms.contains("SCRAM-SHA-256") else {
                            throw PostgresError.authenticationFailed("the server offers SASL mechanisms \(mechanisms.joined(separator: ", ")), not SCRAM-SHA-256")
                        }
                        let client = SCRAMSHA256Client(password: try Self.require(configuration.password).value)
                        scram = client
                        var out = FrontendBuffer()
                        out.saslInitialResponse(mechanism: "SCRAM-SHA-256", data: Array(client.clientFirstMessage.utf8))
                        try socket.send(out.bytes, by: deadline)
                    case 11:
                        guard var client = scram, let serverFirst = String(validating: reader.rest(), as: UTF8.self) else {
                            throw PostgresError.protocolViolation("SASL continue without a SCRAM exchange")
                        }
                        let clientFinal = try Self.scramStep { () throws(SCRAMSHA256Client.Failure) in try client.clientFinalMessage(serverFirst: serverFirst) }
                        scram = client
                        var out = FrontendBuffer()
                        out.saslResponse(Array(clientFinal.utf8))
                        try socket.send(out.bytes, by: deadline)
                    case 12:
                        guard let client = scram, let serverFinal = String(validating: reader.rest(), as: UTF8.self) else {
                            throw PostgresError.protocolViolation("SASL final without a SCRAM exchange")
                        }
                        try Self.scramStep { () throws(SCRAMSHA256Client.Failure) in try client.verify(serverFinal: serverFinal) }
                        scramVerified = true
                    default:
                        throw PostgresError.authenticationFailed("the server asks for authentication method \(code) (GSSAPI, SSPI or Kerberos), which this client does not speak; use scram-sha-256")
                    }
                case UInt8(ascii: "K"):
                    backendProcessID = try reader.int32()
                    secretKey = try reader.int32()
                case UInt8(ascii: "E"):
                    throw PostgresError.server(try PostgresServerError(parsing: message.body))
                case UInt8(ascii: "Z"):
                    try readyForQuery(&reader)
                    break loop
                case UInt8(ascii: "v"):
                    throw PostgresError.protocolViolation("the server does not speak protocol 3.0 as this client does (NegotiateProtocolVersion)")
                default:
                    try handleAsynchronous(message)
                }
            }
        } catch let error as PostgresError {
            throw error
        } catch let failure as SocketFailure {
            throw mapped(failure, during: "connecting", seconds: configuration.connectTimeout)
        } catch {
            throw .protocolViolation("\(error)")
        }
    }

    private static func require(_ password: PostgresPassword?) throws(PostgresError) -> PostgresPassword {
        guard let password else {
            throw .authenticationFailed("the server asks for a password and none was given (put it in the URL, or in PGPASSWORD or WANROUTE_LEDGER_PASSWORD for the wanroute command)")
        }
        return password
    }

    private static func scramStep<T>(_ step: () throws(SCRAMSHA256Client.Failure) -> T) throws(PostgresError) -> T {
        do {
            return try step()
        } catch {
            switch error {
            case .serverSignatureMismatch:
                throw .authenticationFailed("the server's SCRAM signature is wrong: it does not know the password (is something impersonating it?)")
            case .serverRejected(let reason):
                throw .authenticationFailed("the server ended the SCRAM exchange: \(reason)")
            case .nonceMismatch:
                throw .authenticationFailed("the server's SCRAM nonce does not extend ours")
            case .iterationCountOutOfRange(let count):
                throw .authenticationFailed("the server asks for \(count) SCRAM iterations, outside 1...\(SCRAMSHA256Client.maximumIterations)")
            case .malformedServerMessage(let reason):
                throw .protocolViolation("SCRAM: \(reason)")
            }
        }
    }

    private func sendPassword(_ password: PostgresPassword, _ socket: PostgresSocket, _ deadline: Deadline) throws(SocketFailure) {
        guard !password.value.utf8.contains(0) else { throw .rejected(.authenticationFailed("the password contains a NUL character")) }
        var out = FrontendBuffer()
        out.password(password.value)
        try socket.send(out.bytes, by: deadline)
    }

    // MARK: - Failure handling

    private func closeSocket() {
        socket?.close()
        socket = nil
    }

    /// Turns a socket failure into the public error and closes the connection: after a time-out or a
    /// short read the conversation is out of step and cannot be trusted again.
    private func mapped(_ failure: SocketFailure, during: String, seconds: Double) -> PostgresError {
        closeSocket()
        let endpoint = configuration.endpoint.description
        switch failure {
        case .timedOut: return .timedOut(endpoint: endpoint, during: during, seconds: seconds)
        case .closed: return .connectionClosed(endpoint: endpoint)
        case .failed(let reason): return .connectFailed(endpoint: endpoint, reason: reason)
        case .rejected(let error): return error
        }
    }

    /// Asks the server to stop the query that timed out (CancelRequest on a fresh connection, best
    /// effort, one second at most), so it does not run on after we stop waiting.
    private func cancelRunningQuery() {
        guard backendProcessID != 0 else { return }
        let deadline = Deadline(secondsFromNow: 1)
        guard let side = try? PostgresSocket.connect(to: configuration.endpoint, by: deadline) else { return }
        var buffer = FrontendBuffer()
        buffer.cancelRequest(processID: backendProcessID, secretKey: secretKey)
        try? side.send(buffer.bytes, by: deadline)
        side.close()
    }
}

/// A statement parsed once on one connection (``PostgresConnection/prepare(_:)``).
public struct PostgresPreparedStatement: Sendable {
    let name: String
    let connectionID: ObjectIdentifier
    /// The columns its rows will have.
    public let columns: [PostgresColumn]
}
