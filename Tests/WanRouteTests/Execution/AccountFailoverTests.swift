import XCTest
@testable import WanRoute

/// Failover that changes account, actual costs the providers report, costs in USD beside the
/// native currency, costs far from the estimate, per-provider in-flight limits. Against the
/// simulator over loopback, with virtual time.
extension ExecutorTests {
    /// Both DashScope regions, every mode, the Beijing account preferred, so its wan-pro ranks
    /// right after its wan-std.
    func dashscopeDecision(_ j: Job, on: [String], alternates: Int = 1) throws -> Decision {
        try Policies.router("""
        "objective": "cheapest", "constraints": {"providers": {"allow": ["dashscope-cn", "dashscope-intl"]}},
        "prefer": {"providers": ["dashscope-cn"], "rank": "ahead"},
        "failover": {"alternates": \(alternates), "on": [\(on.map { "\"\($0)\"" }.joined(separator: ", "))]}
        """).decide(j)
    }

    func testAnAccountFailureFailsOverToAnotherAccountNotTheNextModeOfTheSameOne() async throws {
        let executor = try executor(script: [FaultRule(.outOfBalance, provider: .dashscope, endpoint: .submit)])
        let j = job(.animate, "10", .p720)
        let decision = try dashscopeDecision(j, on: ["out-of-balance"])
        XCTAssertEqual(decision.choiceKey, "dashscope-cn/wan-std/720p")
        XCTAssertEqual(decision.alternates.map { "\($0.offer.provider)/\($0.offer.mode.rawValue)" }, ["dashscope-cn/wan-pro"])
        let report = await executor.run(order(j, seconds: "10"), decision: decision)
        XCTAssertEqual(report.status, .succeeded, report.message)
        XCTAssertEqual(report.attempts.map { "\($0.provider)/\($0.mode.rawValue)/\($0.outcome.rawValue)" },
                       ["dashscope-cn/wan-std/submit-failed", "dashscope-cn/wan-pro/skipped-same-account", "dashscope-intl/wan-std/succeeded"])
        XCTAssertEqual(report.provider, ProviderEndpoints.dashscopeIntl)
        XCTAssertEqual(report.mode, .wanStd, "never the dearer mode of the account that is out of money")
        XCTAssertEqual(simulator.submissionCount(ProviderEndpoints.dashscopeCN), 1)
        XCTAssertEqual(report.message, "done on dashscope-intl; failed over from dashscope-cn: out of balance")
        XCTAssertEqual(report.actualCost, usd("1.20"), "a refused submission adds nothing")
    }

    func testAnAccountThatKeepsRefusingIsCooledDownForTheJobsThatFollow() async throws {
        var options = ExecutorOptions()
        options.cooldownAfter = 2
        let executor = try executor(script: [FaultRule(.outOfBalance, provider: .apixo, endpoint: .submit, times: 5)], options: options)
        let j = job(.animate, "10", .p720)
        let decision = try decide(j, providers: ["apixo", "dashscope-intl"], failoverOn: ["out-of-balance"])
        var outcomes: [[AttemptOutcome]] = []
        for i in 1...3 {
            outcomes.append(await executor.run(order(j, seconds: "10", id: "j\(i)"), decision: decision).attempts.map(\.outcome))
        }
        XCTAssertEqual(outcomes, [[.submitFailed, .succeeded], [.submitFailed, .succeeded], [.skippedCoolingDown, .succeeded]])
        XCTAssertEqual(simulator.submissionCount(ProviderEndpoints.apixo), 2)
    }

    func testAFailedTaskStillFailsOverToTheNextModeOfTheSameAccount() async throws {
        let executor = try executor(script: [FaultRule(.taskFails, provider: .dashscope, endpoint: .submit)])
        let j = job(.animate, "10", .p720)
        let report = await executor.run(order(j, seconds: "10"), decision: try dashscopeDecision(j, on: ["failed"]))
        XCTAssertEqual(report.status, .succeeded, report.message)
        XCTAssertEqual(report.attempts.map { "\($0.provider)/\($0.mode.rawValue)" }, ["dashscope-cn/wan-std", "dashscope-cn/wan-pro"])
        XCTAssertTrue(report.message.hasSuffix("failed over from dashscope-cn: failed"), report.message)
    }

    func testRateLimitsFailOverToAnotherAccount() async throws {
        var options = ExecutorOptions()
        options.submitAttempts = 2
        let executor = try executor(script: [FaultRule(.rateLimited(retryAfter: 1), provider: .dashscope, endpoint: .submit, times: 2)], options: options)
        let j = job(.animate, "10", .p720)
        let report = await executor.run(order(j, seconds: "10"), decision: try dashscopeDecision(j, on: ["rate-limited"], alternates: 2))
        XCTAssertEqual(report.status, .succeeded, report.message)
        XCTAssertEqual(report.attempts.map(\.outcome), [.submitFailed, .skippedSameAccount, .succeeded])
        XCTAssertEqual(report.provider, ProviderEndpoints.dashscopeIntl)
        XCTAssertTrue(report.message.contains("failed over from dashscope-cn: rate limited"), report.message)
    }

    func testANativeCurrencyCostCarriesItsUSDBesideIt() async throws {
        let executor = try executor()
        let j = job(.animate, "10", .p720)
        let report = await executor.run(order(j, seconds: "10"), decision: try dashscopeDecision(j, on: []))
        XCTAssertEqual(report.status, .succeeded, report.message)
        XCTAssertEqual(report.actualCost?.currency, .cny)
        let cny = try XCTUnwrap(report.actualCost)
        XCTAssertEqual(report.actualUSD, Policies.catalog.exchangeRates.usd(cny))
        XCTAssertEqual(report.estimatedUSD, Policies.catalog.exchangeRates.usd(try XCTUnwrap(report.estimatedCost)))
        let line = report.jsonLine
        XCTAssertTrue(line.contains(#""actual_usd":{"amount":"\#(report.actualUSD!.decimalString)","currency":"USD","converted":true}"#), line)
        XCTAssertNil(report.costAlert)
    }

    func testAnActualCostFarFromTheEstimateIsFlagged() async throws {
        let executor = try executor()
        // The job says 10 s; the provider bills the 15 s the video really runs.
        let j = job(.animate, "10", .p720)
        let report = await executor.run(order(j, seconds: "15"), decision: try decide(j, providers: ["dashscope-intl"], failoverOn: []))
        XCTAssertEqual(report.status, .succeeded, report.message)
        XCTAssertEqual(report.estimatedCost, usd("1.20"))
        XCTAssertEqual(report.actualCost, usd("1.80"))
        XCTAssertEqual(report.costAlert, "the actual cost USD 1.80 is 50% above the estimate USD 1.20")
        XCTAssertTrue(report.message.hasSuffix("; the actual cost USD 1.80 is 50% above the estimate USD 1.20"), report.message)
        // Within the tolerance nothing is flagged.
        let close = await executor.run(order(j, seconds: "10.5", id: "j2"), decision: try decide(j, providers: ["dashscope-intl"], failoverOn: []))
        XCTAssertEqual(close.actualCost, usd("1.26"))
        XCTAssertNil(close.costAlert)
    }

    func testTheAIMLAPIsReportedCreditsAreTheActualCost() async throws {
        let executor = try executor()
        let j = job(.animate, "7.5", .p720)
        let decision = try Policies.router("""
        "objective": "cheapest", "constraints": {"providers": {"allow": ["aimlapi"]}, "min_confidence": "unknown"}, "failover": {"alternates": 0, "on": []}
        """).decide(j)
        let report = await executor.run(order(j, seconds: "7.5"), decision: decision)
        XCTAssertEqual(report.status, .succeeded, report.message)
        XCTAssertNil(report.estimatedCost, "the AI/ML API publishes no price")
        XCTAssertEqual(report.billed?.credits, "1280000")
        XCTAssertEqual(report.actualCost, usd("0.64"), "1,280,000 credits at 2,000,000 a dollar")
        XCTAssertEqual(report.actualCostSource, .providerReported)
        XCTAssertEqual(simulator.billing.map(\.cost), [usd("0.64")])
    }

    func testPerProviderInFlightLimitsComeFromTheOptions() async throws {
        var options = ExecutorOptions()
        options.concurrency[ProviderEndpoints.dashscopeIntl] = 2
        _ = try executor(runningPolls: 3, options: options)
        let counting = InFlightCounter(makeAdapter(for: ProviderEndpoints.dashscopeIntl, baseURL: simulator.baseURL!, transport: URLSessionTransport(), now: { Date() })!)
        let executor = Executor(catalog: Policies.catalog, adapters: [counting.provider: counting], apiKeys: [counting.provider: Self.keys[counting.provider]!],
                                time: time, options: options, seed: 1)
        let j = job(.animate, "10", .p720)
        let decision = try decide(j, providers: ["dashscope-intl"], failoverOn: [])
        let reports = await executor.run((1...6).map { order(j, seconds: "10", id: "j\($0)") }, decider: Decisions(same: decision), concurrency: 6)
        XCTAssertEqual(reports.map(\.status), Array(repeating: .succeeded, count: 6))
        XCTAssertEqual(counting.peak, 2)
    }
}
