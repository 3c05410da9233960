import Foundation
import WanRouteTestSupport
import WanRouteTesting
import XCTest
@testable import WanRoute

final class LedgerCodecTests: XCTestCase {
    typealias C = LedgerStoreConformance

    func testCRC32CCheckValues() {
        XCTAssertEqual(CRC32C.checksum("123456789"), 0xE306_9283)
        XCTAssertEqual(CRC32C.checksum(""), 0)
        // RFC 3720 B.4: 32 bytes of zeros, and of 0xFF.
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0, count: 32)), 0x8A91_36AA)
        XCTAssertEqual(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)), 0x62A8_AB43)
        XCTAssertEqual(CRC32C.checksum(Array(0..<32)), 0x46DD_794E)
    }

    func testTimesRoundTripAndRefuseOtherForms() {
        for ms: Int64 in [0, 1, 999, 86_399_999, 951_782_400_000, 1_795_000_000_123, 4_102_444_799_999] {
            let t = LedgerTime(milliseconds: ms)
            XCTAssertEqual(LedgerTime(t.description), t, t.description)
        }
        XCTAssertEqual(LedgerTime(milliseconds: 951_782_400_000).description, "2000-02-29T00:00:00.000Z")
        XCTAssertEqual(LedgerTime("2026-12-31T23:59:59.999Z")!.month.description, "2026-12")
        for bad in ["2026-02-29T00:00:00.000Z", "2026-12-02T24:00:00.000Z", "2026-12-02 10:00:00.000Z", "2026-12-02T10:00:00Z", "1969-12-31T23:59:59.999Z", ""] {
            XCTAssertNil(LedgerTime(bad), bad)
        }
        XCTAssertEqual(LedgerMonth("2026-12")?.next.description, "2027-01")
        XCTAssertNil(LedgerMonth("2026-13"))
    }

    func testEveryEventTypeRoundTripsInEveryVersion() throws {
        for version in [1, 2, 3, 4] {
            var types = Set<LedgerEventType>()
            for (i, event) in (C.lifecycle("j") + sampleEvents()).enumerated() {
                let record = LedgerRecord(sequence: Int64(i + 1), event: event)
                var line: [UInt8] = []
                LedgerCodec.encode(record, version: version, into: &line)
                XCTAssertEqual(line.last, UInt8(ascii: "\n"))
                XCTAssertFalse(line.dropLast().contains(UInt8(ascii: "\n")), "one line per event")
                XCTAssertTrue(line.starts(with: Array(#"{"v":\#(version),"#.utf8)))
                XCTAssertEqual(try LedgerCodec.decode(Array(line.dropLast())), record, "version \(version)")
                types.insert(event.type)
            }
            XCTAssertEqual(types, Set(LedgerEventType.allCases))
        }
        XCTAssertEqual(LedgerCodec.encode(LedgerRecord(sequence: 1, event: C.lifecycle("j")[0])).prefix(6), Array(#"{"v":4"#.utf8)[...],
                       "writers write version 4")
    }

    /// Random events of every type (any currency, unknown amounts, odd strings, many alternates and
    /// tags) decode to what was encoded, in every version, and a record's lines of each version
    /// decode to the same record.
    func testRandomEventsRoundTripInEveryVersion() throws {
        var rng = SeededGenerator(seed: 0x5c4e_3a02)
        for n in 0..<3_000 {
            let record = LedgerRecord(sequence: Int64(rng.next() % 10_000_000) + 1, event: randomEvent(&rng))
            var v1: [UInt8] = [], v2: [UInt8] = [], v3: [UInt8] = [], v4: [UInt8] = []
            LedgerCodec.encode(record, version: 1, into: &v1)
            LedgerCodec.encode(record, version: 2, into: &v2)
            LedgerCodec.encode(record, version: 3, into: &v3)
            LedgerCodec.encode(record, version: 4, into: &v4)
            XCTAssertEqual(try LedgerCodec.decode(Array(v1.dropLast())), record, "v1 #\(n): \(String(decoding: v1, as: UTF8.self))")
            XCTAssertEqual(try LedgerCodec.decode(Array(v2.dropLast())), record, "v2 #\(n): \(String(decoding: v2, as: UTF8.self))")
            XCTAssertEqual(try LedgerCodec.decode(Array(v3.dropLast())), record, "v3 #\(n): \(String(decoding: v3, as: UTF8.self))")
            XCTAssertLessThanOrEqual(v2.count, v1.count)
            XCTAssertEqual(try LedgerCodec.decode(Array(v4.dropLast())), record, "v4 #\(n): \(String(decoding: v4, as: UTF8.self))")
            XCTAssertLessThanOrEqual(v3.count, v2.count)
            XCTAssertLessThanOrEqual(v4.count, v3.count)
            XCTAssertGreaterThanOrEqual(record.event.lineBytesBound, v1.count, "the bound holds for the longest version #\(n)")
            XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(v2.dropLast())) as? [String: Any], "a v2 line is plain JSON")
            XCTAssertNotNil(try JSONSerialization.jsonObject(with: Data(v3.dropLast())) as? [String: Any], "a v3 line is plain JSON")
        }
    }

    func testVersion2RefusesWhatItNeverWrites() {
        func sealed(_ body: String) -> [UInt8] { Array(LedgerLineFixture.sealed(body).utf8) }
        let head = #"{"v":2,"n":1,"t":1796205600000,"e":"succeeded","j":"j""#
        XCTAssertEqual(try LedgerCodec.decode(sealed(head + #","cost":"1.5","src":"billing-rule""#)).event.body,
                       .succeeded(LedgerSuccess(resultURL: nil, cost: Money(nanos: 1_500_000_000, currency: .usd), costSource: .billingRule)))
        XCTAssertNoThrow(try LedgerCodec.decode(sealed(head + #","cost":"1.5","cur":"CNY""#)))
        XCTAssertThrowsError(try LedgerCodec.decode(sealed(head + #","cost":"1.5","cur":"USD""#)), "USD is written by leaving cur out")
        XCTAssertThrowsError(try LedgerCodec.decode(sealed(head + #","cur":"CNY""#)), "a currency without an amount")
        XCTAssertThrowsError(try LedgerCodec.decode(sealed(head + #","bs":"12""#)), "seconds are a number in version 2")
        XCTAssertNoThrow(try LedgerCodec.decode(sealed(head + #","bs":12.25"#)))
        for number in ["012", "1.", "-", "1e3", ".5", "86401"] {
            XCTAssertThrowsError(try LedgerCodec.decode(sealed(head + #","bs":"# + number)), number)
        }
        XCTAssertThrowsError(try LedgerCodec.decode(sealed(head + #","at":"2026-12-02T10:00:00.000Z""#)), "version 1 names are not version 2's")
        for t in ["-1", "253402300800000", "\"1796205600000\""] {
            XCTAssertThrowsError(try LedgerCodec.decode(sealed(#"{"v":2,"n":1,"t":"# + t + #","e":"accepted","j":"j""#)), t)
        }
        let decided = #"{"v":2,"n":1,"t":1796205600000,"e":"decided","j":"j","b":"animate","d":12,"pol":"cheapest""#
        XCTAssertEqual(try LedgerCodec.decode(sealed(decided + #","alt":["apixo standard 720p 0.72","kie standard 480p 5 CNY","apixo standard 480p"]"#)).event.body,
                       .decided(LedgerDecision(behavior: .animate, duration: Seconds(whole: 12), policy: "cheapest", mode: nil, resolution: nil, estimate: nil, estimateUSD: nil,
                                               alternates: [LedgerAlternate(provider: C.apixo, mode: .standard, resolution: .p720, estimate: Money(nanos: 720_000_000, currency: .usd)),
                                                            LedgerAlternate(provider: ProviderID("kie")!, mode: .standard, resolution: .p480, estimate: Money(nanos: 5_000_000_000, currency: .cny)),
                                                            LedgerAlternate(provider: C.apixo, mode: .standard, resolution: .p480, estimate: nil)])))
        for alt in ["apixo standard", "apixo standard 720p 0.72 USD", "apixo standard 720p x", "apixo  standard 720p", "apixo standard 720p 1 CNY extra", "Apixo standard 720p"] {
            XCTAssertThrowsError(try LedgerCodec.decode(sealed(decided + #","alt":[""# + alt + #""]"#)), alt)
        }
        // The checksum member's spelling goes with the version.
        let v1Trailer = Array((head + #","crc":""# + String(format: "%08x", CRC32C.checksum(head)) + "\"}").utf8)
        XCTAssertThrowsError(try LedgerCodec.decode(v1Trailer))
        XCTAssertThrowsError(try LedgerCodec.decode(sealed(#"{"v":1,"seq":1,"at":"2026-12-02T10:00:00.000Z","ev":"accepted","job":"j""#)))
    }

    func randomEvent(_ rng: inout SeededGenerator) -> LedgerEvent {
        func pick<T>(_ list: [T]) -> T { list[Int(rng.next() % UInt64(list.count))] }
        func maybe<T>(_ v: @autoclosure () -> T) -> T? { rng.next() % 3 == 0 ? nil : v() }
        func text() -> String {
            let pieces = ["a", "job-42", " ", "é", "\"", "\\", "\n", "\u{1}", "\u{7f}", "日本", "🎬", ",\"c\":\"", "}", "x y z"]
            return (0..<Int(rng.next() % 6)).map { _ in pick(pieces) }.joined()
        }
        func money() -> Money {
            // Up to the 10^8 units a line may hold, or a round figure.
            let nanos = rng.next() % 2 == 0 ? Int64(rng.next() % 100_000_000_000_000_001) : Int64(rng.next() % 100_000) * 1_000_000_000
            return Money(nanos: nanos, currency: pick(Currency.known))
        }
        func usd() -> Money { Money(nanos: Int64(rng.next() % 1_000_000_000_000), currency: .usd) }
        func seconds() -> Seconds { Seconds(micros: Int64(rng.next() % UInt64(Seconds.longestJob.micros + 1))) }
        let providers = [C.apixo, C.dashscope, ProviderID("kie")!, ProviderID("a-1")!]
        let provider = maybe(pick(providers))
        let tags = Dictionary((0..<Int(rng.next() % 4)).map { _ in (text() + "k", text()) }, uniquingKeysWith: { a, _ in a })
        let body: LedgerEventBody
        switch rng.next() % 13 {
        case 0:
            let keys = provider.map { BudgetKey.keys(provider: $0, tags: tags) } ?? [.total]
            body = .decided(LedgerDecision(
                behavior: pick(Behavior.allCases), duration: seconds(), requiredResolution: maybe(pick(Resolution.allCases)),
                requiredMode: maybe(pick(Mode.allCases)), tags: tags, policy: text(), policyDigest: maybe(text()), pricingDigest: maybe(text()),
                mode: maybe(pick(Mode.allCases)), resolution: maybe(pick(Resolution.allCases)), estimate: maybe(money()), estimateUSD: maybe(usd()),
                alternates: (0..<Int(rng.next() % 4)).map { _ in
                    LedgerAlternate(provider: pick(providers), mode: pick(Mode.allCases), resolution: pick(Resolution.allCases), estimate: maybe(money()))
                },
                refusal: maybe(text()), reservation: maybe(LedgerBudgetAmount(amount: usd(), budgets: rng.next() % 2 == 0 ? keys : [.total]))))
        case 1: body = .reserved(LedgerBudgetAmount(amount: usd(), budgets: [.total] + (provider.map { [BudgetKey.keys(provider: $0, tags: [:])[1]] } ?? [])))
        case 2: body = .submitIntent(mode: pick(Mode.allCases), resolution: pick(Resolution.allCases), attempt: 1 + Int(rng.next() % 9))
        case 3: body = .accepted
        case 4: body = .state(pick(TaskProgress.allCases))
        case 5:
            body = .succeeded(LedgerSuccess(resultURL: maybe("https://r.example/" + text()), billedSeconds: maybe(seconds()), billedCredits: maybe(text()),
                                            cost: maybe(money()), costSource: maybe(pick(JobReport.CostSource.allCases)), settlement: maybe(usd())))
        case 6:
            body = .failed(LedgerFailure(failure: pick(FailureClass.allCases), cost: maybe(money()), costSource: maybe(pick(JobReport.CostSource.allCases)),
                                         final: rng.next() % 2 == 0, detail: maybe(text()), settlement: maybe(usd())))
        case 7: body = .outcomeUnknown(detail: text())
        case 8: body = .unfinished(detail: text())
        case 9: body = .needsAttention(detail: text())
        case 10: body = .settled(usd())
        case 11: body = .released(detail: maybe(text()))
        default: body = .note(text: text())
        }
        // An accepted task always names its provider (stores refuse one that does not).
        return LedgerEvent(time: LedgerTime(milliseconds: Int64(rng.next() % UInt64(LedgerTime.latestMilliseconds))), jobID: text() + "j",
                           runID: maybe(text()), provider: body == .accepted ? provider ?? C.dashscope : provider, taskID: maybe(text()), body: body)
    }

    /// Any bytes end in a record or a clear error, never a crash: random mutations of real lines
    /// (re-sealed with a valid checksum so the parser, not only the checksum, is exercised) and
    /// random garbage. `WANROUTE_FUZZ_ITERATIONS` raises the count for long runs.
    func testFuzzedLinesYieldARecordOrAnError() {
        let iterations = Int(ProcessInfo.processInfo.environment["WANROUTE_FUZZ_ITERATIONS"] ?? "") ?? 20_000
        var rng = SeededGenerator(seed: 0x1ed9e7)
        let lines = [1, 2].flatMap { version in
            (C.lifecycle("j") + sampleEvents()).enumerated().map { i, e in
                var line: [UInt8] = []
                LedgerCodec.encode(LedgerRecord(sequence: Int64(i), event: e), version: version, into: &line)
                return Array(line.dropLast())
            }
        }
        let alphabet = Array(#"{}[]":,\0123456789abcdefuntrlsxyz-._ "#.utf8) + [0x00, 0x0A, 0x7F, 0xC3, 0xA9, 0xFF, 0xE2]
        var decoded = 0
        for _ in 0..<iterations {
            var line = lines[Int(rng.next() % UInt64(lines.count))]
            let trailer = line.withUnsafeBytes { LedgerCodec.trailer($0) }!
            let body = Array(line.dropLast(trailer))
            var mutated = body
            for _ in 0..<(1 + Int(rng.next() % 4)) {
                guard !mutated.isEmpty else { break }
                let at = Int(rng.next() % UInt64(mutated.count))
                switch rng.next() % 4 {
                case 0: mutated[at] = alphabet[Int(rng.next() % UInt64(alphabet.count))]
                case 1: mutated.remove(at: at)
                case 2: mutated.insert(alphabet[Int(rng.next() % UInt64(alphabet.count))], at: at)
                default: mutated.removeSubrange(at..<min(mutated.count, at + Int(rng.next() % 40)))
                }
            }
            let crc = CRC32C.checksum(mutated)
            line = mutated + Array(((trailer == LedgerCodec.trailerLength ? #","crc":""# : #","c":""#) + String(format: "%08x", crc) + "\"}").utf8)
            if (try? LedgerCodec.decode(line)) != nil { decoded += 1 }
            var garbage = [UInt8](repeating: 0, count: Int(rng.next() % 300))
            for k in garbage.indices { garbage[k] = UInt8(truncatingIfNeeded: rng.next()) }
            XCTAssertThrowsError(try LedgerCodec.decode(garbage))
        }
        XCTAssertGreaterThan(decoded, 0, "some mutations still decode (a changed digit, say)")
    }

    func testScannerReadsLinesAcrossChunkBoundariesAndCountsLines() throws {
        let dir = try Repository.temporaryDirectory().path
        let path = dir + "/2026-12.jsonl"
        var bytes: [UInt8] = []
        var expected: [LedgerRecord] = []
        for i in 0..<2000 {
            let r = LedgerRecord(sequence: Int64(i + 1), event: LedgerEvent(time: C.at(Int64(i)), jobID: "job-\(i)", body: .note(text: String(repeating: "x", count: i % 300))))
            expected.append(r)
            LedgerCodec.encode(r, into: &bytes)
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let fd = try FileDescriptor.open(path, flags: O_RDONLY)
        var seen: [LedgerRecord] = []
        let end = try LedgerFileScanner.scan(fd, name: path, from: 0, to: Int64(bytes.count), firstLine: 1) { line, number, _ in
            XCTAssertEqual(number, seen.count + 1)
            seen.append(try LedgerCodec.decode(line))
        }
        XCTAssertEqual(seen, expected)
        XCTAssertEqual(end.lines, 2000)
        XCTAssertEqual(end.offset, Int64(bytes.count))
        XCTAssertNil(end.torn)
    }

    func sampleEvents() -> [LedgerEvent] {
        [
            LedgerEvent(time: C.at(70), jobID: "j", runID: "r", body: .note(text: "café \"q\" \\ \n\t\u{7f}\u{1}")),
            LedgerEvent(time: C.at(71), jobID: "j", provider: C.dashscope, taskID: "t", body: .failed(LedgerFailure(
                failure: .rateLimited, cost: nil, costSource: nil, final: false, detail: "429"))),
            LedgerEvent(time: C.at(72), jobID: "j", body: .outcomeUnknown(detail: "no answer")),
            LedgerEvent(time: C.at(73), jobID: "j", body: .unfinished(detail: "deadline")),
            LedgerEvent(time: C.at(74), jobID: "j", body: .needsAttention(detail: "ask")),
            LedgerEvent(time: C.at(75), jobID: "j", body: .released(detail: "free failure")),
            LedgerEvent(time: C.at(76), jobID: "j", provider: C.apixo, taskID: "t", body: .state(.queued)),
        ]
    }
}
