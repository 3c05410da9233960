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

    func testEveryEventTypeRoundTrips() throws {
        var types = Set<LedgerEventType>()
        for (i, event) in (C.lifecycle("j") + sampleEvents()).enumerated() {
            let record = LedgerRecord(sequence: Int64(i + 1), event: event)
            let line = LedgerCodec.encode(record)
            XCTAssertEqual(line.last, UInt8(ascii: "\n"))
            XCTAssertFalse(line.dropLast().contains(UInt8(ascii: "\n")), "one line per event")
            XCTAssertEqual(try LedgerCodec.decode(Array(line.dropLast())), record)
            types.insert(event.type)
        }
        XCTAssertEqual(types, Set(LedgerEventType.allCases))
    }

    func testUnknownMembersAndMisplacedOnesAreRefusedEvenWithAGoodChecksum() {
        func sealed(_ body: String) -> [UInt8] {
            let crc = CRC32C.checksum(body)
            return Array((body + #","crc":""# + String(format: "%08x", crc) + "\"}").utf8)
        }
        let base = #"{"v":1,"seq":1,"at":"2026-12-02T10:00:00.000Z","ev":"accepted","job":"j""#
        XCTAssertNoThrow(try LedgerCodec.decode(sealed(base)))
        XCTAssertThrowsError(try LedgerCodec.decode(sealed(base + #","colour":"red""#)))
        XCTAssertThrowsError(try LedgerCodec.decode(sealed(base + #","usd":"1.00""#)), "an amount does not belong to accepted")
        XCTAssertThrowsError(try LedgerCodec.decode(sealed(base + #","job":"k""#)), "duplicate key")
        XCTAssertThrowsError(try LedgerCodec.decode(sealed(#"{"v":2,"seq":1,"at":"2026-12-02T10:00:00.000Z","ev":"accepted","job":"j""#))) { e in
            XCTAssertEqual(e as? LedgerLineError, .unsupportedVersion("2"))
        }
        XCTAssertNoThrow(try LedgerCodec.decode(sealed(#"{"v":1,"seq":1,"at":"2026-12-02T10:00:00.000Z","ev":"reserved","job":"j","usd":"1.00","budgets":["total"]"#)))
        XCTAssertThrowsError(try LedgerCodec.decode(sealed(#"{"v":1,"seq":1,"at":"2026-12-02T10:00:00.000Z","ev":"reserved","job":"j","usd":"1.00","currency":"CNY","budgets":["total"]"#)),
                             "budget amounts are USD, and carry no currency member")
        var good = sealed(base)
        good[good.count - 3] = good[good.count - 3] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        XCTAssertThrowsError(try LedgerCodec.decode(good)) { XCTAssertEqual($0 as? LedgerLineError, .badChecksum) }
    }

    /// Any bytes end in a record or a clear error, never a crash: random mutations of real lines
    /// (re-sealed with a valid checksum so the parser, not only the checksum, is exercised) and
    /// random garbage. `WANROUTE_FUZZ_ITERATIONS` raises the count for long runs.
    func testFuzzedLinesYieldARecordOrAnError() {
        let iterations = Int(ProcessInfo.processInfo.environment["WANROUTE_FUZZ_ITERATIONS"] ?? "") ?? 20_000
        var rng = SeededGenerator(seed: 0x1ed9e7)
        let lines = (C.lifecycle("j") + sampleEvents()).enumerated().map { i, e in
            Array(LedgerCodec.encode(LedgerRecord(sequence: Int64(i), event: e)).dropLast())
        }
        let alphabet = Array(#"{}[]":,\0123456789abcdefuntrlsxyz-._ "#.utf8) + [0x00, 0x0A, 0x7F, 0xC3, 0xA9, 0xFF, 0xE2]
        var decoded = 0
        for _ in 0..<iterations {
            var line = lines[Int(rng.next() % UInt64(lines.count))]
            let body = Array(line.dropLast(LedgerCodec.trailerLength))
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
            line = mutated + Array((#","crc":""# + String(format: "%08x", crc) + "\"}").utf8)
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
