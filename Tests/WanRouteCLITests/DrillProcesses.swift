import Foundation
import WanRoutePostgres
import WanRouteTestSupport
import XCTest
@testable import WanRoute

/// A `wanroute` process started by a drill, its output collected as it comes, so a test can wait
/// for a line, send it real signals and `kill -9` it.
final class WanrouteProcess: @unchecked Sendable {  // buffers behind `lock`
    let process = Process()
    private let lock = NSLock()
    private var out = Data()
    private var err = Data()
    private let done = DispatchGroup()

    /// Starts `wanroute arguments` in `directory` with `environment` added to the CLI tests' base.
    init(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws {
        process.executableURL = BinaryRunner.binary
        process.arguments = arguments
        process.currentDirectoryURL = directory
        // A fresh WANROUTE_HOME unless the test gives one: runs write a ledger.
        process.environment = CLIRunner.baseEnvironment.merging(["WANROUTE_HOME": try Repository.temporaryDirectory().path]) { $1 }
            .merging(environment) { $1 }
        let outPipe = Pipe(), errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        for (pipe, isOut) in [(outPipe, true), (errPipe, false)] {
            done.enter()
            Thread.detachNewThread { [self] in
                let handle = pipe.fileHandleForReading
                while true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    lock.withLock { if isOut { out.append(chunk) } else { err.append(chunk) } }
                }
                done.leave()
            }
        }
    }

    var pid: Int32 { process.processIdentifier }
    var stdout: String { lock.withLock { String(decoding: out, as: UTF8.self) } }
    var stderr: String { lock.withLock { String(decoding: err, as: UTF8.self) } }

    /// Sends `sig` to the process.
    func send(_ sig: Int32) { kill(pid, sig) }

    /// Waits for the process to end (at most `timeout` seconds, then kills it and fails) and for
    /// its output to be read to the end; returns its exit status (or signal number).
    @discardableResult
    func wait(timeout: Double = 60, file: StaticString = #filePath, line: UInt = #line) -> Int32 {
        if !Drill.eventually(timeout: timeout, { !self.process.isRunning }) {
            XCTFail("wanroute \(process.arguments?.first ?? "") did not end within \(timeout) s; stderr: \(stderr)", file: file, line: line)
            send(SIGKILL)
        }
        process.waitUntilExit()
        done.wait()
        return process.terminationStatus
    }
}

/// `wanroute simulate` in its own process, and its record read over loopback.
final class SimulatorProcess {
    let process: WanrouteProcess
    /// The `export` lines it printed, as an environment for `run`.
    let environment: [String: String]
    let baseURL: String

    init(speed: Int, submitDelay: String? = nil, in directory: URL) throws {
        var arguments = ["simulate", "--speed", String(speed)]
        if let submitDelay { arguments += ["--submit-delay", submitDelay] }
        let started = try WanrouteProcess(arguments, in: directory)
        process = started
        guard Drill.eventually(timeout: 30, { started.stdout.contains("DASHSCOPE_CN_API_KEY=") }) else {
            started.send(SIGKILL)
            throw DrillError("the simulator did not start: \(started.stderr)")
        }
        var env: [String: String] = [:]
        for line in started.stdout.split(separator: "\n") where line.hasPrefix("export ") {
            let pair = line.dropFirst("export ".count).split(separator: "=", maxSplits: 1).map(String.init)
            env[pair[0]] = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "'"))
        }
        environment = env
        baseURL = env["WANROUTE_APIXO_BASE_URL"]!
    }

    /// Stops the simulator with SIGTERM and waits for it.
    func stop() {
        process.send(SIGTERM)
        process.wait()
    }

    /// The simulator's record: what the providers would hold and bill.
    struct Record {
        struct Task { var id: String; var provider: String; var videoURL: String; var finished: Bool }
        struct Bill { var taskID: String; var provider: String; var cost: Money? }
        var submissions: Int
        var tasks: [Task]
        var billing: [Bill]

        /// The job a task was submitted for: the drills name each job in its video URL's path.
        static func jobID(_ videoURL: String) -> String {
            String(URL(string: videoURL)!.deletingPathExtension().lastPathComponent)
        }
    }

    func record() throws -> Record {
        let data = try Data(contentsOf: URL(string: baseURL + ProviderSimulator.recordPath)!)
        let json = try JSONParser.parse(bytes: Array(data))
        func money(_ v: JSONValue?) -> Money? {
            guard let v, let amount = v["amount"]?.stringValue, let code = v["currency"]?.stringValue else { return nil }
            return Money(decimal: amount, currency: Currency(code: code)!)
        }
        return Record(
            submissions: Int(json["submissions"]?.wireNumber ?? "0") ?? 0,
            tasks: (json["tasks"]?.wireArray ?? []).map {
                .init(id: $0["id"]!.stringValue!, provider: $0["provider"]!.stringValue!, videoURL: $0["video_url"]!.stringValue!, finished: $0["finished"] == .bool(true))
            },
            billing: (json["billing"]?.wireArray ?? []).map {
                .init(taskID: $0["task"]!.stringValue!, provider: $0["provider"]!.stringValue!, cost: money($0["cost"]))
            })
    }
}

struct DrillError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// What the drills share: the policy, the jobs file, and waiting for a condition.
enum Drill {
    /// Every job goes to APIXO: a published price, 16 tasks in flight, and a bill per task.
    static let policy = #"{"kind": "policy", "version": 1, "name": "drill", "objective": "cheapest", "constraints": {"providers": {"allow": ["apixo"]}}}"#

    /// `count` jobs `j0000`…, each naming itself in its video URL (so the simulator's tasks can
    /// be told apart by job), with seeded reference durations of 5 to 12.5 s.
    static func jobs(_ count: Int, seed: UInt64) -> String {
        var random = SplitMix64(seed: seed)
        return (0..<count).map { i in
            let id = String(format: "j%04d", i)
            let duration = "\(5 + Int(random.next() % 8)).\(random.next() % 2 == 0 ? "0" : "5")"
            return #"{"id": "\#(id)", "image": "https://media.test/face.png", "video": "https://media.test/\#(id).mp4?duration=\#(duration)", "duration": "\#(duration)"}"#
        }.joined(separator: "\n") + "\n"
    }

    /// Checks `condition` every 5 ms until it holds (true) or `timeout` seconds pass (false).
    /// Waiting for a state, not for time: the timeout only bounds a broken run.
    static func eventually(timeout: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(timeout)
        while !condition() {
            if Date() > end { return false }
            usleep(5_000)
        }
        return true
    }
}

/// The ledger a drill's processes share, and how the drill reads it behind their backs.
enum DrillLedger: CustomStringConvertible {
    /// A file ledger directory.
    case files(URL)
    /// A migrated database of its own in the test cluster, named to the processes by WANROUTE_LEDGER.
    case postgres(PostgresTestServer, database: String)

    /// A fresh PostgreSQL ledger for `test`, dropped when it ends (a skip when PostgreSQL is not
    /// installed, a failure under CI=true: ``PostgresTestServer/shared()``).
    static func postgres(for test: XCTestCase) throws -> DrillLedger {
        let server = try PostgresTestServer.shared()
        // Trust login: the drill is about the ledger, and a debug build's SCRAM (4,096 PBKDF2
        // rounds per connection, each process opening several) would double its time.
        let database = try server.createDatabase("drill", owner: "wr_trust")
        test.addTeardownBlock { server.dropDatabase(database) }
        let connection = try PostgresConnection.connect(server.tcp(user: "wr_trust", database: database))
        defer { connection.close() }
        try PostgresLedgerStore.migrate(connection)
        return .postgres(server, database: database)
    }

    var description: String {
        switch self {
        case .files: return "file ledger"
        case .postgres: return "PostgreSQL ledger"
        }
    }

    /// What the processes need to find the ledger (the file ledger is WANROUTE_HOME's).
    var environment: [String: String] {
        switch self {
        case .files: return [:]
        case .postgres(let server, let database):
            return ["WANROUTE_LEDGER": "postgres://wr_trust@127.0.0.1:\(server.port)/\(database)"]
        }
    }

    private var configuration: PostgresConfiguration? {
        guard case .postgres(let server, let database) = self else { return nil }
        return server.tcp(user: "wr_trust", database: database)
    }

    /// Every event written so far, in order, read without opening a store (a file store would set
    /// a torn tail aside, which is `resume`'s job): a torn last line is left out.
    func lines() throws -> LedgerLines {
        switch self {
        case .files(let directory):
            var lines: [[UInt8]] = []
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            for name in files.filter({ $0.hasSuffix(".jsonl") }).sorted() {
                let data = try Data(contentsOf: directory.appendingPathComponent(name))
                lines += data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: true).map { Array($0) }
            }
            return LedgerLines(lines)
        case .postgres:
            let connection = try PostgresConnection.connect(configuration!)
            defer { connection.close() }
            let rows = try connection.query("SELECT line FROM wanroute_ledger_events ORDER BY month, sequence").rows
            return LedgerLines(try rows.map { Array(try $0.decode(String.self, at: 0).utf8) })
        }
    }

    /// Runs `body` with a store over the ledger.
    func withStore<T>(_ body: (any LedgerStore) async throws -> T) async throws -> T {
        switch self {
        case .files(let directory):
            return try await body(try FileLedgerStore(directory: directory.path))
        case .postgres:
            let pool = PostgresPool(configuration: configuration!)
            defer { pool.close() }
            return try await body(PostgresLedgerStore(pool: pool))
        }
    }
}

/// A ledger's events in ledger order, decoded by the ledger's own codec.
struct LedgerLines {
    var events: [LedgerEvent]

    /// Decodes each line in order, as a store reads them (a submit-intent may take its offer from
    /// its job's decided line); one that does not decode (a torn tail) is left out.
    init(_ lines: [[UInt8]]) {
        var reader = LedgerLineReader()
        events = lines.compactMap { try? reader.decode($0).event }
    }

    /// Jobs whose last `submit-intent` has no answer recorded after it (accepted, a failure, an end).
    var jobsBetweenIntentAndAnswer: Set<String> {
        var open = Set<String>()
        for event in events {
            switch event.type {
            case .submitIntent: open.insert(event.jobID)
            case .decided, .reserved, .note, .settled, .released: break
            default: open.remove(event.jobID)
            }
        }
        return open
    }
}
