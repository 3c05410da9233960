import Foundation
import WanRouteTestSupport
import XCTest
@testable import WanRoute

/// The small pieces that make whole classes of hostile input impossible, each checked alone.
final class HostileInputTests: XCTestCase {
    func testTerminalTextEscapesControlCharactersButKeepsLinesAndCRLF() {
        XCTAssertEqual(TerminalText.escaped("a\u{1b}]0;x\u{07}b"), "a\\u001b]0;x\\u0007b")
        XCTAssertEqual(TerminalText.escaped("line\r\nnext\n\ttab"), "line\r\nnext\n\ttab")
        XCTAssertEqual(TerminalText.escaped("cr\ralone"), "cr\\u000dalone")
        XCTAssertEqual(TerminalText.escaped("c1 \u{9b}31m bidi \u{202e}"), "c1 \\u009b31m bidi \\u202e")
        XCTAssertEqual(TerminalText.escaped("plain ünïcode ✓"), "plain ünïcode ✓")
        // JSON output escapes the same characters, so a value can never drive a terminal.
        XCTAssertEqual(JSONWriter.compact(.string("\u{1b}[2J\u{9b}")), "\"\\u001b[2J\\u009b\"")
    }

    func testTheByteCheckFindsWhatTheScalarsDo() {
        // Random text around every edge of what must be escaped: the UTF-8 check that lets most
        // output through untouched agrees with the rule read scalar by scalar.
        let alphabet: [Unicode.Scalar] = ["a", "\"", "\\", "\r", "\n", "\t", "\u{1b}", "\u{7e}", "\u{7f}", "\u{80}", "\u{9f}", "\u{a0}", "é", "\u{2029}",
                                          "\u{202a}", "\u{202e}", "\u{202f}", "\u{2065}", "\u{2066}", "\u{2069}", "\u{206a}", "✓", "😀"]
        var rng = SplitMix64(seed: 42)
        for _ in 0..<5_000 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...6, using: &rng) { scalars.append(alphabet.randomElement(using: &rng)!) }
            let text = String(scalars)
            let list = Array(text.unicodeScalars)
            let expected = list.indices.contains { TerminalText.mustEscape(list[$0]) && !(list[$0] == "\r" && $0 + 1 < list.count && list[$0 + 1] == "\n") }
            XCTAssertEqual(TerminalText.needsEscaping(text), expected, text.debugDescription)
            XCTAssertEqual(TerminalText.escaped(text) != text, expected, text.debugDescription)
            // JSON strings take the same text as it is only when nothing in it needs escaping there.
            let plain = !list.contains { TerminalText.mustEscape($0) || $0 == "\"" || $0 == "\\" || $0 == "\n" || $0 == "\t" }
            XCTAssertEqual(JSONWriter.isPlain(text), plain, text.debugDescription)
        }
    }

    func testURLsInMessagesLoseCredentialsAndQueries() {
        XCTAssertEqual(URLText.forMessage("https://user:sk-secret@api.example.com/v1/x?key=sk-2#f"), "https://api.example.com/v1/x?…")
        XCTAssertEqual(URLText.forMessage("http://127.0.0.1:8080"), "http://127.0.0.1:8080")
        XCTAssertEqual(URLText.forMessage("ftp://a:b@host/y"), "ftp://host/y")
        XCTAssertEqual(URLText.forMessage("user:pw@host:1/x"), "host:1/x")
        XCTAssertEqual(URLText.forMessage(String(repeating: "a", count: 500)).count, 200)
        XCTAssertThrowsError(try ProviderEndpoints.validate("https://example.com/x?token=sk-live-123", variable: "WANROUTE_APIXO_BASE_URL")) {
            XCTAssertFalse("\($0)".contains("sk-live-123"), "\($0)")
        }
    }

    func testKeysWithControlCharactersAreRefusedNamingTheVariableOnly() {
        let env = ["APIXO_API_KEY": "sk-abcdefgh\r", "MODELLIX_API_KEY": "fine"]
        XCTAssertThrowsError(try ProviderCredentials.keys(for: [ProviderEndpoints.apixo, ProviderEndpoints.modellix], in: env)) { error in
            XCTAssertTrue("\(error)".hasPrefix("APIXO_API_KEY holds a control character"), "\(error)")
            XCTAssertFalse("\(error)".contains("sk-abc"))
        }
        XCTAssertEqual(try ProviderCredentials.keys(for: [ProviderEndpoints.modellix], in: env), [ProviderEndpoints.modellix: "fine"])
    }

    func testContentRangeAndContentLengthLiesAreDropped() {
        XCTAssertEqual(HTTPByteSource.contentRange("bytes 0-99/9223372036854775807").total, nil)
        XCTAssertEqual(HTTPByteSource.contentRange("bytes 0-99/*").total, nil)
        XCTAssertEqual(HTTPByteSource.contentRange("bytes 0-99/1000").total, 1000)
        XCTAssertEqual(HTTPByteSource.contentRange("bytes 9223372036854775807-1/5").start, nil)
        XCTAssertNil(HTTPByteSource.statedSize(-1))
        XCTAssertNil(HTTPByteSource.statedSize(.max))
    }

    func testContainerDurationsNeverTrap() {
        XCTAssertEqual(Seconds(value: 1 << 62, timescale: 1).micros, .max)
        XCTAssertEqual(Seconds(value: 5, timescale: 0).micros, .max)
        XCTAssertEqual(Seconds(value: 3, timescale: 2).micros, 1_500_000)
        XCTAssertEqual(Seconds(value: 1, timescale: 3).micros, 333_333)
        XCTAssertEqual(Seconds(value: 2, timescale: 3).micros, 666_667)
    }

    func testRetryAfterIsHeldToAnHour() {
        XCTAssertEqual(ProviderHTTP.retryAfter(["Retry-After": "9223372036854"]), Seconds(whole: 3_600))
        XCTAssertEqual(ProviderHTTP.retryAfter(["Retry-After": "2.5"]), Seconds(decimal: "2.5"))
    }

    func testLocalFilesRefusePipesAndLimitSize() throws {
        let dir = try Repository.temporaryDirectory()
        let fifo = dir.appendingPathComponent("pipe").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        // Opening a FIFO without a writer would block forever; it is refused at once instead.
        XCTAssertEqual(LocalFile.read(fifo, limit: 10, what: "a test file"), .failure(.notAFile(kind: "a named pipe (FIFO)")))
        XCTAssertThrowsError(try MediaProbe.probeVideo(fifo)) { XCTAssertTrue("\($0)".contains("named pipe"), "\($0)") }
        XCTAssertEqual(LocalFile.read("/dev/null", limit: 10, what: "x"), .success([]))
        XCTAssertEqual(LocalFile.read("/dev/zero", limit: 10, what: "a test file"), .failure(.tooLarge(limit: 10, what: "a test file")))
        let big = dir.appendingPathComponent("big.json")
        try Data(repeating: 0x20, count: Int(SourceFile.maximumBytes) + 1).write(to: big)
        XCTAssertThrowsError(try SourceFile.read(big)) { XCTAssertTrue("\($0)".contains("larger than 1 MiB"), "\($0)") }
    }

    func testLedgerLinesHoldAmountsAndDurationsToWhatWanrouteWrites() {
        func sealed(_ body: String) -> [UInt8] { Array(LedgerLineFixture.sealed(body, checksumKey: "crc").utf8) }
        let head = #"{"v":1,"seq":1,"at":"2026-12-02T10:00:00.000Z","ev":"reserved","job":"j","usd":""#
        XCTAssertNoThrow(try LedgerCodec.decode(sealed(head + #"86400000.00","budgets":["total"]"#)))
        XCTAssertThrowsError(try LedgerCodec.decode(sealed(head + #"9223372036.854775807","budgets":["total"]"#))) {
            XCTAssertTrue("\($0)".contains("larger than any amount"), "\($0)")
        }
    }

    func testCheckedMoneyAndBoundedDecimals() {
        let sink = DiagnosticSink(file: "f.json")
        XCTAssertNil(sink.decimal(.string("9000000000000"), path: "$.s", scale: Seconds.scale))
        XCTAssertNil(sink.decimal(.string("9223372036"), path: "$.m", scale: Money.scale))
        XCTAssertEqual(sink.decimal(.string("86400"), path: "$.s", scale: Seconds.scale), 86_400_000_000)
        XCTAssertEqual(sink.diagnostics.map(\.message), ["\"9000000000000\" is larger than the most accepted here, 86400; check the value",
                                                         "\"9223372036\" is larger than the most accepted here, 1000000; check the value"])
    }
}
