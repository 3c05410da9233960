import XCTest
@testable import WanRoute

final class JSONTests: XCTestCase {
    func testKeepsNumberTextAndMemberOrder() throws {
        let v = try JSONParser.parse(#"{"b": 0.10, "a": [1e3, true, null, "x\u00e9"]}"#)
        XCTAssertEqual(JSONWriter.compact(v), #"{"b":0.10,"a":[1e3,true,null,"xé"]}"#)
    }

    func testDuplicateKeyIsAnError() {
        XCTAssertThrowsError(try JSONParser.parse("{\"a\": 1,\n \"a\": 2}")) { error in
            let e = error as! JSONParseError
            XCTAssertEqual(e.line, 2)
            XCTAssertTrue(e.message.contains("appears twice"), e.message)
        }
    }

    func testRejectsMalformedDocuments() {
        for bad in ["", "{", "[1,]", "01", "1.", "\"\\x\"", "{\"a\" 1}", "tru", "[1] 2", "\"\u{01}\"", "\"\\ud800\""] {
            XCTAssertThrowsError(try JSONParser.parse(bad), "accepted \(bad.debugDescription)")
        }
    }

    func testDeepNestingIsRefusedNotCrashed() {
        let deep = String(repeating: "[", count: 100_000)
        XCTAssertThrowsError(try JSONParser.parse(deep))
    }

    func testWriterEscapesControlCharacters() {
        XCTAssertEqual(JSONWriter.compact(.string("a\"b\\c\n\u{01}")), #""a\"b\\c\n\u0001""#)
    }
}
