import XCTest
@testable import WanRoute

/// Contract prices laid over the built-in tables (`--contract`).
final class ContractPricesTests: XCTestCase {
    static let contract = SourceFile(name: "contract.json", text: """
    {
      "kind": "contract-prices", "version": 1,
      "providers": [
        {
          "id": "aimlapi",
          "billing": { "basis": "reference-seconds", "increment_seconds": "1", "rounding": "up", "minimum_seconds": "5" },
          "prices": [ { "resolution": "720p", "price_per_second": { "amount": "0.05", "currency": "USD" }, "read_on": "2026-11-01", "note": "AC-11" } ]
        },
        {
          "id": "apixo",
          "prices": [ { "behavior": "replace", "resolution": "480p", "price_per_second": { "amount": "0.03", "currency": "USD" }, "read_on": "2026-06-01" } ]
        }
      ]
    }
    """)

    func offer(_ catalog: PriceCatalog, _ key: String) throws -> Offer {
        try XCTUnwrap(catalog.offers.first { $0.key == key }, key)
    }

    func testContractPricesReplaceMatchingOffersWithConfidenceContract() throws {
        let catalog = try PriceCatalog.builtIn(overlays: [Self.contract])
        for behavior in ["animate", "replace"] {
            let aiml = try offer(catalog, "aimlapi/\(behavior)/standard/720p")
            XCTAssertEqual(aiml.pricePerSecond, Money(decimal: "0.05", currency: .usd))
            XCTAssertEqual(aiml.source.confidence, .contract)
            XCTAssertEqual(aiml.source.readOn, "2026-11-01")
            XCTAssertEqual(aiml.source.note, "AC-11")
        }
        XCTAssertNil(try offer(catalog, "aimlapi/animate/standard/480p").pricePerSecond, "unnamed offers keep their (unknown) price")
        XCTAssertEqual(try offer(catalog, "apixo/replace/standard/480p").source.confidence, .contract)
        XCTAssertEqual(try offer(catalog, "apixo/animate/standard/480p").source.confidence, .published, "only the named behaviour")
        // The contract's billing rule applies: 3 s bills the 5 s minimum.
        let quote = catalog.quote(Job(duration: Seconds(whole: 3), resolution: .p720), providers: [ProviderID("aimlapi")!])
        XCTAssertEqual(quote.cheapest?.cost, Money(decimal: "0.25", currency: .usd))
        // Everything else is the built-in table.
        XCTAssertEqual(catalog.offers.count, try PriceCatalog.builtIn().offers.count)
    }

    func testEveryMistakeIsReportedWithItsPath() {
        let bad = SourceFile(name: "bad.json", text: """
        {"kind": "contract-prices", "version": 1, "providers": [
          {"id": "aimlap", "prices": [{"price_per_second": {"amount": "0.05", "currency": "USD"}, "read_on": "2026-11-01"}]},
          {"id": "aimlapi", "prices": [{"price_per_second": {"amount": "0.05", "currency": "USD"}, "read_on": "2026-11-01"}]},
          {"id": "apixo", "prices": [{"resolution": "580p", "price_per_second": {"amount": 0.05, "currency": "USD"}, "read_on": "2026-13-01"}]},
          {"id": "fal", "prices": [{"price_per_second": {"amount": "0.000000017", "currency": "USD"}, "read_on": "2026-11-01"}]}
        ]}
        """)
        XCTAssertThrowsError(try PriceCatalog.builtIn(overlays: [bad])) { error in
            guard case PricingError.invalid(let d) = error else { return XCTFail("\(error)") }
            let paths = d.compactMap(\.path)
            XCTAssertTrue(paths.contains("$.providers[0].id"), "\(d)")                      // unknown provider, with a guess
            XCTAssertTrue(d.contains { $0.message.contains("did you mean \"aimlapi\"") }, "\(d)")
            XCTAssertTrue(paths.contains("$.providers[1].billing"), "\(d)")                 // a price with no billing rule
            XCTAssertTrue(paths.contains("$.providers[2].prices[0].price_per_second.amount"), "\(d)")  // a JSON number
            XCTAssertTrue(paths.contains("$.providers[2].prices[0].read_on"), "\(d)")
            XCTAssertTrue(paths.contains("$.providers[3].prices[0].price_per_second.amount"), "\(d)")  // does not divide into 16 fps frames
        }
        XCTAssertTrue(DataFileValidator.validate([bad]).contains { $0.path == "$.providers[0].id" })
        XCTAssertEqual(DataFileValidator.validate([Self.contract]), [])
    }

    func testAPricingFileInAnOverlayReplacesItsProviderAndRatesAreOptionalForUSD() throws {
        let apixo = try XCTUnwrap(BuiltInDefaults.pricing.first { $0.name.hasSuffix("/apixo.json") })
        let dearer = SourceFile(name: "mine/apixo.json", text: apixo.text.replacingOccurrences(of: "\"0.04\"", with: "\"0.05\""))
        let catalog = try PriceCatalog.builtIn(overlays: [dearer])
        XCTAssertEqual(try offer(catalog, "apixo/animate/standard/480p").pricePerSecond, Money(decimal: "0.05", currency: .usd))
        // A directory of USD prices needs no exchange-rates file; a CNY price does.
        XCTAssertNoThrow(try PriceCatalog.load(files: [apixo]))
        let cn = try XCTUnwrap(BuiltInDefaults.pricing.first { $0.name.hasSuffix("/dashscope-cn.json") })
        XCTAssertThrowsError(try PriceCatalog.load(files: [cn])) { error in
            XCTAssertTrue("\(error)".contains("no exchange-rates file"), "\(error)")
        }
    }

    func testPriceAgeInDays() {
        let p = Provenance(url: "u", confidence: .published, readOn: "2026-11-20", note: nil)
        XCTAssertEqual(p.ageInDays(asOf: "2026-12-02"), 12)
        XCTAssertEqual(p.ageInDays(asOf: "2027-02-18"), 90)
        XCTAssertEqual(Provenance(url: "u", confidence: .published, readOn: "2024-02-28", note: nil).ageInDays(asOf: "2024-03-01"), 2)
        XCTAssertNil(p.ageInDays(asOf: "yesterday"))
        XCTAssertEqual(Provenance.dayNumber("1970-01-01"), 0)
    }
}
