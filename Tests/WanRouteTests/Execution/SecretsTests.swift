import Foundation
import WanRouteTesting
import XCTest
@testable import WanRoute

/// A provider that echoes the API key back in every field it sends: whole, as a prefix, a
/// suffix, masked, lower-cased, `\u`-escaped, after 190 bytes of padding (so a 200-byte cut
/// leaves a piece), and in a header. Over every provider and every path (success, each fault,
/// auth failures), neither the key nor any 8-character piece of it may reach a report, an
/// event, a message, or the file an observer writes.
final class SecretsTests: XCTestCase {
    static let key = "sk-7Qx9ZpL2vB4nK8mW3tY6hJ1cR5dF0gS"
    var simulator: ProviderSimulator!

    override func tearDown() {
        simulator?.stop()
        simulator = nil
    }

    /// Rewrites every answer of the wrapped transport so it carries the request's key.
    struct EchoingTransport: HTTPTransport {
        let base: any HTTPTransport
        /// Whether ids and states stay intact (so a task can succeed and its result URL, billed
        /// fields and messages carry the key) or every string is touched.
        let keepIDsAndStates: Bool

        func send(_ request: TransportRequest) async throws(TransportError) -> TransportResponse {
            let key = request.headers["Authorization"].map { String($0.dropFirst("Bearer ".count)) } ?? ""
            var answer = try await base.send(request)
            answer.headers.fields.append(HTTPField("X-Echo", key))
            answer.headers.fields.append(HTTPField("X-Request-Id", "req-" + key))
            var counter = 0
            func echo() -> String {
                counter += 1
                let forms = [key, "prefix " + String(key.prefix(12)), String(key.suffix(11)) + " suffix",
                             String(key.prefix(9)) + "*****" + String(key.suffix(9)), key.lowercased(), key.uppercased()]
                return forms[counter % forms.count]
            }
            func touch(_ v: JSONValue, member: String) -> JSONValue {
                switch v {
                case .string(let s):
                    let m = member.lowercased()
                    if keepIDsAndStates, m.contains("id") || m.contains("status") || m.contains("state") { return v }
                    return .string(s + " " + echo())
                case .array(let items): return .array(items.map { touch($0, member: member) })
                case .object(let members): return .object(members.map { JSONMember($0.key, touch($0.value, member: $0.key)) })
                default: return v
                }
            }
            let escaped = key.unicodeScalars.map { String(format: "\\u%04x", $0.value) }.joined()
            if case .object(let members)? = try? JSONParser.parse(bytes: answer.body) {
                var text = JSONWriter.compact(touch(.object(members), member: ""))
                text.removeLast()
                text += ",\"echo_escaped\":\"\(escaped)\",\"echo_padded\":\"\(String(repeating: ".", count: 190))\(key)\"}"
                answer.body = Array(text.utf8)
            } else {
                answer.body += Array(" \(String(repeating: ".", count: 190))\(key) \(escaped)".utf8)
            }
            return answer
        }
    }

    /// Writes every event, as fully as Swift can describe it, to a file: "anything on disk".
    final class FileObserver: ExecutionObserver, @unchecked Sendable {
        let url: URL
        private let lock = NSLock()
        init(_ url: URL) {
            self.url = url
            _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        }
        func admit(_ order: JobOrder, offer: RankedOffer) async throws -> Admission { .admitted }
        func record(_ event: ExecutionEvent) async throws {
            lock.withLock {
                let handle = try! FileHandle(forWritingTo: url)
                handle.seekToEndOfFile()
                handle.write(Data((String(reflecting: event) + "\n").utf8))
                try? handle.close()
            }
        }
    }

    /// Every 8-character piece of the key found in `text`.
    static func leaks(in text: String) -> [String] {
        let k = Array(key)
        return (0...(k.count - 8)).map { String(k[$0..<$0 + 8]) }.filter { text.contains($0) || text.lowercased().contains($0.lowercased()) }
    }

    func run(provider: String, script: [FaultRule], acceptKey: Bool, keepIDsAndStates: Bool, directory: URL) async throws -> String {
        simulator?.stop()
        var configuration = ProviderSimulator.Configuration(queuedPolls: 1, runningPolls: 1, script: script)
        let id = ProviderID(provider)!
        configuration.apiKeys = Dictionary(uniqueKeysWithValues: ProviderEndpoints.defaults.keys.map { ($0, [acceptKey ? Self.key : "another-key"]) })
        configuration.echoKeyInErrors = true
        simulator = ProviderSimulator(configuration: configuration)
        let base = try simulator.start()
        let transport = EchoingTransport(base: URLSessionTransport(), keepIDsAndStates: keepIDsAndStates)
        let adapters: [ProviderID: any ProviderAdapter] = [id: makeAdapter(for: id, baseURL: base, transport: transport, requestTimeout: 5, now: { Date() })!]
        let observer = FileObserver(directory.appendingPathComponent("events-\(provider)-\(UUID().uuidString).log"))
        var options = ExecutorOptions()
        options.deadline = Seconds(whole: 600)
        let time = VirtualTimeSource()
        let router = try Policies.router("""
        "objective": "cheapest", "constraints": {"providers": {"allow": ["\(provider)"]}, "min_confidence": "unknown"},
        "failover": {"alternates": 0, "on": []}
        """)
        // The real ledger too (on half the runs: its fsyncs cost time): what it writes is scanned with everything else.
        let ledger = try FileLedgerStore(directory: directory.appendingPathComponent("ledger-\(UUID().uuidString)").path)
        let recorder = LedgerRecorder(store: ledger, router: router, catalog: Policies.catalog, runID: "secrets", time: time)
        let executor = Executor(catalog: Policies.catalog, adapters: adapters, apiKeys: [id: Self.key], time: time,
                                options: options, seed: 1, observers: keepIDsAndStates ? [observer, recorder] : [observer])
        let job = Job(behavior: .animate, duration: Seconds(whole: 5))
        let decision = router.decide(job)
        let order = JobOrder(id: "j1", job: job, imageURL: "https://media.example/face.png", videoURL: "https://media.example/dance.mp4?duration=5")
        let report = await executor.run(order, decision: decision)
        var text = report.jsonLine + report.message + "\n"
        for a in report.attempts { text += a.detail + "\n" + String(reflecting: a) + "\n" }
        text += String(reflecting: report)
        return text
    }

    func testNoPieceOfTheKeyReachesAnyOutputOnAnyProviderPath() async throws {
        let directory = try FileManager.default.url(for: .itemReplacementDirectory, in: .userDomainMask,
                                                    appropriateFor: URL(fileURLWithPath: NSTemporaryDirectory()), create: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let faults: [SimulatedFault?] = [nil, .rateLimited(retryAfter: 0), .serverError(500), .serverError(503), .malformedJSON,
                                         .truncatedJSON, .outOfBalance, .contentRefused, .lostResponse, .taskFails, .taskRefused]
        var runs = 0
        var everything = ""
        for provider in ["dashscope-intl", "dashscope-cn", "modellix", "aimlapi", "apixo"] {
            for fault in faults {
                for keep in [true, false] {
                    let script = fault.map { [FaultRule($0, times: 50)] } ?? []
                    let text = try await run(provider: provider, script: script, acceptKey: true, keepIDsAndStates: keep, directory: directory)
                    XCTAssertEqual(Self.leaks(in: text), [], "\(provider) \(String(describing: fault)) keep=\(keep): \(text)")
                    everything += text
                    runs += 1
                }
            }
            // A key the provider refuses: the 401 echoes it.
            let text = try await run(provider: provider, script: [], acceptKey: false, keepIDsAndStates: true, directory: directory)
            XCTAssertEqual(Self.leaks(in: text), [], "\(provider) auth: \(text)")
            everything += text
            runs += 1
        }
        // Everything the observers and the ledger wrote to disk, in every file under the directory.
        var files = 0
        let walker = FileManager.default.enumerator(atPath: directory.path)
        while let name = walker?.nextObject() as? String {
            let url = directory.appendingPathComponent(name)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            let written = String(decoding: try Data(contentsOf: url), as: UTF8.self)
            XCTAssertEqual(Self.leaks(in: written), [], name)
            everything += written
            files += 1
        }
        XCTAssertGreaterThan(files, runs, "the event logs and the ledgers were all read back")
        XCTAssertEqual(runs, 5 * (faults.count * 2 + 1))
        // The test can fail: the echoing provider really did put the key in front of the adapters.
        XCTAssertTrue(everything.contains("[redacted]"), "the fake never echoed the key")
        XCTAssertTrue(everything.contains("succeeded"), "no success path was exercised")
    }

    func testTheRedactorCatchesPiecesMasksAndCase() {
        let r = SecretRedactor(secret: Self.key)
        let text = "a \(Self.key) b \(Self.key.prefix(12)) c \(Self.key.suffix(8)) d \(Self.key.prefix(9))****\(Self.key.suffix(9)) e \(Self.key.lowercased()) f"
        let clean = r.redact(text)
        XCTAssertEqual(Self.leaks(in: clean), [])
        XCTAssertTrue(clean.hasPrefix("a [redacted] b [redacted] c [redacted] d [redacted]****[redacted] e [redacted] f"), clean)
        XCTAssertEqual(r.redact("nothing secret here"), "nothing secret here")
        // Redact before truncating: a cut through a key leaves no piece behind.
        let body = String(repeating: ".", count: 195) + Self.key
        XCTAssertEqual(Self.leaks(in: String(r.redact(body).prefix(200))), [])
    }
}
