import WanRouteTestSupport
import XCTest
@testable import WanRoute

final class PricingFileTests: XCTestCase {
    func testEveryShippedPricingFileValidates() throws {
        let catalog = try Repository.catalog()
        XCTAssertEqual(Set(catalog.providers.map(\.id.rawValue)),
                       ["dashscope-intl", "dashscope-cn", "modellix", "aimlapi", "apixo", "fal", "wavespeed", "runware"])
        XCTAssertEqual(catalog.warnings, [])
        XCTAssertEqual(catalog.providers.filter(\.hasAdapter).map(\.id.rawValue).sorted(),
                       ["aimlapi", "apixo", "dashscope-cn", "dashscope-intl", "modellix"])
        // Unknown prices are present with no number, and marked unknown.
        for offer in catalog.offers where offer.pricePerSecond == nil {
            XCTAssertEqual(offer.source.confidence, .unknown, offer.key)
        }
    }

    /// Loads the shipped files with apixo.json changed by `edit`, returning the diagnostics.
    func diagnostics(editingAPIXO edit: (String) -> String) throws -> [Diagnostic] {
        var files = try Repository.pricingFiles()
        let i = try XCTUnwrap(files.firstIndex { $0.name.hasSuffix("/apixo.json") })
        let edited = edit(files[i].text)
        XCTAssertNotEqual(edited, files[i].text, "the edit changed nothing")
        files[i] = SourceFile(name: "bad/apixo.json", text: edited)
        do {
            _ = try PriceCatalog.load(files: files)
            XCTFail("the edited file loaded")
            return []
        } catch .invalid(let diagnostics) {
            XCTAssertTrue(diagnostics.allSatisfy { $0.file == "bad/apixo.json" }, "\(diagnostics)")
            return diagnostics
        } catch {
            XCTFail("\(error)")
            return []
        }
    }

    func replacingFirst(_ text: String, _ old: String, _ new: String) -> String {
        guard let r = text.range(of: old) else { return text }
        return text.replacingCharacters(in: r, with: new)
    }

    func testMisspeltKeyIsAnErrorWithASuggestion() throws {
        let d = try diagnostics { self.replacingFirst($0, "\"price_per_second\"", "\"price_per_secnd\"") }
        XCTAssertTrue(d.contains { $0.path == "$.offers[0].price_per_secnd" && $0.message == "unknown key \"price_per_secnd\"; did you mean \"price_per_second\"?" }, "\(d)")
        XCTAssertTrue(d.contains { $0.path == "$.offers[0]" && $0.message.contains("missing the required key \"price_per_second\"") }, "\(d)")
    }

    func testNegativePriceIsAnError() throws {
        let d = try diagnostics { self.replacingFirst($0, "\"amount\": \"0.04\"", "\"amount\": \"-0.04\"") }
        XCTAssertEqual(d.map(\.path), ["$.offers[0].price_per_second.amount"])
        XCTAssertTrue(d[0].message.contains("negative"))
    }

    func testMinimumAboveCapIsAnError() throws {
        let d = try diagnostics { self.replacingFirst($0, "\"minimum_seconds\": \"5\"", "\"minimum_seconds\": \"500\"") }
        XCTAssertEqual(d.map(\.path), ["$.billing.minimum_seconds"])
        XCTAssertEqual(d[0].message, "the minimum (500 s) is above the cap (120 s)")
    }

    func testUnknownCurrencyIsAnError() throws {
        let d = try diagnostics { self.replacingFirst($0, "\"currency\": \"USD\"", "\"currency\": \"USB\"") }
        XCTAssertEqual(d.map(\.path), ["$.offers[0].price_per_second.currency"])
        XCTAssertTrue(d[0].message.hasPrefix("\"USB\" is not a currency"))
    }

    func testPriceWrittenAsAJSONNumberIsAnError() throws {
        let d = try diagnostics { self.replacingFirst($0, "\"amount\": \"0.04\"", "\"amount\": 0.04") }
        XCTAssertEqual(d.map(\.path), ["$.offers[0].price_per_second.amount"])
        XCTAssertTrue(d[0].message.contains("write this as a decimal string (\"0.04\")"), d[0].message)
    }

    func testEveryProblemIsReportedAtOnce() throws {
        let d = try diagnostics {
            var t = self.replacingFirst($0, "\"amount\": \"0.04\"", "\"amount\": 0.04")
            t = self.replacingFirst(t, "\"rounding\": \"up\"", "\"rounding\": \"ceil\"")
            return self.replacingFirst(t, "\"version\": 1", "\"version\": 1, \"colour\": \"red\"")
        }
        XCTAssertEqual(Set(d.map(\.path)), ["$.offers[0].price_per_second.amount", "$.billing.rounding", "$.colour"])
    }

    func testAPricedOfferMarkedUnknownAndAnUnpricedOneMarkedPublishedAreErrors() throws {
        let d = try diagnostics { self.replacingFirst($0, "\"confidence\": \"published\"", "\"confidence\": \"unknown\"") }
        XCTAssertEqual(d.map(\.path), ["$.offers[0].price_per_second"])
        let e = try diagnostics {
            self.replacingFirst($0, "\"price_per_second\": {\n        \"amount\": \"0.04\",\n        \"currency\": \"USD\"\n      }", "\"price_per_second\": null")
        }
        XCTAssertEqual(e.map(\.path), ["$.offers[0].source.confidence"])
    }

    func testAFrameBasedPriceThatDoesNotDivideIntoFramesIsAnError() throws {
        var files = try Repository.pricingFiles()
        let i = try XCTUnwrap(files.firstIndex { $0.name.hasSuffix("/fal.json") })
        files[i] = SourceFile(name: "fal.json", text: files[i].text.replacingOccurrences(of: "\"fps\": 16", with: "\"fps\": 15"))
        XCTAssertThrowsError(try PriceCatalog.load(files: files)) { error in
            guard case PricingError.invalid(let d) = error else { return XCTFail("\(error)") }
            // 0.04/15 and 0.08/15 do not terminate; 0.06/15 = 0.004 does (offers 0-2: animate, no price).
            XCTAssertEqual(d.map(\.path), ["$.offers[3].price_per_second.amount", "$.offers[5].price_per_second.amount"])
        }
    }

    func testInvalidJSONAndMissingKindAreReportedWithTheFile() {
        for (text, expected) in [("{\"kind\": \"pricing\",", "not valid JSON"), ("[]", "expected a JSON object"), ("{}", "missing the required key \"kind\"")] {
            XCTAssertThrowsError(try PriceCatalog.load(files: [SourceFile(name: "x.json", text: text)])) { error in
                guard case PricingError.invalid(let d) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(d.first?.file, "x.json")
                XCTAssertTrue(d.first?.message.contains(expected) ?? false, "\(d)")
            }
        }
    }

    func testDuplicateProviderAndMissingExchangeRateAreErrors() throws {
        var files = try Repository.pricingFiles()
        let apixo = try XCTUnwrap(files.first { $0.name.hasSuffix("/apixo.json") })
        files.append(SourceFile(name: "copy.json", text: apixo.text))
        files.removeAll { $0.name.hasSuffix("exchange-rates.json") }
        XCTAssertThrowsError(try PriceCatalog.load(files: files)) { error in
            guard case PricingError.invalid(let d) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(d.contains { $0.file == "copy.json" && $0.path == "$.provider.id" }, "\(d)")
            XCTAssertTrue(d.contains { $0.message.contains("no exchange-rates file") }, "\(d)")
            XCTAssertTrue(d.contains { $0.path?.hasSuffix("price_per_second.currency") == true && $0.message.contains("priced in CNY") }, "\(d)")
        }
    }
}
