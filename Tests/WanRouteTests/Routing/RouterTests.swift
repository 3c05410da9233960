import XCTest
@testable import WanRoute

final class RouterTests: XCTestCase {
    // MARK: explanations

    func testExplanationNamesTheRulesThatFiredAndEveryRejectedOffersReasons() throws {
        let d = try Policies.production().decide(job(.replace, "45", tags: ["customer": "film"]))
        XCTAssertNil(d.choice)
        XCTAssertTrue(d.isRefused)
        XCTAssertEqual(d.refusal, "no offer meets policy \"production\": 19 considered, all rejected")
        XCTAssertEqual(d.firedRules, ["film-replace", "long-clips", "customer-published"])
        XCTAssertEqual(d.rules.map(\.description), ["preview: did not match", "film-replace: fired", "long-clips: fired", "customer-published: fired"])
        // Every offer that sells replace is listed, each with at least one reason.
        XCTAssertEqual(d.rejected.count, Policies.catalog.quote(d.job).estimates.count)
        XCTAssertTrue(d.rejected.allSatisfy { !$0.reasons.isEmpty })
        XCTAssertEqual(d.reasons("dashscope-intl", .wanPro, .p720), [
            "45 s is above DashScope's 30 s limit",
            "provider dashscope-intl is denied by the policy (rule long-clips)",
            "price confidence third-party; the policy requires published (rule customer-published)",
            "costs USD 11.70, above the policy's USD 5.00 limit per job (rule film-replace)",
        ])
        XCTAssertEqual(d.rejected.first { $0.offer.key == "dashscope-intl/replace/wan-pro/720p" }?.description,
                       "dashscope-intl wan-pro 720p: 45 s is above DashScope's 30 s limit; provider dashscope-intl is denied by the policy (rule long-clips); price confidence third-party; the policy requires published (rule customer-published); costs USD 11.70, above the policy's USD 5.00 limit per job (rule film-replace)")
        XCTAssertEqual(d.reasons("fal", .standard, .p720), [
            "mode standard is not allowed by the policy (rule film-replace)",
            "wanroute has no adapter for fal.ai, so it can only be quoted; the policy does not allow quote-only providers",
        ])
        XCTAssertEqual(d.reasons("modellix", .wanPro, .p720), [
            "45 s is above Modellix's 30 s limit",
            "provider modellix is denied by the policy (rule long-clips)",
            "price confidence unknown; the policy requires published (rule customer-published)",
        ])
        XCTAssertTrue(d.description.contains("refused: no offer meets policy"))
    }

    func testAChoiceComesWithRankedAlternatesAndEstimatesEqualToTheQuote() throws {
        let d = try Policies.production().decide(job(.animate, "10"))
        XCTAssertEqual(d.choiceKey, "dashscope-cn/wan-std/720p")
        XCTAssertEqual(d.alternates.map { $0.offer.key }, ["dashscope-cn/animate/wan-pro/720p", "dashscope-intl/animate/wan-std/720p"])
        XCTAssertEqual(d.qualifyingCount, 6)
        let quote = Policies.catalog.quote(d.job)
        for r in [d.choice!] + d.alternates {
            XCTAssertEqual(r.estimate, quote.estimates.first { $0.offerIndex == r.offerIndex })
        }
        XCTAssertEqual(d.choice?.estimate.usd, usd("0.5624"))
        XCTAssertEqual(d.choice?.expectedLatencySeconds, 295)
        XCTAssertNotNil(d.choice?.score)
        XCTAssertEqual(d.choiceUSDNanos, 562_400_000)
        XCTAssertEqual(d.firedRules, [])
        XCTAssertEqual(d.failover.on, [.rateLimited, .providerError, .outOfBalance])
    }

    func testNoOfferSellingTheJobIsARefusalSayingSo() throws {
        let d = try Policies.production().decide(job(.animate, "10", .p580, .wanPro))
        XCTAssertNil(d.choice)
        XCTAssertEqual(d.rejected.count, 0)
        // What each provider does sell follows, so the fix is plain.
        XCTAssertTrue(d.refusal?.hasPrefix("no offer in the price catalog sells animate wan-pro 580p: aimlapi sells animate at 580p in standard mode only; apixo sells animate at 480p or 720p only; dashscope-cn sells animate at 720p only;") == true, d.refusal ?? "nil")
    }

    // MARK: objectives and tie-breaks

    func testCheapestCostTiesFollowTheQuoteOrder() throws {
        // APIXO and WaveSpeed both charge USD 0.40 for 10 s at 480p with published prices: provider id decides.
        let r = try Policies.router("\"objective\": \"cheapest\", \"constraints\": {\"allow_quote_only\": true, \"providers\": {\"deny\": [\"runware\", \"fal\"]}}")
        let d = r.decide(job(.animate, "10", .p480))
        XCTAssertEqual(d.choiceKey, "apixo/standard/480p")
        XCTAssertEqual(d.alternates.map(\.offer.provider.rawValue), ["wavespeed"])
    }

    func testATieBreakPreferenceDecidesOnlyTies() throws {
        let body = "\"objective\": \"cheapest\", \"prefer\": [\"wavespeed\"], \"constraints\": {\"allow_quote_only\": true, \"providers\": {\"deny\": [\"fal\"]}}"
        let r = try Policies.router(body)
        XCTAssertEqual(r.decide(job(.animate, "10", .p480)).choiceKey, "runware/standard/480p", "cheaper wins over preference")
        let tie = try Policies.router(body.replacingOccurrences(of: "\"fal\"", with: "\"fal\", \"runware\"")).decide(job(.animate, "10", .p480))
        XCTAssertEqual(tie.choiceKey, "wavespeed/standard/480p")
        XCTAssertEqual(tie.alternates.map(\.offer.provider.rawValue), ["apixo"])
    }

    func testAPreferenceRankedAheadBeatsTheObjective() throws {
        let r = try Policies.router("\"objective\": \"cheapest\", \"prefer\": {\"providers\": [\"dashscope-intl\", \"apixo\"], \"rank\": \"ahead\"}")
        let d = r.decide(job(.animate, "10"))
        XCTAssertEqual(d.choiceKey, "dashscope-intl/wan-std/720p")
        XCTAssertEqual(d.alternates.map(\.offer.key), ["dashscope-intl/animate/wan-pro/720p", "apixo/animate/standard/480p"])
    }

    func testFastestBreaksLatencyTiesByCost() throws {
        let d = try Policies.router("\"objective\": \"fastest\"").decide(job(.animate, "10"))
        XCTAssertEqual(d.choiceKey, "dashscope-cn/wan-std/720p")
        XCTAssertEqual(d.alternates.first?.offer.key, "dashscope-intl/animate/wan-std/720p")
        XCTAssertEqual(d.choice?.expectedLatencySeconds, d.alternates.first?.expectedLatencySeconds)
    }

    func testBestQualityBreaksQualityTiesByCost() throws {
        let d = try Policies.router("\"objective\": \"best-quality\"").decide(job(.replace, "10"))
        XCTAssertEqual(d.choiceKey, "dashscope-cn/wan-pro/720p")
        XCTAssertEqual(d.alternates.first?.offer.key, "dashscope-intl/replace/wan-pro/720p")
    }

    func testWeightedObjectiveNormalisesAcrossCandidates() throws {
        // All weight on quality is best-quality; all on latency is fastest, tie by cost.
        let q = try Policies.router("\"objective\": {\"weights\": {\"quality\": 1}}").decide(job(.replace, "10"))
        XCTAssertEqual(q.choice?.offer.quality, 90)
        XCTAssertEqual(q.choice?.score, 0)
        let c = try Policies.router("\"objective\": {\"weights\": {\"cost\": 1}}").decide(job(.replace, "10"))
        XCTAssertEqual(c.choiceKey, "apixo/standard/480p")
        XCTAssertEqual(c.alternates.last.flatMap(\.score).map { $0 > 0 }, true)
    }

    func testTheAlternatesCountFollowsTheFailoverPlan() throws {
        let r = try Policies.router("\"objective\": \"cheapest\", \"failover\": {\"alternates\": 4, \"on\": [\"timeout\", \"auth\"]}")
        let d = r.decide(job(.animate, "10"))
        XCTAssertEqual(d.alternates.count, 4)
        XCTAssertTrue(d.failover.failsOver(on: .timeout))
        XCTAssertFalse(d.failover.failsOver(on: .rateLimited))
        let none = try Policies.router("\"objective\": \"cheapest\", \"failover\": {\"alternates\": 0}").decide(job(.animate, "10"))
        XCTAssertEqual(none.alternates.count, 0)
        XCTAssertNotNil(none.choice)
        XCTAssertEqual(FailureClass.allCases.map(\.rawValue), ["rate-limited", "provider-error", "timeout", "out-of-balance", "auth", "content-refused", "bad-input", "failed"])
    }

    // MARK: constraints

    func testProviderModeAndResolutionFilters() throws {
        let r = try Policies.router("""
            "objective": "cheapest", "constraints": {"providers": {"allow": ["apixo", "dashscope-intl"], "deny": ["apixo"]},
            "modes": {"deny": ["wan-std"]}, "resolutions": {"allow": ["720p"]}}
            """)
        let d = r.decide(job(.animate, "10"))
        XCTAssertEqual(d.choiceKey, "dashscope-intl/wan-pro/720p")
        XCTAssertEqual(d.reasons("apixo", .standard, .p480), ["provider apixo is denied by the policy", "resolution 480p is not allowed by the policy"])
        XCTAssertEqual(d.reasons("dashscope-intl", .wanStd, .p720), ["mode wan-std is not allowed by the policy"])
        XCTAssertTrue(d.reasons("dashscope-cn", .wanStd, .p720).contains("provider dashscope-cn is not among those the policy allows"))
    }

    func testMaximumCostIsComparedInUSDIncludingConvertedLimits() throws {
        let r = try Policies.router("\"objective\": \"best-quality\", \"constraints\": {\"max_cost\": {\"amount\": \"10\", \"currency\": \"CNY\"}}")
        // 10 CNY = USD 1.406: DashScope China pro at 10 s is 9 CNY (USD 1.2654), international 2.60.
        let d = r.decide(job(.replace, "10"))
        XCTAssertEqual(d.choiceKey, "dashscope-cn/wan-pro/720p")
        XCTAssertEqual(d.reasons("dashscope-intl", .wanPro, .p720), ["costs USD 2.60, above the policy's CNY 10.00 limit per job"])
        XCTAssertThrowsError(try Router(policy: Policy(name: "x", constraints: Constraints(maxCost: Money(nanos: 1, currency: Currency(code: "EUR")!))), catalog: Policies.catalog)) {
            XCTAssertEqual($0 as? PolicyError, .noExchangeRate(Currency(code: "EUR")!))
        }
    }

    func testMaximumLatencyMinimumQualityAndConfidence() throws {
        let r = try Policies.router("""
            "objective": "cheapest", "constraints": {"max_latency_seconds": "420", "min_quality": 60, "min_confidence": "published"}
            """)
        let d = r.decide(job(.replace, "10"))
        XCTAssertEqual(d.choiceKey, "dashscope-cn/wan-std/720p")
        XCTAssertEqual(d.reasons("apixo", .standard, .p480), ["quality 55 is below the policy's minimum of 60"])
        XCTAssertEqual(d.reasons("apixo", .standard, .p720), ["expected to take 560 s, above the policy's 420 s limit"])
        XCTAssertEqual(d.reasons("dashscope-intl", .wanStd, .p720), ["price confidence third-party; the policy requires published"])
    }

    func testUnpricedOffersAreRefusedUnlessTheConfidenceFloorIsUnknown() throws {
        let strict = try Policies.router("\"objective\": \"fastest\"").decide(job(.animate, "10", nil, .wanStd))
        XCTAssertEqual(strict.reasons("modellix", .wanStd, .p720), ["price confidence unknown; the policy requires third-party"])
        let loose = try Policies.router("\"objective\": \"cheapest\", \"constraints\": {\"min_confidence\": \"unknown\", \"providers\": {\"allow\": [\"modellix\", \"aimlapi\"]}}")
        let d = loose.decide(job(.animate, "10", .p720))
        XCTAssertEqual(d.choiceKey, "aimlapi/standard/720p", "unpriced offers tie on cost; the quote order decides")
        XCTAssertNil(d.choice?.estimate.usd)
        // A cost limit cannot be checked on an unknown cost.
        let limited = try Policies.router("\"objective\": \"cheapest\", \"constraints\": {\"min_confidence\": \"unknown\", \"max_cost\": {\"amount\": \"1\", \"currency\": \"USD\"}, \"providers\": {\"allow\": [\"modellix\"]}}")
        XCTAssertEqual(limited.decide(job(.animate, "10", .p720, .wanStd)).reasons("modellix", .wanStd, .p720),
                       ["its cost is unknown, so the policy's USD 1.00 limit per job cannot be checked"])
    }

    func testQuoteOnlyProvidersAreRefusedByDefaultAndAllowedExplicitly() throws {
        let d = try Policies.router("\"objective\": \"cheapest\"").decide(job(.replace, "10", .p480))
        XCTAssertEqual(d.choiceKey, "apixo/standard/480p")
        XCTAssertEqual(d.reasons("runware", .standard, .p480), ["wanroute has no adapter for Runware, so it can only be quoted; the policy does not allow quote-only providers"])
        let allowed = try Policies.router("\"objective\": \"cheapest\", \"constraints\": {\"allow_quote_only\": true}").decide(job(.replace, "10", .p480))
        XCTAssertEqual(allowed.choiceKey, "runware/standard/480p")
    }

    func testProviderInputLimitsRejectWithTheProvidersSentence() throws {
        let d = try Policies.router("\"objective\": \"cheapest\"").decide(job(.animate, "1.5", nil, .wanPro))
        XCTAssertEqual(d.reasons("dashscope-intl", .wanPro, .p720), ["1.5 s is below DashScope's 2 s minimum"])
        var j = job(.animate, "10", .p480)
        j.video = MediaFacts(format: "mkv")
        let apixo = try Policies.router("\"objective\": \"cheapest\"").decide(j)
        XCTAssertEqual(apixo.reasons("apixo", .standard, .p480).count, 1)
        XCTAssertTrue(apixo.reasons("apixo", .standard, .p480)[0].contains("does not accept MKV videos"))
    }

    // MARK: rules

    func testRulesChangeTheObjectiveAddConstraintsAndStop() throws {
        let r = try Policies.router("""
            "objective": "cheapest",
            "rules": [
              {"id": "pro", "when": {"tags": {"tier": "gold"}}, "objective": "best-quality", "stop": true},
              {"id": "cap", "constraints": {"max_cost": {"amount": "0.30", "currency": "USD"}}}
            ]
            """)
        let gold = r.decide(job(.animate, "10", tags: ["tier": "gold"]))
        XCTAssertEqual(gold.choice?.offer.quality, 90)
        XCTAssertEqual(gold.rules, [RuleOutcome(id: "pro", status: .fired), RuleOutcome(id: "cap", status: .notEvaluated(stoppedBy: "pro"))])
        XCTAssertEqual(gold.objective, .bestQuality)
        let plain = r.decide(job(.animate, "10"))
        XCTAssertEqual(plain.firedRules, ["cap"])
        XCTAssertNil(plain.choice)
        XCTAssertEqual(plain.reasons("apixo", .standard, .p480), ["costs USD 0.40, above the policy's USD 0.30 limit per job (rule cap)"])
        // A rule's limit never loosens the policy's.
        let tighter = try Policies.router("""
            "objective": "cheapest", "constraints": {"max_cost": {"amount": "0.10", "currency": "USD"}},
            "rules": [{"id": "loose", "constraints": {"max_cost": {"amount": "100", "currency": "USD"}}}]
            """)
        XCTAssertEqual(tighter.decide(job(.animate, "10")).reasons("apixo", .standard, .p480), ["costs USD 0.40, above the policy's USD 0.10 limit per job"])
    }

    func testARulesPreferenceReplacesThePolicys() throws {
        let r = try Policies.router("""
            "objective": "cheapest", "prefer": {"providers": ["apixo"], "rank": "ahead"},
            "rules": [{"id": "eu", "when": {"tags": {"region": "eu"}}, "prefer": {"providers": ["dashscope-intl"], "rank": "ahead"}}]
            """)
        XCTAssertEqual(r.decide(job(.animate, "10")).choice?.offer.provider.rawValue, "apixo")
        XCTAssertEqual(r.decide(job(.animate, "10", tags: ["region": "eu"])).choice?.offer.provider.rawValue, "dashscope-intl")
    }

    // MARK: budgets

    func testBudgetsCountSpentAndReservedPerTagValueAndPerProvider() throws {
        let r = try Policies.router("""
            "objective": "cheapest",
            "budgets": [
              {"id": "per-project", "tag": "project", "monthly": {"amount": "100", "currency": "USD"}},
              {"id": "apixo", "provider": "apixo", "monthly": {"amount": "50", "currency": "USD"}}
            ]
            """)
        let j = job(.animate, "10", .p480, tags: ["project": "x"])
        XCTAssertEqual(r.decide(j).choiceKey, "apixo/standard/480p")
        // The project has USD 0.30 left once reservations count: every offer is refused.
        let nearlySpent = SpendSnapshot(spent: [.tag("project", "x"): usd("99.50")], reserved: [.tag("project", "x"): usd("0.20")])
        let d = r.decide(j, spend: nearlySpent)
        XCTAssertNil(d.choice)
        XCTAssertEqual(d.reasons("apixo", .standard, .p480), ["costs USD 0.40, but budget \"per-project\" (tag:project=x) has USD 0.30 left of USD 100.00 this month"])
        // Another project's spend does not count.
        XCTAssertNotNil(r.decide(job(.animate, "10", .p480, tags: ["project": "y"]), spend: nearlySpent).choice)
        // A provider budget only rejects that provider's offers.
        var apixoSpent = SpendSnapshot()
        apixoSpent.addSpent(usd("49.90"), to: .provider(ProviderID("apixo")!))
        let p = r.decide(job(.animate, "10"), spend: apixoSpent)
        XCTAssertEqual(p.choiceKey, "dashscope-cn/wan-std/720p")
        XCTAssertEqual(p.reasons("apixo", .standard, .p480), ["costs USD 0.40, but budget \"apixo\" (provider:apixo) has USD 0.10 left of USD 50.00 this month"])
        XCTAssertEqual(BudgetKey("tag:customer=film"), .tag("customer", "film"))
        XCTAssertEqual(BudgetKey("provider:apixo")?.description, "provider:apixo")
        XCTAssertNil(BudgetKey("customer"))
    }

    // MARK: the decision is a shareable value

    func testDecisionsAreTheSameFromManyThreads() throws {
        let r = try Policies.production()
        let jobs = (1...50).map { job($0 % 2 == 0 ? .animate : .replace, "\($0)", tags: $0 % 3 == 0 ? ["customer": "film"] : [:]) }
        let expected = jobs.map { r.decide($0).choiceKey }
        let mismatches = Mismatches()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            if jobs.map({ r.decide($0).choiceKey }) != expected { mismatches.add() }
        }
        XCTAssertEqual(mismatches.count, 0)
    }
}

final class Mismatches: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.lock(); n += 1; lock.unlock() }
    var count: Int { lock.lock(); defer { lock.unlock() }; return n }
}
