import WanRouteTestSupport
import XCTest
@testable import WanRoute

final class QuoteTests: XCTestCase {
    var catalog: PriceCatalog!

    override func setUpWithError() throws { catalog = try Repository.catalog() }

    func estimate(_ provider: String, _ mode: Mode, _ resolution: Resolution, seconds: String) throws -> Estimate {
        try estimate(provider, .animate, mode, resolution, seconds: seconds)
    }

    func estimate(_ provider: String, _ behavior: Behavior, _ mode: Mode, _ resolution: Resolution, seconds: String) throws -> Estimate {
        let job = Job(behavior: behavior, duration: Seconds(decimal: seconds)!, resolution: resolution, mode: mode)
        let quote = catalog.quote(job, providers: [ProviderID(provider)!])
        return try XCTUnwrap(quote.estimates.first)
    }

    // APIXO's own worked examples (Billing section of its API page).
    func testAPIXOBillsAFiveSecondMinimum() throws {
        let e = try estimate("apixo", .standard, .p480, seconds: "3")
        XCTAssertEqual(e.billableSeconds, Seconds(whole: 5))
        XCTAssertEqual(e.cost, Money(decimal: "0.20", currency: .usd))
        XCTAssertTrue(e.isEligible)
    }

    func testAPIXOCapsAt120Seconds() throws {
        let e = try estimate("apixo", .standard, .p720, seconds: "150")
        XCTAssertEqual(e.billableSeconds, Seconds(whole: 120))
        XCTAssertEqual(e.cost, Money(decimal: "9.60", currency: .usd))
    }

    func testAPIXORoundsAFractionOfASecondUp() throws {
        // Documented rule (pricing/apixo.json billing.notes): whole seconds, rounded up.
        let e = try estimate("apixo", .standard, .p480, seconds: "12.345")
        XCTAssertEqual(e.billableSeconds, Seconds(whole: 13))
        XCTAssertEqual(e.cost, Money(decimal: "0.52", currency: .usd))
        XCTAssertEqual(try estimate("apixo", .standard, .p480, seconds: "12").cost, Money(decimal: "0.48", currency: .usd))
    }

    func testWaveSpeedMatchesTheSameWorkedExamples() throws {
        XCTAssertEqual(try estimate("wavespeed", .standard, .p480, seconds: "3").cost, Money(decimal: "0.20", currency: .usd))
        XCTAssertEqual(try estimate("wavespeed", .standard, .p720, seconds: "150").cost, Money(decimal: "9.60", currency: .usd))
    }

    func testDashScopeHasNoMinimumAndBillsTenthsOfASecond() throws {
        let short = try estimate("dashscope-intl", .wanStd, .p720, seconds: "2.0")
        XCTAssertTrue(short.isEligible)
        XCTAssertEqual(short.cost, Money(decimal: "0.24", currency: .usd))
        // DashScope's own example reports usage.video_duration 5.2 for a wan-std clip.
        XCTAssertEqual(try estimate("dashscope-intl", .wanStd, .p720, seconds: "5.2").cost, Money(decimal: "0.624", currency: .usd))
        XCTAssertEqual(try estimate("dashscope-intl", .wanStd, .p720, seconds: "5.21").billableSeconds, Seconds(decimal: "5.3"))
    }

    func testDashScopeRefusesOutsideTwoToThirtySeconds() throws {
        let tooShort = try estimate("dashscope-intl", .wanStd, .p720, seconds: "1.99")
        XCTAssertEqual(tooShort.reasons.map(\.description), ["1.99 s is below DashScope's 2 s minimum"])
        let tooLong = try estimate("dashscope-intl", .wanPro, .p720, seconds: "31")
        XCTAssertFalse(tooLong.isEligible)
        XCTAssertEqual(tooLong.reasons.map(\.description), ["31 s is above DashScope's 30 s limit"])
        XCTAssertNotNil(tooLong.cost, "an ineligible offer still shows what it would cost")
        XCTAssertTrue(try estimate("dashscope-intl", .wanPro, .p720, seconds: "30").isEligible)
    }

    func testFalCountsFramesAtSixteenPerSecond() throws {
        // 12.345 s × 16 = 197.52 frames → 198 frames = 12.375 s × 0.04 = 0.495
        let e = try estimate("fal", .replace, .standard, .p480, seconds: "12.345")
        XCTAssertEqual(e.billableUnits, 198)
        XCTAssertEqual(e.billableSeconds, Seconds(decimal: "12.375"))
        XCTAssertEqual(e.cost, Money(decimal: "0.495", currency: .usd))
    }

    func testYuanPricesAreConvertedAndLabelled() throws {
        let e = try estimate("dashscope-cn", .replace, .wanStd, .p720, seconds: "10")
        XCTAssertEqual(e.cost, Money(decimal: "6", currency: .cny))
        XCTAssertEqual(e.usd, Money(decimal: "0.8436", currency: .usd))
        XCTAssertTrue(e.usdIsConverted)
        let usd = try estimate("apixo", .standard, .p480, seconds: "10")
        XCTAssertFalse(usd.usdIsConverted)
    }

    func testUnknownPriceIsNilNeverZero() throws {
        let e = try estimate("modellix", .wanStd, .p720, seconds: "10")
        XCTAssertNil(e.cost)
        XCTAssertNil(e.usd)
        XCTAssertNil(e.billableSeconds)
        XCTAssertTrue(e.isEligible)
    }

    func testQuoteOrdersCheapestEligibleFirstThenUnknownThenIneligible() throws {
        let quote = catalog.quote(Job(duration: Seconds(whole: 45)))
        let offers = quote.estimates.map { catalog.offers[$0.offerIndex] }
        XCTAssertEqual(offers.first?.key, "runware/animate/standard/480p")
        XCTAssertEqual(quote.cheapest?.cost, Money(decimal: "0.45", currency: .usd))
        let firstUnknown = try XCTUnwrap(quote.estimates.firstIndex { $0.cost == nil })
        let firstIneligible = try XCTUnwrap(quote.estimates.firstIndex { !$0.isEligible })
        XCTAssertLessThan(firstUnknown, firstIneligible)
        XCTAssertTrue(quote.estimates[..<firstUnknown].allSatisfy { $0.isEligible && $0.usd != nil })
        let eligibleCosts = quote.estimates[..<firstUnknown].map { $0.usd!.nanos }
        XCTAssertEqual(eligibleCosts, eligibleCosts.sorted())
        XCTAssertTrue(quote.estimates[firstIneligible...].allSatisfy { !$0.isEligible })
        // Every animate offer is listed, eligible or not.
        XCTAssertEqual(quote.estimates.count, catalog.offers.filter { $0.behavior == .animate }.count)
    }

    func testQuoteFiltersByResolutionModeAndProvider() {
        let quote = catalog.quote(Job(behavior: .replace, duration: Seconds(whole: 10), resolution: .p720, mode: .wanPro),
                                  providers: [ProviderID("dashscope-intl")!, ProviderID("dashscope-cn")!])
        XCTAssertEqual(quote.estimates.map { catalog.offers[$0.offerIndex].key }.sorted(),
                       ["dashscope-cn/replace/wan-pro/720p", "dashscope-intl/replace/wan-pro/720p"])
    }

    func testInputLimitsFromMediaFacts() throws {
        var job = Job(duration: Seconds(whole: 10), resolution: .p720, mode: .wanStd)
        job.video = MediaFacts(format: "m4v", width: 2160, height: 3840, sizeBytes: 250_000_000, url: "https://example.com/tänzer.m4v")
        job.image = MediaFacts(format: "png", width: 100, height: 400, sizeBytes: 6_000_000)
        let e = try XCTUnwrap(catalog.quote(job, providers: [ProviderID("dashscope-intl")!]).estimates.first)
        XCTAssertEqual(e.reasons.map(\.description), [
            "DashScope does not accept M4V videos (it takes MP4, AVI, MOV)",
            "the video is 2160x3840 px; DashScope allows each side at most 2048 px",
            "the video is 250 MB; DashScope accepts at most 200 MB",
            "the video URL has non-ASCII characters, which DashScope refuses; percent-encode them",
            "the image is 100x400 px; DashScope needs each side at least 200 px",
            "the image's aspect 100x400 is outside DashScope's range from 1:3 to 3:1",
            "the image is 6 MB; DashScope accepts at most 5 MB",
        ])
    }

    // MARK: honest eligibility

    func testUnsoldCombinationsSayWhatTheProviderDoesSell() {
        let at580 = Job(behavior: .animate, duration: Seconds(whole: 12), resolution: .p580)
        XCTAssertEqual(catalog.unsold(at580, providers: [ProviderID("apixo")!]), ["apixo sells animate at 480p or 720p only"])
        let wanPro480 = Job(behavior: .replace, duration: Seconds(whole: 12), resolution: .p720, mode: .standard)
        XCTAssertEqual(catalog.unsold(wanPro480, providers: [ProviderID("dashscope-cn")!]),
                       ["dashscope-cn sells replace at 720p in wan-pro or wan-std mode only"])
        XCTAssertEqual(catalog.unsold(at580, providers: [ProviderID("runware")!]), [], "runware sells it")
    }

    func testSeedOffersAreComplete() {
        // fal serves both behaviours (animate at .../animate/move, price not read: unknown), the
        // AI/ML API both models.
        for (provider, behavior) in [("fal", Behavior.animate), ("fal", .replace), ("aimlapi", .animate), ("aimlapi", .replace)] {
            let offers = catalog.offers.filter { $0.provider.rawValue == provider && $0.behavior == behavior }
            XCTAssertEqual(Set(offers.map(\.resolution)), [.p480, .p580, .p720], "\(provider) \(behavior)")
        }
        let falAnimate = catalog.offers.filter { $0.provider.rawValue == "fal" && $0.behavior == .animate }
        XCTAssertTrue(falAnimate.allSatisfy { $0.pricePerSecond == nil && $0.source.confidence == .unknown })
    }

    func testLimitsNotPublishedAndUncheckedLimitsAreDistinct() throws {
        let video = MediaFacts(url: "https://cdn.example/a.mp4")  // named but not probed
        let job = Job(duration: Seconds(whole: 10), video: video)
        let quote = catalog.quote(job, providers: [ProviderID("wavespeed")!, ProviderID("dashscope-intl")!])
        let wavespeed = try XCTUnwrap(quote.estimates.first { catalog.offers[$0.offerIndex].provider.rawValue == "wavespeed" })
        XCTAssertTrue(wavespeed.isEligible)
        XCTAssertFalse(wavespeed.limitsPublished)
        XCTAssertEqual(wavespeed.unchecked, [])
        let dashscope = try XCTUnwrap(quote.estimates.first { catalog.offers[$0.offerIndex].provider.rawValue == "dashscope-intl" })
        XCTAssertTrue(dashscope.limitsPublished)
        XCTAssertEqual(dashscope.unchecked, [.format(.video), .pixelSize(.video), .aspectRatio(.video), .fileSize(.video)])
    }

    func testTheAIMLAPIURLRuleNamesHTTPSAndDataURIs() throws {
        let job = Job(duration: Seconds(whole: 10), video: MediaFacts(url: "http://cdn.example/a.mp4"))
        let e = try XCTUnwrap(catalog.quote(job, providers: [ProviderID("aimlapi")!]).estimates.first)
        XCTAssertEqual(e.reasons.map(\.description), ["AI/ML API takes the video only as HTTPS URLs or data URIs, not http"])
        let inline = Job(duration: Seconds(whole: 10), image: MediaFacts(url: "data:image/png;base64,iVBORw0KGgo="))
        XCTAssertTrue(try XCTUnwrap(catalog.quote(inline, providers: [ProviderID("aimlapi")!]).estimates.first).isEligible)
        let dashscope = try XCTUnwrap(catalog.quote(inline, providers: [ProviderID("dashscope-intl")!]).estimates.first)
        XCTAssertEqual(dashscope.reasons.map(\.description), ["DashScope takes the image only as HTTP or HTTPS URLs, not data"])
    }
}
