import XCTest
@testable import WanRoute

/// SHA-256 against its published test vectors, and the digests the ledger records.
final class SHA256Tests: XCTestCase {
    private func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// FIPS 180-2 appendix B examples and the NIST "million a" vector.
    func testSHA256PublishedVectors() {
        XCTAssertEqual(hex(SHA256.hash(Array("abc".utf8))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex(SHA256.hash([])), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex(SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))),
                       "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        XCTAssertEqual(hex(SHA256.hash(Array("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu".utf8))),
                       "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1")
        XCTAssertEqual(hex(SHA256.hash([UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000))),
                       "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    /// Feeding bytes in pieces of every size gives the one-shot digest (exercises the block buffering).
    func testSHA256IncrementalEqualsOneShot() {
        let message = (0..<300).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let expected = SHA256.hash(message)
        for piece in 1...130 {
            var hasher = SHA256()
            var index = 0
            while index < message.count {
                hasher.update(message[index..<min(index + piece, message.count)])
                index += piece
            }
            XCTAssertEqual(hasher.finalize(), expected, "piece size \(piece)")
        }
    }

    /// The pricing digest is over file names and texts, not paths: the built-in tables and a copy
    /// read from disk under another directory digest alike; a changed byte or an overlay changes it.
    func testSourceDigests() throws {
        let files = [SourceFile(name: "built-in:pricing/b.json", text: "B"), SourceFile(name: "built-in:pricing/a.json", text: "A")]
        let moved = [SourceFile(name: "/tmp/x/a.json", text: "A"), SourceFile(name: "/tmp/x/b.json", text: "B")]
        XCTAssertEqual(SourceDigest.pricing(files: files, overlays: []), SourceDigest.pricing(files: moved, overlays: []))
        XCTAssertEqual(SourceDigest.pricing(files: files, overlays: []).count, SourceDigest.length)
        XCTAssertNotEqual(SourceDigest.pricing(files: files, overlays: []),
                          SourceDigest.pricing(files: [files[0], SourceFile(name: "a.json", text: "a")], overlays: []))
        XCTAssertNotEqual(SourceDigest.pricing(files: files, overlays: []),
                          SourceDigest.pricing(files: files, overlays: [SourceFile(name: "c.json", text: "C")]))
        // Name and text boundaries are unambiguous: "ab"+"c" is not "a"+"bc".
        XCTAssertNotEqual(SourceDigest.pricing(files: [SourceFile(name: "ab", text: "c")], overlays: []),
                          SourceDigest.pricing(files: [SourceFile(name: "a", text: "bc")], overlays: []))
        XCTAssertEqual(SourceDigest.policy(SourceFile(name: "p.json", text: "abc")), "ba7816bf8f01cfea")
        XCTAssertEqual(try PriceCatalog.builtIn().sourceDigest, SourceDigest.pricing(files: BuiltInDefaults.pricing, overlays: []))
    }
}
