import Foundation
import WanRoutePostgres
import XCTest
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway PostgreSQL cluster, started once per test run and shared by every test: `initdb` in a
/// temporary directory, listening on a free loopback port and on a Unix socket in that directory.
///
/// PostgreSQL refuses to run as root, and CI runs tests as root, so then the cluster runs as `nobody`
/// (through `setpriv`) in a directory owned by it. A watchdog shell holds a pipe from this process:
/// when the test process exits, however it exits, the pipe closes and the watchdog stops the server
/// and deletes the directory.
///
/// Roles (pg_hba.conf): `postgres` trust (the superuser that sets up), `wr_trust` trust,
/// `wr_password` cleartext password, `wr_scram` and everyone else scram-sha-256.
public final class PostgresTestServer: @unchecked Sendable {
    /// `wr_scram`'s password: '@', ':', '/', '?', '#' and a non-ASCII letter, for URL and SCRAM edge cases.
    public static let scramPassword = "scr@m:pass/wörd?#"
    /// `wr_password`'s password (cleartext login).
    public static let cleartextPassword = "clear-text-secret"

    /// The cluster's directory; its Unix socket is here.
    public let directory: String
    /// The loopback TCP port (and the socket file's number).
    public let port: Int

    /// The shared cluster; throws XCTSkip when PostgreSQL is not installed (a failure when CI=true).
    public static func shared() throws -> PostgresTestServer {
        switch started {
        case .success(let server): return server
        case .failure(let error): throw error
        }
    }

    private static let started: Result<PostgresTestServer, Error> = Result { try start() }
    nonisolated(unsafe) private static var watchdogInput: Int32 = -1

    private init(directory: String, port: Int) {
        self.directory = directory
        self.port = port
    }

    /// A configuration for TCP on loopback.
    public func tcp(user: String, password: String? = nil, database: String = "postgres") -> PostgresConfiguration {
        var configuration = PostgresConfiguration(endpoint: .tcp(host: "127.0.0.1", port: port), user: user, password: password, database: database)
        configuration.connectTimeout = 10
        configuration.queryTimeout = 20
        return configuration
    }

    /// A configuration for the Unix socket.
    public func unixSocket(user: String, password: String? = nil) -> PostgresConfiguration {
        PostgresConfiguration(endpoint: .unixSocket(directory: directory, port: port), user: user, password: password, database: "postgres")
    }

    /// The superuser, for setting up and for terminating other sessions.
    public func superuser() throws -> PostgresConnection { try PostgresConnection.connect(unixSocket(user: "postgres")) }

    /// Creates a database no other test uses, owned by `owner`, and returns its name; the caller
    /// drops it with ``dropDatabase(_:)``.
    public func createDatabase(_ stem: String, owner: String = "wr_scram") throws -> String {
        let name = Self.uniqueTable(stem)
        let admin = try superuser()
        defer { admin.close() }
        try admin.query("CREATE DATABASE \(name) OWNER \(PostgresIdentifier.quoted(owner))")
        return name
    }

    /// Drops a database made by ``createDatabase(_:owner:)``, ending its sessions.
    public func dropDatabase(_ name: String) {
        guard let admin = try? superuser() else { return }
        defer { admin.close() }
        _ = try? admin.query("DROP DATABASE \(PostgresIdentifier.quoted(name)) WITH (FORCE)")
    }

    /// A table name no other test uses.
    public static func uniqueTable(_ stem: String) -> String {
        "\(stem)_\(UUID().uuidString.prefix(8).lowercased())"
    }

    // MARK: - Start-up

    private struct SetupFailure: Error, CustomStringConvertible { var description: String }

    private static func start() throws -> PostgresTestServer {
        guard let bin = findBinaries() else {
            let message = "PostgreSQL is not installed (no initdb and pg_ctl on PATH or under /usr/lib/postgresql/*/bin); "
                + "install Debian's postgresql package to run these tests (.ci/run does)"
            if ProcessInfo.processInfo.environment["CI"] == "true" { throw SetupFailure(description: "CI=true but " + message) }
            throw XCTSkip(message)
        }
        var template = Array("/tmp/wanroute-pg-XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw SetupFailure(description: "mkdtemp failed: errno \(errno)") }
        let directory = String(cString: made)
        let data = directory + "/data"

        // As root, run the server as nobody in a directory nobody owns.
        var prefix: [String] = []
        if geteuid() == 0 {
            guard let entry = getpwnam("nobody") else { throw SetupFailure(description: "running as root and there is no 'nobody' user to run PostgreSQL as") }
            let uid = entry.pointee.pw_uid, gid = entry.pointee.pw_gid
            guard chown(directory, uid, gid) == 0 else { throw SetupFailure(description: "chown \(directory) failed: errno \(errno)") }
            prefix = ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--clear-groups", "--"]
        }

        try run(prefix + [bin + "/initdb", "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync", "--no-instructions"],
                log: directory + "/initdb.log")
        let port = try freePort()
        try """
        local all postgres trust
        local all wr_trust trust
        local all wr_password password
        local all all scram-sha-256
        host all postgres 127.0.0.1/32 trust
        host all wr_trust 127.0.0.1/32 trust
        host all wr_password 127.0.0.1/32 password
        host all all 127.0.0.1/32 scram-sha-256

        """.write(toFile: data + "/pg_hba.conf", atomically: false, encoding: .utf8)
        let settings = """

        listen_addresses = '127.0.0.1'
        port = \(port)
        unix_socket_directories = '\(directory)'
        fsync = off
        synchronous_commit = off
        full_page_writes = off
        max_connections = 60
        password_encryption = 'scram-sha-256'

        """
        let conf = try FileHandle(forWritingTo: URL(fileURLWithPath: data + "/postgresql.conf"))
        conf.seekToEndOfFile()
        conf.write(Data(settings.utf8))
        conf.closeFile()

        try run(prefix + [bin + "/pg_ctl", "-D", data, "-l", directory + "/server.log", "-w", "-t", "60", "start"], log: directory + "/pg_ctl.log")
        try startWatchdog(prefix: prefix, pgCtl: bin + "/pg_ctl", data: data, directory: directory)

        let server = PostgresTestServer(directory: directory, port: port)
        let admin = try server.superuser()
        defer { admin.close() }
        for statement in [
            "CREATE ROLE wr_scram LOGIN PASSWORD '\(scramPassword)'",
            "CREATE ROLE wr_password LOGIN PASSWORD '\(cleartextPassword)'",
            "CREATE ROLE wr_trust LOGIN",
            "GRANT CREATE ON SCHEMA public TO PUBLIC",
            "GRANT CREATE ON DATABASE postgres TO PUBLIC",
        ] {
            try admin.query(statement)
        }
        return server
    }

    private static func findBinaries() -> String? {
        let fm = FileManager.default
        var candidates = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin").split(separator: ":").map(String.init)
        let versions = ((try? fm.contentsOfDirectory(atPath: "/usr/lib/postgresql")) ?? []).compactMap(Int.init).sorted(by: >)
        candidates += versions.map { "/usr/lib/postgresql/\($0)/bin" }
        return candidates.first { fm.isExecutableFile(atPath: $0 + "/initdb") && fm.isExecutableFile(atPath: $0 + "/pg_ctl") }
    }

    /// Runs a program to completion with its output in `log`. posix_spawn and waitpid, not Foundation's
    /// Process: pg_ctl leaves the server running with the log open, and Process then never saw pg_ctl end.
    private static func run(_ arguments: [String], log: String) throws {
        let output = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard output >= 0 else { throw SetupFailure(description: "cannot create \(log): errno \(errno)") }
        defer { close(output) }
        let pid = try spawn(arguments, stdin: -1, output: output)
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw SetupFailure(description: "\(URL(fileURLWithPath: log).lastPathComponent) reports failure (status \(status)): \(text.suffix(2000))")
        }
    }

    /// Starts a program with the given standard input (or /dev/null) and output (or /dev/null).
    private static func spawn(_ arguments: [String], stdin: Int32, output: Int32) throws -> pid_t {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if stdin >= 0 { posix_spawn_file_actions_adddup2(&actions, stdin, 0) } else { posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0) }
        if output >= 0 {
            posix_spawn_file_actions_adddup2(&actions, output, 1)
            posix_spawn_file_actions_adddup2(&actions, output, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, arguments[0], &actions, nil, &argv, environ)
        guard result == 0 else { throw SetupFailure(description: "cannot start \(arguments[0]): error \(result)") }
        return pid
    }

    /// A shell that waits for end-of-file on its standard input, then stops the server and removes the
    /// directory. Only this process holds the pipe's write end (close-on-exec), so the end of this
    /// process, however it ends, is the signal.
    private static func startWatchdog(prefix: [String], pgCtl: String, data: String, directory: String) throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw SetupFailure(description: "pipe failed: errno \(errno)") }
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        let script = "read _; \"$0\" -D \"$1\" -m immediate stop >/dev/null 2>&1; rm -rf \"$2\""
        _ = try spawn(prefix + ["/bin/sh", "-c", script, pgCtl, data, directory], stdin: fds[0], output: -1)
        close(fds[0])
        watchdogInput = fds[1]
    }

    private static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw SetupFailure(description: "cannot find a free port: errno \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
