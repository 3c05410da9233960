import Foundation
import WanRouteTestSupport
import XCTest
@testable import WanRoute

/// Property tests for every reader of untrusted bytes: extreme values (2^63-1, 2^64 box sizes,
/// zero and huge timescales, huge counts, huge decimals) driven through the whole path, from
/// probe to quote to route to run's checks. Each input must end in a value or a typed error; a
/// trap kills the test process, so reaching the end is the assertion.
///
/// `WANROUTE_FUZZ_ITERATIONS` sets the random inputs per reader (default 300 in CI; the long
/// runs recorded in BENCHMARKS.md use millions).
final class ExtremeValuesTests: XCTestCase {
    static let iterations = Int(ProcessInfo.processInfo.environment["WANROUTE_FUZZ_ITERATIONS"] ?? "") ?? 300
    /// Whole data files cost milliseconds each to load: a fifth as many.
    static let fileIterations = max(1, iterations / 5)
    static let catalog = Policies.catalog

    static let extremeIntegers: [UInt64] = [0, 1, 2, 7, 8, 59, 60, 599, 600, 1000, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF,
                                            1 << 32, 1 << 40, 1 << 53, 1 << 62, UInt64(Int64.max), UInt64(Int64.max) + 1, UInt64.max]
    static let extremeDecimals = ["0", "0.000001", "-0.000001", "-1", "1", "5", "86400", "86400.000001", "576460752303",
                                  "9000000000000", "9223372036", "9223372036854", "9223372036854.775807", "9223372036854775807",
                                  "9223372036854775808", "1e3", "1E-7", "0.0000001", "00000000000000000000000001", "-0",
                                  String(repeating: "9", count: 5_000), "1." + String(repeating: "0", count: 400) + "1", "NaN", "", " 1"]
    static let extremeNumbers = ["0", "1", "-1", "1e0", "1E400", "-1e400", "0.5", "9223372036854775807", "9223372036854775808",
                                 "18446744073709551616", String(repeating: "9", count: 5_000), "1.000000000000000000001", "-0"]

    /// Every job shape a reader can produce, priced and routed: no trap, and a price only for a
    /// duration a job may have.
    static func priceAndRoute(_ job: Job, routers: [Router]) {
        let quote = catalog.quote(job)
        for e in quote.estimates {
            if !job.duration.isValidJobDuration { XCTAssertNil(e.cost, "\(job.duration) priced") }
            if let cost = e.cost { XCTAssertGreaterThanOrEqual(cost.nanos, 0) }
        }
        for router in routers {
            let decision = router.decide(job)
            if !job.duration.isValidJobDuration { XCTAssertNil(decision.choice, "\(job.duration) routed") }
            _ = (decision.rejected.map(\.description), decision.alternates, decision.refusal, decision.rules)
        }
    }

    static let routers: [Router] = Policy.builtInNames.compactMap { name in
        (try? Policy.builtIn(named: name, catalog: catalog)).flatMap { try? Router(policy: $0, catalog: catalog) }
    }

    // MARK: media containers

    func testExtremeContainerValuesProbeToAValueOrAnError() {
        var rng = SeededGenerator(seed: 0xE77E)
        var values = 0, errors = 0
        for i in 0..<Self.iterations {
            let version: UInt8 = i % 2 == 0 ? 1 : 0
            // Version 0 boxes hold 32-bit durations: the extremes are cut to that width.
            func pick() -> UInt64 {
                let v = Self.extremeIntegers[Int.random(in: 0..<Self.extremeIntegers.count, using: &rng)]
                return version == 1 ? v : v & 0xFFFF_FFFF
            }
            let trak = Box.videoTrak(tkhdDuration: pick(), mediaTimescale: UInt32(truncatingIfNeeded: pick()), mediaDuration: pick(),
                                     samples: UInt32(truncatingIfNeeded: min(pick(), 64)), edits: i % 3 == 0 ? [pick(), pick()] : nil, version: version)
            var moov = Box.mvhd(timescale: UInt32(truncatingIfNeeded: pick()), duration: pick(), version: version) + trak
            if i % 5 == 0 {
                // Fragmented: mvex/mehd with an extreme total.
                moov += Box.make("mvex", Box.full("mehd", version: 1, Box.be64(pick())))
            }
            var file = Box.ftyp() + Box.make("moov", moov)
            if i % 7 == 0 {
                // An stsz claiming 0xFFFFFFFF samples, or a box claiming 2^64-1 bytes.
                file += Box.be32(1) + Array("free".utf8) + Box.be64(pick())
            }
            let source = MemoryByteSource(file, maxBytes: 1 << 20)
            do {
                let probe = try MediaProbe.probeVideo(source: source, options: ProbeOptions(maxBytes: 1 << 20))
                values += 1
                XCTAssertTrue(probe.duration.micros >= 0 && probe.duration <= Seconds.longestJob, "\(probe.duration)")
                if let fps = probe.fps { XCTAssertTrue(fps.isFinite && fps > 0 && fps <= 10_000) }
                // What run does with a probed line, and what quote and route do with the job.
                let line = JobLine(id: "x", imageURL: "https://a/b.png", videoURL: "https://a/v.mp4", duration: nil, behavior: .animate,
                                   resolution: nil, mode: nil, tags: [:])
                if let order = line.order(probe: probe) {
                    XCTAssertTrue(order.job.duration.isValidJobDuration)
                    Self.priceAndRoute(order.job, routers: Self.routers)
                } else {
                    XCTAssertFalse(probe.duration.isValidJobDuration, "a valid probe gave no order")
                }
            } catch {
                errors += 1
                XCTAssertFalse(error.description.isEmpty)
            }
        }
        XCTAssertEqual(values + errors, Self.iterations)
    }

    func testTheIssuesContainersAreErrorsNotTraps() throws {
        // tkhd v1 duration 2^62 (the movie timescale 600): far beyond a day.
        let huge = Box.ftyp() + Box.make("moov", Box.mvhd(timescale: 600, duration: 1 << 62, version: 1)
                                         + Box.videoTrak(tkhdDuration: 1 << 62, mediaTimescale: 600, mediaDuration: 1 << 62, samples: 10, version: 1))
        XCTAssertThrowsError(try MediaProbe.probeVideo(source: MemoryByteSource(huge), options: ProbeOptions())) { error in
            XCTAssertTrue("\(error)".contains("more than the 86400 s"), "\(error)")
        }
        // stsz count 0xFFFFFFFF with timescale 0xFFFFFFFF.
        let counts = Box.ftyp() + Box.make("moov", Box.mvhd(timescale: 0xFFFF_FFFF, duration: 0xFFFF_FFFF)
                                           + Box.make("trak", Box.tkhd(id: 1, duration: 0xFFFF_FFFF, width: 2, height: 2)
                                                      + Box.make("mdia", Box.mdhd(timescale: 0xFFFF_FFFF, duration: 1) + Box.hdlr("vide")
                                                                 + Box.make("minf", Box.make("stbl", Box.stsz(count: 0xFFFF_FFFF, entries: 0))))))
        _ = try? MediaProbe.probeVideo(source: MemoryByteSource(counts), options: ProbeOptions())
        // Seconds from any value and timescale never traps.
        for v in [Int64.max, Int64.min, 0, 1, -1] {
            for t in [Int64.max, Int64.min, 0, 1, -1, 0xFFFF_FFFF] { _ = Seconds(value: v, timescale: t) }
        }
    }

    // MARK: the library's inputs

    func testAnyDurationPricesAndRoutesWithoutTrapping() {
        for micros in [Int64.min, -1, 0, 1, 999_999, 1_000_000, 86_400_000_000, 86_400_000_001, 576_460_752_303_000_000, Int64.max] {
            for behavior in [Behavior.animate, .replace] {
                Self.priceAndRoute(Job(behavior: behavior, duration: Seconds(micros: micros), tags: ["customer": "film", "purpose": "preview"]),
                                   routers: Self.routers)
            }
        }
        XCTAssertEqual(Self.catalog.quote(Job(duration: Seconds(micros: Int64.max))).estimates.first?.reasons.first,
                       .durationOutOfRange(Seconds(micros: Int64.max)))
        // Money arithmetic saturates rather than traps; the checked forms say when.
        XCTAssertNil(Money(nanos: .max, currency: .usd).adding(Money(nanos: 1, currency: .usd)))
        XCTAssertNil(Money(nanos: .max, currency: .usd).multiplied(by: 2))
        XCTAssertEqual((Money(nanos: .max, currency: .usd) * 2).nanos, .max)
    }

    // MARK: data files

    /// Replaces one decimal string or number of a shipped file by an extreme one.
    static func mutate(_ value: JSONValue, _ rng: inout SeededGenerator) -> JSONValue {
        switch value {
        case .string(let s) where s.first?.isNumber == true || s.first == "-":
            return .string(extremeDecimals[Int.random(in: 0..<extremeDecimals.count, using: &rng)])
        case .number:
            return .number(extremeNumbers[Int.random(in: 0..<extremeNumbers.count, using: &rng)])
        case .array(let items):
            guard !items.isEmpty else { return value }
            var items = items
            let i = Int.random(in: 0..<items.count, using: &rng)
            items[i] = mutate(items[i], &rng)
            return .array(items)
        case .object(let members):
            guard !members.isEmpty else { return value }
            var members = members
            let i = Int.random(in: 0..<members.count, using: &rng)
            members[i].value = mutate(members[i].value, &rng)
            return .object(members)
        default:
            return value
        }
    }

    func testExtremePricingFilesLoadOrAreRefusedAndNeverTrapAQuote() throws {
        var rng = SeededGenerator(seed: 0x9A1C)
        let files = BuiltInDefaults.pricing
        let parsed = files.map { try! JSONParser.parse($0.text) }
        var loaded = 0
        for _ in 0..<Self.fileIterations {
            var mutated = files
            for _ in 0..<Int.random(in: 1...4, using: &rng) {
                let f = Int.random(in: 0..<files.count, using: &rng)
                let value = (try? JSONParser.parse(mutated[f].text)) ?? parsed[f]
                mutated[f] = SourceFile(name: files[f].name, text: JSONWriter.compact(Self.mutate(value, &rng)))
            }
            guard let catalog = try? PriceCatalog.load(files: mutated) else { continue }
            loaded += 1
            // A catalog that passes validation never traps quote, whatever the job.
            for micros in [Int64(1), 5_000_000, 86_400_000_000, Int64.max] {
                for behavior in [Behavior.animate, .replace] { _ = catalog.quote(Job(behavior: behavior, duration: Seconds(micros: micros))) }
            }
            if let router = try? Router(policy: Policy.builtIn(named: "balanced", catalog: catalog), catalog: catalog) {
                _ = router.decide(Job(duration: Seconds(whole: 86_400)))
            }
        }
        XCTAssertGreaterThan(loaded, 0)
    }

    func testTheIssuesPricingFilesAreRefusedByValidate() throws {
        func load(_ replace: String, with value: String, in name: String) -> [String] {
            let files = BuiltInDefaults.pricing.map { f in
                f.name.hasSuffix(name) ? SourceFile(name: f.name, text: f.text.replacingOccurrences(of: replace, with: value)) : f
            }
            do { _ = try PriceCatalog.load(files: files); return [] } catch { return ["\(error)"] }
        }
        XCTAssertFalse(load("\"usd_per_unit\": \"0.1406\"", with: "\"usd_per_unit\": \"9223372036854\"", in: "exchange-rates.json").isEmpty)
        for (a, b) in [("\"increment_seconds\": \"1\"", "\"increment_seconds\": \"9000000000000\""),
                       ("\"minimum_seconds\": \"5\"", "\"minimum_seconds\": \"9000000000000\"")] {
            let refused = BuiltInDefaults.pricing.contains { $0.text.contains(a) } ? !load(a, with: b, in: ".json").isEmpty : true
            XCTAssertTrue(refused, b)
        }
    }

    func testExtremePoliciesAndPolicyTestsValidateOrAreRefusedAndNeverTrapRouting() throws {
        var rng = SeededGenerator(seed: 0x90_11C4)
        let policies = BuiltInDefaults.policies.filter { !$0.name.hasSuffix(".tests.json") }
        var loaded = 0
        for i in 0..<Self.fileIterations {
            let f = policies[i % policies.count]
            var value = try JSONParser.parse(f.text)
            for _ in 0..<Int.random(in: 1...3, using: &rng) { value = Self.mutate(value, &rng) }
            let file = SourceFile(name: f.name, text: JSONWriter.compact(value))
            if i % 10 == 0 { _ = DataFileValidator.validate([file] + BuiltInDefaults.pricing) }
            guard let policy = try? Policy.load(file, catalog: Self.catalog), let router = try? Router(policy: policy, catalog: Self.catalog) else { continue }
            loaded += 1
            for micros in [Int64(1), 30_000_000, 86_400_000_000, Int64.max] {
                Self.priceAndRoute(Job(duration: Seconds(micros: micros), tags: ["customer": "film"]), routers: [router])
            }
        }
        XCTAssertGreaterThan(loaded, 0)
        // The issue's cases: weights of 9223372036854, a policy test duration of 9223372036854.775807.
        let weights = Policies.text("\"objective\": {\"weights\": {\"cost\": 9223372036854, \"quality\": 9223372036854}}")
        XCTAssertThrowsError(try Policy.load(SourceFile(name: "w.json", text: weights), catalog: Self.catalog))
        let tests = BuiltInDefaults.policies.first { $0.name.hasSuffix("production.tests.json") }!
        let extreme = SourceFile(name: tests.name, text: tests.text.replacingOccurrences(of: "\"duration\": \"12\"", with: "\"duration\": \"9223372036854.775807\""))
        XCTAssertNotEqual(extreme.text, tests.text)
        _ = DataFileValidator.validate([extreme])
    }

    func testExtremeJobLinesParseOrAreRefusedAndNeverTrapRunsChecks() {
        var rng = SeededGenerator(seed: 0x10B5)
        var lines: [String] = []
        for i in 0..<Self.iterations {
            let d = i % 2 == 0 ? "\"\(Self.extremeDecimals[Int.random(in: 0..<Self.extremeDecimals.count, using: &rng)])\""
                : Self.extremeNumbers[Int.random(in: 0..<Self.extremeNumbers.count, using: &rng)]
            lines.append("{\"id\": \"j\(i)\", \"image\": \"https://a/i.png\", \"video\": \"https://a/v.mp4\", \"duration\": \(d), \"tags\": {\"customer\": \"film\"}}")
        }
        // CRLF line ends, as .env-style editors write them: every line is still its own line.
        let (parsed, diagnostics) = JobsFile.parse(lines.joined(separator: "\r\n"), name: "jobs.jsonl")
        XCTAssertEqual(parsed.count + Set(diagnostics.compactMap { $0.location.line }).count, lines.count)
        for line in parsed {
            guard let order = line.order() else { return XCTFail("a parsed line with a duration gave no order") }
            XCTAssertTrue(order.job.duration.isValidJobDuration, "\(order.job.duration)")
            Self.priceAndRoute(order.job, routers: Self.routers)
        }
        XCTAssertEqual(JobsFile.parse("{\"image\": \"https://a/i.png\", \"video\": \"https://a/v.mp4\", \"duration\": \"576460752303\"}", name: "j").lines.count, 0)
    }

    func testRandomBytesAreJSONOrAParseError() {
        var rng = SeededGenerator(seed: 0x15_0B)
        let alphabet = Array("{}[]\",:0123456789.-+eEtrufalsn \\u\u{1b}\r\n".utf8) + [0xFF, 0xC3, 0x80]
        for _ in 0..<(Self.iterations * 10) {
            let bytes = (0..<Int.random(in: 0...64, using: &rng)).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &rng)] }
            _ = try? JSONParser.parse(bytes: bytes)
        }
        // Deep nesting is refused, not a stack overflow.
        XCTAssertThrowsError(try JSONParser.parse(String(repeating: "[", count: 100_000)))
    }
}
