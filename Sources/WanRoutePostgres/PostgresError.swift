/// An ErrorResponse from the server, field by field (PostgreSQL's "Error and Notice Message Fields").
public struct PostgresServerError: Equatable, Sendable {
    /// `ERROR`, `FATAL` or `PANIC` (field V, not localised).
    public var severity: String
    /// The SQLSTATE, such as `23505` (unique violation) or `28P01` (wrong password).
    public var code: String
    /// The primary message.
    public var message: String
    /// The optional detail line.
    public var detail: String?
    /// The optional hint.
    public var hint: String?
    /// The constraint involved, when the error names one.
    public var constraint: String?

    /// Creates a server error; the client builds these from ErrorResponse messages.
    public init(severity: String, code: String, message: String, detail: String? = nil, hint: String? = nil, constraint: String? = nil) {
        self.severity = severity
        self.code = code
        self.message = message
        self.detail = detail
        self.hint = hint
        self.constraint = constraint
    }

    /// True when the server ends the session after this error (FATAL or PANIC).
    public var endsSession: Bool { severity == "FATAL" || severity == "PANIC" }
}

/// Everything that can go wrong talking to PostgreSQL. No case ever carries the password: URLs
/// appear only as their redacted form (no user information), endpoints as host:port or socket path.
public enum PostgresError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The connection URL could not be used; the text says what was wrong and how to write it.
    case invalidURL(String)
    /// The URL asks for TLS (`sslmode=require`, `verify-ca`, `verify-full`), which this client cannot give.
    case tlsUnavailable(sslmode: String)
    /// The socket could not be opened or connected.
    case connectFailed(endpoint: String, reason: String)
    /// No answer in time; `during` is "connecting" or "a query". The connection is closed.
    case timedOut(endpoint: String, during: String, seconds: Double)
    /// The server closed the connection.
    case connectionClosed(endpoint: String)
    /// The connection failed earlier (closed, timed out, out of step) and cannot be used again.
    case connectionUnusable
    /// The login could not be completed on the client side (method unsupported, no password, bad server proof).
    case authenticationFailed(String)
    /// The server answered with an ErrorResponse.
    case server(PostgresServerError)
    /// The server sent bytes this client does not expect; the connection is closed.
    case protocolViolation(String)
    /// A message or a result was larger than the configured bound; the connection is closed.
    case tooLarge(what: String, bytes: Int, limit: Int)
    /// A query parameter cannot be sent (PostgreSQL text cannot hold NUL, for instance).
    case invalidParameter(index: Int, reason: String)
    /// A result column could not be read as the type asked for.
    case decoding(column: String, reason: String)
    /// `transaction` was called inside a transaction (PostgreSQL has no nested BEGIN; use SAVEPOINT).
    case alreadyInTransaction
    /// COMMIT answered ROLLBACK: the transaction had already failed, so nothing was committed.
    case transactionRolledBack
    /// The pool had no connection to give within the time allowed.
    case poolTimeout(seconds: Double)
    /// The pool was closed.
    case poolClosed

    /// The server's SQLSTATE, when the server sent one.
    public var sqlState: String? {
        if case .server(let error) = self { return error.code }
        return nil
    }

    /// A short sentence for people; never includes a password.
    public var description: String {
        switch self {
        case .invalidURL(let reason):
            return "invalid PostgreSQL URL: \(reason) (expected postgres://USER@HOST:PORT/DATABASE or postgres://USER@/DATABASE?host=/socket/dir)"
        case .tlsUnavailable(let mode):
            return "sslmode=\(mode) cannot be honoured: this client has no TLS (Foundation on Linux offers no TLS socket), "
                + "and it will not send a password in clear instead. Connect over a Unix socket or loopback, or through a "
                + "TLS-terminating sidecar (PgBouncer, a cloud SQL proxy) listening on loopback, with sslmode=disable or no sslmode"
        case .connectFailed(let endpoint, let reason):
            return "cannot connect to PostgreSQL at \(endpoint): \(reason)"
        case .timedOut(let endpoint, let during, let seconds):
            return "PostgreSQL at \(endpoint) did not answer within \(seconds) s while \(during); the connection was closed"
        case .connectionClosed(let endpoint):
            return "PostgreSQL at \(endpoint) closed the connection"
        case .connectionUnusable:
            return "this PostgreSQL connection failed earlier and was closed; open a new one"
        case .authenticationFailed(let reason):
            return "PostgreSQL login failed: \(reason)"
        case .server(let error):
            var text = "PostgreSQL \(error.severity) \(error.code): \(error.message)"
            if let detail = error.detail { text += " (\(detail))" }
            if let hint = error.hint { text += " hint: \(hint)" }
            return text
        case .protocolViolation(let reason):
            return "PostgreSQL protocol violation: \(reason); the connection was closed"
        case .tooLarge(let what, let bytes, let limit):
            return "PostgreSQL \(what) of \(bytes) bytes exceeds the limit of \(limit) bytes; the connection was closed"
        case .invalidParameter(let index, let reason):
            return "query parameter $\(index) cannot be sent: \(reason)"
        case .decoding(let column, let reason):
            return "column \(column): \(reason)"
        case .alreadyInTransaction:
            return "a transaction is already open on this connection; PostgreSQL does not nest them (use SAVEPOINT)"
        case .transactionRolledBack:
            return "the transaction had failed, so COMMIT rolled it back; nothing was committed"
        case .poolTimeout(let seconds):
            return "no PostgreSQL connection became free within \(seconds) s"
        case .poolClosed:
            return "the PostgreSQL connection pool is closed"
        }
    }
}
