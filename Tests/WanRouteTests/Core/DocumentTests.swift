import WanRouteTestSupport
import XCTest
@testable import WanRoute

/// The one reader of versioned documents (SourceFile, DocumentKind, DocumentHeader) and located diagnostics.
final class DocumentTests: XCTestCase {
    func testLocationPrintsWhatIsKnownAsCompilersDo() {
        XCTAssertEqual(Location(file: "p.json", path: "$.offers[0]").description, "p.json: $.offers[0]")
        XCTAssertEqual(Location(file: "jobs.jsonl", line: 3, path: "$.duration").description, "jobs.jsonl:3: $.duration")
        XCTAssertEqual(Location(file: "b.json", line: 1, column: 34, path: nil).description, "b.json:1:34")
        let d = Diagnostic(.warning, at: Location(file: "l.jsonl", line: 9, path: "$"), message: "torn")
        XCTAssertEqual(d.description, "l.jsonl:9: $: warning: torn")
        XCTAssertEqual(Diagnostic(file: "p.json", path: "$.x", message: "m").location, Location(file: "p.json", path: "$.x"))
    }

    func testAJSONLinesRecordIsLocatedByFileAndLineNotByItsName() {
        let (bad, syntax) = JobLine.parse("{\"image\": }", file: "jobs.jsonl", line: 7, defaultID: "line-7")
        XCTAssertNil(bad)
        XCTAssertEqual(syntax.map(\.location), [Location(file: "jobs.jsonl", line: 7, column: 11, path: nil)])
        XCTAssertEqual(syntax.first?.message, "not valid JSON: unexpected character where a value was expected")

        let (_, keys) = JobLine.parse(#"{"image": "https://x/a.png", "video": "https://x/a.mp4", "duraton": 3}"#,
                                      file: "jobs.jsonl", line: 12, defaultID: "line-12")
        XCTAssertEqual(keys.map(\.location), [Location(file: "jobs.jsonl", line: 12, path: "$.duraton")])
    }

    func testAMultiLineDocumentThatIsNotJSONIsLocatedWhereReadingStopped() {
        let d = PolicyFile.validate(SourceFile(name: "p.json", text: "{\n  \"kind\": \"policy\",\n  oops\n}"), catalog: try! PriceCatalog.builtIn())
        XCTAssertEqual(d.map(\.location), [Location(file: "p.json", line: 3, column: 3, path: nil)])
    }

    func testEveryKindDeclaresItselfAndItsVersion() throws {
        XCTAssertEqual(DocumentKind(of: SourceFile(name: "a", text: #"{"kind": "exchange-rates"}"#)), .exchangeRates)
        XCTAssertNil(DocumentKind(of: SourceFile(name: "a", text: #"{"kind": "ledger-of-dreams"}"#)))
        XCTAssertNil(DocumentKind(of: SourceFile(name: "a", text: "[")))
        XCTAssertEqual(DocumentKind.dataFiles.map(\.rawValue), ["pricing", "exchange-rates", "policy", "policy-tests", "contract-prices"])

        var files = try Repository.pricingFiles()
        let i = try XCTUnwrap(files.firstIndex { $0.name.hasSuffix("/apixo.json") })
        files[i] = SourceFile(name: "apixo.json", text: files[i].text.replacingOccurrences(of: "\"version\": 1", with: "\"version\": 3"))
        XCTAssertThrowsError(try PriceCatalog.load(files: files)) { error in
            guard case PricingError.invalid(let d) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(d.map(\.description), ["apixo.json: $.version: error: version 3 is not supported by this wanroute (it reads version 1); upgrade wanroute or rewrite the file"])
        }
    }

    func testReadingTheWrongKindIsAPolicyErrorThatNamesTheKind() throws {
        let pricing = try Repository.pricingFiles()[0]
        XCTAssertThrowsError(try Policy.load(pricing, catalog: try PriceCatalog.builtIn())) { error in
            guard case PolicyError.invalid(let d) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(d.map(\.message), ["\"pricing\" is not a policy; a policy says \"kind\": \"policy\""])
        }
        XCTAssertThrowsError(try PolicyTestFile.load(SourceFile(name: "t.json", text: #"{"kind": "policy"}"#))) { error in
            guard case PolicyError.invalid(let d) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(d.map(\.path), ["$.kind"])
        }
    }

    func testAMissingFileIsASourceFileErrorNamedAsTheUserNamedIt() throws {
        let missing = try Repository.temporaryDirectory().appendingPathComponent("nope.json")
        XCTAssertThrowsError(try SourceFile.read(missing, name: "nope.json")) { error in
            XCTAssertEqual(error as? SourceFileError, .unreadable(path: "nope.json", reason: "does not exist"))
        }
        XCTAssertThrowsError(try Policy.load(contentsOf: missing, catalog: try PriceCatalog.builtIn())) { error in
            XCTAssertEqual(error as? PolicyError, .unreadable(path: missing.path, reason: "does not exist"))
        }
    }
}
