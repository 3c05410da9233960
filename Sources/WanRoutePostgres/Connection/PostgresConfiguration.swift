#if canImport(Glibc)
import Glibc
#endif

/// A password that never shows itself: not in `print`, string interpolation, `dump` or debug output.
public struct PostgresPassword: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    /// The password itself; read only to authenticate.
    public let value: String
    /// Wraps a password.
    public init(_ value: String) { self.value = value }
    /// Always `<redacted>`.
    public var description: String { "<redacted>" }
    /// Always `<redacted>`.
    public var debugDescription: String { "<redacted>" }
    /// No children, so reflection shows nothing either.
    public var customMirror: Mirror { Mirror(self, children: [:]) }
}

/// Where and how to connect: parsed from a `postgres://` URL or built in code.
public struct PostgresConfiguration: Sendable, Equatable, CustomStringConvertible {
    /// Where the server listens.
    public enum Endpoint: Sendable, Equatable, CustomStringConvertible {
        /// A TCP host (name or address) and port.
        case tcp(host: String, port: Int)
        /// A Unix-socket directory and the port that names the socket file (`.s.PGSQL.<port>`).
        case unixSocket(directory: String, port: Int)

        /// `host:port`, or the socket file's path.
        public var description: String {
            switch self {
            case .tcp(let host, let port): return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
            case .unixSocket(let directory, let port): return "\(directory.hasSuffix("/") ? directory : directory + "/").s.PGSQL.\(port)"
            }
        }
    }

    /// The socket directory used when a URL names no host (Debian's and Ubuntu's build default).
    public static let defaultSocketDirectory = "/var/run/postgresql"

    /// Where the server listens.
    public var endpoint: Endpoint
    /// The role to log in as.
    public var user: String
    /// The password, when the server asks for one.
    public var password: PostgresPassword?
    /// The database; PostgreSQL's default is the user's name.
    public var database: String
    /// Shown in `pg_stat_activity`.
    public var applicationName: String = "wanroute"
    /// Seconds allowed for the socket connection, TLS refusal and login together.
    public var connectTimeout: Double = 10
    /// Seconds allowed for one query's whole round trip; past it the query is cancelled and the connection closed.
    public var queryTimeout: Double = 30
    /// The largest single server message accepted once logged in (before login: 64 KiB).
    public var maximumMessageLength: Int = 64 << 20
    /// The largest total of row bytes accepted for one query's result.
    public var maximumResultBytes: Int = 256 << 20

    /// Creates a configuration in code.
    public init(endpoint: Endpoint, user: String, password: String? = nil, database: String? = nil) {
        self.endpoint = endpoint
        self.user = user
        self.password = password.map(PostgresPassword.init)
        self.database = database ?? user
    }

    /// Parses `postgres://` or `postgresql://` URLs as libpq does, for the parts wanroute supports:
    /// `postgres://[USER[:PASSWORD]@][HOST][:PORT][/DATABASE][?PARAM=VALUE&...]`.
    ///
    /// HOST may be a name, an IPv4 address, `[IPv6]`, or a percent-encoded socket directory
    /// (`%2Fvar%2Frun%2Fpostgresql`); the `host=` parameter may name a socket directory too. Parameters:
    /// `host`, `port`, `user`, `password`, `dbname`, `sslmode` (`disable`, `allow`, `prefer`; the TLS
    /// modes are refused), `connect_timeout` (seconds), `application_name`. Unknown parameters are
    /// errors, since a misspelt one would otherwise be ignored. `fallbackPassword` (the caller's
    /// PGPASSWORD, say: this library reads no environment) is used only when the URL has none.
    /// Errors never repeat the URL's user information.
    public init(url: String, fallbackPassword: String? = nil) throws(PostgresError) {
        var rest = Substring(url)
        if rest.hasPrefix("postgresql://") {
            rest = rest.dropFirst("postgresql://".count)
        } else if rest.hasPrefix("postgres://") {
            rest = rest.dropFirst("postgres://".count)
        } else {
            throw .invalidURL("it must start with postgres:// or postgresql://")
        }
        var queryText: Substring = ""
        if let question = rest.firstIndex(of: "?") {
            queryText = rest[rest.index(after: question)...]
            rest = rest[..<question]
        }
        var pathText: Substring = ""
        if let slash = rest.firstIndex(of: "/") {
            pathText = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
        }
        var user: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let userInfo = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = userInfo.firstIndex(of: ":") {
                user = try Self.decode(userInfo[..<colon], "the user name")
                password = try Self.decode(userInfo[userInfo.index(after: colon)...], "the password")
            } else {
                user = try Self.decode(userInfo, "the user name")
            }
        }
        var host: String?
        var port: Int?
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { throw .invalidURL("an IPv6 address lacks its closing ]") }
            host = String(rest[rest.index(after: rest.startIndex)..<close])
            rest = rest[rest.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw .invalidURL("unexpected text after the IPv6 address") }
                port = try Self.port(rest.dropFirst())
            }
        } else if let colon = rest.lastIndex(of: ":") {
            host = try Self.decode(rest[..<colon], "the host")
            port = try Self.port(rest[rest.index(after: colon)...])
        } else if !rest.isEmpty {
            host = try Self.decode(rest, "the host")
        }
        if host?.contains(",") == true { throw .invalidURL("several hosts are not supported; name one") }
        var database = pathText.isEmpty ? nil : try Self.decode(pathText, "the database name")
        var sslmode = "prefer"
        var connectTimeout: Double?
        var applicationName: String?
        for pair in queryText.split(separator: "&") {
            guard let equals = pair.firstIndex(of: "=") else { throw .invalidURL("parameter '\(pair.prefix(40))' has no '='") }
            let name = try Self.decode(pair[..<equals], "a parameter name")
            let value = try Self.decode(pair[pair.index(after: equals)...], "the value of \(name)")
            switch name {
            case "host": host = value
            case "port": port = try Self.port(Substring(value))
            case "user": user = value
            case "password": password = value
            case "dbname": database = value
            case "sslmode": sslmode = value
            case "application_name": applicationName = value
            case "connect_timeout":
                guard let seconds = Int(value), seconds >= 0, seconds <= 3600 else {
                    throw .invalidURL("connect_timeout must be whole seconds from 0 to 3600")
                }
                connectTimeout = seconds == 0 ? nil : Double(max(seconds, 2))  // libpq: 0 means the default; minimum 2 s
            default:
                throw .invalidURL("unsupported parameter '\(name.prefix(40))' (supported: host, port, user, password, dbname, sslmode, connect_timeout, application_name)")
            }
        }
        switch sslmode {
        case "disable", "allow", "prefer": break
        case "require", "verify-ca", "verify-full": throw .tlsUnavailable(sslmode: sslmode)
        default: throw .invalidURL("sslmode must be disable, allow, prefer, require, verify-ca or verify-full")
        }
        guard let user = user.flatMap({ $0.isEmpty ? nil : $0 }) ?? Self.operatingSystemUser() else {
            throw .invalidURL("it names no user, and the operating-system user is unknown")
        }
        let resolvedPort = port ?? 5432
        let endpoint: Endpoint
        if let host, !host.isEmpty, !host.hasPrefix("/") {
            endpoint = .tcp(host: host, port: resolvedPort)
        } else {
            endpoint = .unixSocket(directory: host.flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultSocketDirectory, port: resolvedPort)
        }
        self.init(endpoint: endpoint, user: user, password: password ?? fallbackPassword, database: database)
        if let connectTimeout { self.connectTimeout = connectTimeout }
        if let applicationName { self.applicationName = applicationName }
    }

    /// The URL without any password: safe for messages and logs.
    public var redactedURL: String {
        let userPart = Self.encode(user)
        let databasePart = Self.encode(database)
        switch endpoint {
        case .tcp(let host, let port):
            return "postgres://\(userPart)@\(host.contains(":") ? "[\(host)]" : host):\(port)/\(databasePart)"
        case .unixSocket(let directory, let port):
            return "postgres://\(userPart)@/\(databasePart)?host=\(directory)&port=\(port)"
        }
    }

    /// The redacted URL.
    public var description: String { redactedURL }

    private static func port(_ text: Substring) throws(PostgresError) -> Int {
        guard let port = Int(text), (1...65535).contains(port) else { throw .invalidURL("the port must be a number from 1 to 65535") }
        return port
    }

    /// Percent-decodes one URL part; invalid escapes and invalid UTF-8 are errors naming the part, not its text.
    private static func decode(_ text: Substring, _ part: String) throws(PostgresError) -> String {
        var bytes: [UInt8] = []
        var iterator = Array(text.utf8).makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else {
                    throw .invalidURL("\(part) has an invalid %-escape")
                }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(byte)
            }
        }
        guard let string = String(validating: bytes, as: UTF8.self) else { throw .invalidURL("\(part) is not valid UTF-8") }
        guard !string.utf8.contains(0) else { throw .invalidURL("\(part) contains a NUL byte") }
        return string
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }

    private static func encode(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if byte < 0x80, c.isLetter || c.isNumber || "-._~".contains(c) {
                out.append(c)
            } else {
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    /// libpq's default user: the operating-system user running the process (from the password
    /// database, not the environment).
    private static func operatingSystemUser() -> String? {
        guard let entry = getpwuid(geteuid()), let name = entry.pointee.pw_name else { return nil }
        return String(cString: name)
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
