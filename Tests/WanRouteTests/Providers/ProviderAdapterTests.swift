import Foundation
import XCTest
@testable import WanRoute

/// Every adapter against the simulator over real loopback HTTP: success and every fault.
final class ProviderAdapterTests: XCTestCase {
    var kit: ProviderTestKit!
    let key = ProviderTestKit.key

    override func setUpWithError() throws { kit = try ProviderTestKit() }
    override func tearDown() { kit.stop() }

    /// Submits and polls to the end; returns the task id and the states seen.
    func run(_ provider: ProviderID, _ request: GenerationRequest? = nil) async throws -> (String, [TaskState]) {
        let adapter = kit.adapter(provider)
        let id = try await adapter.submit(request ?? ProviderTestKit.request(provider), apiKey: key)
        var states: [TaskState] = []
        for _ in 0..<5 {
            let state = try await adapter.status(taskID: id, apiKey: key)
            states.append(state)
            if case .succeeded = state { break }
            if case .failed = state { break }
        }
        return (id, states)
    }

    func testFinishedTasksAreFreedBeyondTheRetainedCount() async throws {
        kit.stop()
        var configuration = ProviderSimulator.Configuration(apiKey: key)
        configuration.retainedFinishedTasks = 5
        kit = try ProviderTestKit(configuration)
        let provider = ProviderEndpoints.apixo
        var last = ""
        for _ in 0..<40 {
            let (id, states) = try await run(provider)
            guard case .succeeded = states.last else { return XCTFail("\(states)") }
            last = id
        }
        XCTAssertLessThanOrEqual(kit.simulator.tasks.count, 10, "finished tasks beyond the retained count are freed")
        XCTAssertLessThanOrEqual(kit.simulator.billing.count, 10)
        XCTAssertNotNil(kit.simulator.task(last), "the newest tasks are kept")
        XCTAssertEqual(kit.simulator.submissionCount(provider), 40)
    }

    func testEachProviderProgressesQueuedRunningSucceeded() async throws {
        for provider in ProviderTestKit.providers {
            let (id, states) = try await run(provider)
            XCTAssertEqual(states.count, 3, "\(provider)")
            XCTAssertEqual(states[0], .queued, "\(provider)")
            XCTAssertEqual(states[1], .running, "\(provider)")
            guard case .succeeded(let url, let billed) = states[2] else { return XCTFail("\(provider): \(states[2])") }
            XCTAssertEqual(url, "https://results.simulator.invalid/\(provider.rawValue)/\(id).mp4")
            switch provider {
            case ProviderEndpoints.dashscopeIntl:
                XCTAssertEqual(billed, BilledQuantity(seconds: Seconds(decimal: "7.5"), ratio: "standard"))
            case ProviderEndpoints.aimlapi:
                // 8 started seconds at 160,000 credits; USD 1 buys 2,000,000 credits.
                XCTAssertEqual(billed, BilledQuantity(credits: "1280000", cost: Money(decimal: "0.64", currency: .usd)))
            default:
                XCTAssertNil(billed, "\(provider)")
            }
            XCTAssertEqual(kit.simulator.submissionCount(provider), 1)
        }
        XCTAssertEqual(kit.simulator.submissionCount(), 4)
    }

    func testBillingRecordFollowsEachProvidersRule() async throws {
        _ = try await run(ProviderEndpoints.dashscopeIntl)  // 7.5 s at 0.12 USD/s
        _ = try await run(ProviderEndpoints.apixo, ProviderTestKit.request(ProviderEndpoints.apixo, duration: "3"))  // 5 s minimum
        _ = try await run(ProviderEndpoints.aimlapi)
        _ = try await run(ProviderEndpoints.modellix)
        let bills = Dictionary(uniqueKeysWithValues: kit.simulator.billing.map { ($0.provider, $0) })
        XCTAssertEqual(bills[ProviderEndpoints.dashscopeIntl]?.cost, Money(decimal: "0.90", currency: .usd))
        XCTAssertEqual(bills[ProviderEndpoints.dashscopeIntl]?.billedSeconds, Seconds(decimal: "7.5"))
        XCTAssertEqual(bills[ProviderEndpoints.apixo]?.cost, Money(decimal: "0.20", currency: .usd))
        XCTAssertEqual(bills[ProviderEndpoints.apixo]?.billedSeconds, Seconds(whole: 5))
        XCTAssertEqual(bills[ProviderEndpoints.aimlapi]?.cost, Money(decimal: "0.64", currency: .usd), "its credits' worth")
        XCTAssertEqual(bills[ProviderEndpoints.aimlapi]?.reported?.credits, "1280000")
        XCTAssertNil(bills[ProviderEndpoints.modellix]?.cost)
    }

    func testDashScopeReportsUsageRoundedUpToATenthAndFailuresAreFree() async throws {
        kit.simulator.inject(FaultRule(.taskFails, provider: .dashscope, endpoint: .submit, skip: 1))
        let provider = ProviderEndpoints.dashscopeIntl
        let (_, ok) = try await run(provider, ProviderTestKit.request(provider, duration: "5.23"))
        guard case .succeeded(_, let billed) = ok.last else { return XCTFail("\(ok)") }
        XCTAssertEqual(billed?.seconds, Seconds(decimal: "5.3"))
        let (_, failed) = try await run(provider)
        guard case .failed(.providerError) = failed.last else { return XCTFail("\(failed)") }
        XCTAssertEqual(kit.simulator.billing.map(\.cost), [Money(decimal: "0.636", currency: .usd), Money.zero(.usd)])
    }

    func testRateLimitOnSubmitCarriesTheDelay() async throws {
        for provider in ProviderTestKit.providers {
            kit.simulator.inject(FaultRule(.rateLimited(retryAfter: 3), provider: ProviderTestKit.family(provider), endpoint: .submit, times: 2))
            for _ in 0..<2 {
                let e = await thrownError { () async throws(ProviderError) in try await self.kit.adapter(provider).submit(ProviderTestKit.request(provider), apiKey: self.key) }
                XCTAssertEqual(e?.failureClass, .rateLimited, "\(provider)")
                XCTAssertEqual(e?.retryAfter, Seconds(whole: 3), "\(provider)")
            }
            // The third submission goes through.
            _ = try await kit.adapter(provider).submit(ProviderTestKit.request(provider), apiKey: key)
        }
        XCTAssertEqual(kit.simulator.tasks.count, 4)
    }

    func testRateLimitOnStatusAndWithoutHeader() async throws {
        for provider in ProviderTestKit.providers {
            let adapter = kit.adapter(provider)
            let id = try await adapter.submit(ProviderTestKit.request(provider), apiKey: key)
            kit.simulator.inject(FaultRule(.rateLimited(retryAfter: nil), provider: ProviderTestKit.family(provider), endpoint: .status))
            let e = await thrownError { () async throws(ProviderError) in try await adapter.status(taskID: id, apiKey: self.key) }
            XCTAssertEqual(e?.failureClass, .rateLimited, "\(provider)")
            XCTAssertNil(e?.retryAfter)
            // The refused poll does not advance the task.
            let state = try await adapter.status(taskID: id, apiKey: key)
            XCTAssertEqual(state, .queued)
        }
    }

    func testModellixResetAsEpochUsesTheInjectedClock() async throws {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let adapter = ModellixAdapter(baseURL: kit.baseURL, transport: ProviderTestKit.transport, now: { now })
        kit.simulator.inject(FaultRule(.rateLimitedUntil(epoch: 1_800_000_042), provider: .modellix))
        let e = await thrownError { () async throws(ProviderError) in try await adapter.submit(ProviderTestKit.request(ProviderEndpoints.modellix), apiKey: self.key) }
        XCTAssertEqual(e?.retryAfter, Seconds(whole: 42))
    }

    func testServerErrorsMeanRetryLaterOnBothCalls() async throws {
        for provider in ProviderTestKit.providers {
            let adapter = kit.adapter(provider)
            for status in [500, 502, 503, 504] {
                kit.simulator.inject(FaultRule(.serverError(status), provider: ProviderTestKit.family(provider), endpoint: .submit))
                let e = await thrownError { () async throws(ProviderError) in try await adapter.submit(ProviderTestKit.request(provider), apiKey: self.key) }
                XCTAssertEqual(e?.failureClass, .providerError, "\(provider) \(status)")
            }
            let id = try await adapter.submit(ProviderTestKit.request(provider), apiKey: key)
            kit.simulator.inject(FaultRule(.serverError(502), provider: ProviderTestKit.family(provider), endpoint: .status))
            let e = await thrownError { () async throws(ProviderError) in try await adapter.status(taskID: id, apiKey: self.key) }
            XCTAssertEqual(e?.failureClass, .providerError, "\(provider)")
        }
        XCTAssertEqual(kit.simulator.tasks.count, 4, "no 5xx created a task")
    }

    func testStallIsOutcomeUnknownOnSubmitAndRetryLaterOnStatus() async throws {
        for provider in [ProviderEndpoints.dashscopeIntl, ProviderEndpoints.apixo] {
            let adapter = kit.adapter(provider, timeout: 1)
            kit.simulator.inject(FaultRule(.stall, provider: ProviderTestKit.family(provider), endpoint: .submit))
            let e = await thrownError { () async throws(ProviderError) in try await adapter.submit(ProviderTestKit.request(provider), apiKey: self.key) }
            XCTAssertEqual(e?.failureClass, .timeout, "\(provider)")
            let id = try await adapter.submit(ProviderTestKit.request(provider), apiKey: key)
            kit.simulator.inject(FaultRule(.stall, provider: ProviderTestKit.family(provider), endpoint: .status))
            let s = await thrownError { () async throws(ProviderError) in try await adapter.status(taskID: id, apiKey: self.key) }
            XCTAssertEqual(s?.failureClass, .providerError, "\(provider)")
        }
    }

    func testSlowAnswerWithinTheTimeoutSucceeds() async throws {
        kit.simulator.inject(FaultRule(.slowAnswer(seconds: 0.2), endpoint: .submit))
        let id = try await kit.adapter(ProviderEndpoints.aimlapi).submit(ProviderTestKit.request(ProviderEndpoints.aimlapi), apiKey: key)
        XCTAssertEqual(kit.simulator.task(id)?.answerLost, false)
    }

    func testGarbledSubmitAnswerIsOutcomeUnknownAndTheTaskExists() async throws {
        for provider in ProviderTestKit.providers {
            for fault in [SimulatedFault.malformedJSON, .truncatedJSON] {
                let before = kit.simulator.tasks.count
                kit.simulator.inject(FaultRule(fault, provider: ProviderTestKit.family(provider), endpoint: .submit))
                let e = await thrownError { () async throws(ProviderError) in try await self.kit.adapter(provider).submit(ProviderTestKit.request(provider), apiKey: self.key) }
                XCTAssertEqual(e?.failureClass, .timeout, "\(provider) \(fault)")
                XCTAssertEqual(kit.simulator.tasks.count, before + 1)
                XCTAssertEqual(kit.simulator.tasks.last?.answerLost, true)
            }
        }
    }

    func testGarbledStatusAnswerIsRetryLater() async throws {
        for provider in ProviderTestKit.providers {
            let adapter = kit.adapter(provider)
            let id = try await adapter.submit(ProviderTestKit.request(provider), apiKey: key)
            for fault in [SimulatedFault.malformedJSON, .truncatedJSON] {
                kit.simulator.inject(FaultRule(fault, provider: ProviderTestKit.family(provider), endpoint: .status))
                let e = await thrownError { () async throws(ProviderError) in try await adapter.status(taskID: id, apiKey: self.key) }
                XCTAssertEqual(e?.failureClass, .providerError, "\(provider) \(fault)")
            }
        }
    }

    func testLostSubmitAnswerIsOutcomeUnknownAndLeavesAnOrphan() async throws {
        for provider in ProviderTestKit.providers {
            kit.simulator.inject(FaultRule(.lostResponse, provider: ProviderTestKit.family(provider), endpoint: .submit))
            let e = await thrownError { () async throws(ProviderError) in try await self.kit.adapter(provider, timeout: 5).submit(ProviderTestKit.request(provider), apiKey: self.key) }
            XCTAssertEqual(e?.failureClass, .timeout, "\(provider)")
            let orphan = kit.simulator.tasks.last
            XCTAssertEqual(orphan?.provider, provider)
            XCTAssertEqual(orphan?.answerLost, true)
            XCTAssertEqual(kit.simulator.submissionCount(provider), 1)
        }
        // The orphans still run and bill once the provider finishes them.
        let bills = kit.simulator.settle()
        XCTAssertEqual(bills.count, 4)
        XCTAssertEqual(bills.first { $0.provider == ProviderEndpoints.apixo }?.cost, Money(decimal: "0.32", currency: .usd), "7.5 s rounds up to 8 s")
    }

    func testFailedAndRefusedTasks() async throws {
        for provider in ProviderTestKit.providers {
            kit.simulator.inject(FaultRule(.taskFails, provider: ProviderTestKit.family(provider), endpoint: .submit))
            kit.simulator.inject(FaultRule(.taskRefused, provider: ProviderTestKit.family(provider), endpoint: .submit))
            let (_, failed) = try await run(provider)
            guard case .failed(.providerError) = failed.last else { return XCTFail("\(provider): \(failed)") }
            let (_, refused) = try await run(provider)
            guard case .failed(.contentRefused) = refused.last else { return XCTFail("\(provider): \(refused)") }
        }
        let apixo = kit.simulator.billing.filter { $0.provider == ProviderEndpoints.apixo }
        XCTAssertEqual(apixo.map(\.cost), [Money.zero(.usd), Money.zero(.usd)], "APIXO bills successes only")
    }

    func testOutOfBalanceAndContentRefusedOnSubmit() async throws {
        for provider in ProviderTestKit.providers {
            kit.simulator.inject(FaultRule(.outOfBalance, provider: ProviderTestKit.family(provider)))
            let e = await thrownError { () async throws(ProviderError) in try await self.kit.adapter(provider).submit(ProviderTestKit.request(provider), apiKey: self.key) }
            XCTAssertEqual(e?.failureClass, .outOfBalance, "\(provider): \(String(describing: e))")
            kit.simulator.inject(FaultRule(.contentRefused, provider: ProviderTestKit.family(provider)))
            let c = await thrownError { () async throws(ProviderError) in try await self.kit.adapter(provider).submit(ProviderTestKit.request(provider), apiKey: self.key) }
            XCTAssertEqual(c?.failureClass, .contentRefused, "\(provider): \(String(describing: c))")
        }
        XCTAssertTrue(kit.simulator.tasks.isEmpty)
    }

    func testWrongKeyIsAuthAndNeitherKeyLeaks() async throws {
        let wrong = "sk-test-WRONG-999"
        for provider in ProviderTestKit.providers {
            let adapter = kit.adapter(provider)
            do {
                _ = try await adapter.submit(ProviderTestKit.request(provider), apiKey: wrong)
                XCTFail("\(provider) accepted a wrong key")
            } catch {
                XCTAssertEqual(error.failureClass, .auth, "\(provider)")
                XCTAssertFalse("\(error)".contains(wrong), "\(error)")
                XCTAssertTrue(error.message.contains("[redacted]"), "the simulator echoes the key: \(error)")
            }
            let e = await thrownError { () async throws(ProviderError) in try await adapter.status(taskID: "nope", apiKey: wrong) }
            XCTAssertEqual(e?.failureClass, .auth, "\(provider)")
        }
        XCTAssertEqual(kit.simulator.submissionCount(), 0)
    }

    func testKeyEchoedInEveryErrorIsRedacted() async throws {
        // Rate limits and server errors echo the key too; thrownError checks each message.
        for provider in ProviderTestKit.providers {
            kit.simulator.inject(FaultRule(.serverError(500), provider: ProviderTestKit.family(provider)))
            let e = await thrownError { () async throws(ProviderError) in try await self.kit.adapter(provider).submit(ProviderTestKit.request(provider), apiKey: self.key) }
            XCTAssertTrue(e?.message.contains("[redacted]") == true, "\(String(describing: e))")
        }
    }

    func testUnknownTasks() async throws {
        let dash = try await kit.adapter(ProviderEndpoints.dashscopeIntl).status(taskID: "no-such-task", apiKey: key)
        guard case .failed(.providerError(let code, _)) = dash else { return XCTFail("\(dash)") }
        XCTAssertEqual(code, "UNKNOWN")
        for provider in [ProviderEndpoints.aimlapi, ProviderEndpoints.apixo] {
            let e = await thrownError { () async throws(ProviderError) in try await self.kit.adapter(provider).status(taskID: "no-such-task", apiKey: self.key) }
            XCTAssertEqual(e?.failureClass, .badInput, "\(provider)")
        }
    }

    func testAdaptersRefuseWhatTheirProviderCannotDoWithoutSending() async throws {
        var r = ProviderTestKit.request(ProviderEndpoints.apixo)
        r.resolution = .p580
        let e = await thrownError { () async throws(ProviderError) in try await self.kit.adapter(ProviderEndpoints.apixo).submit(r, apiKey: self.key) }
        XCTAssertEqual(e?.failureClass, .badInput)
        let d = await thrownError { () async throws(ProviderError) in try await self.kit.adapter(ProviderEndpoints.dashscopeIntl).submit(ProviderTestKit.request(ProviderEndpoints.apixo), apiKey: self.key) }
        XCTAssertEqual(d?.failureClass, .badInput)
        XCTAssertEqual(kit.simulator.submissionCount(), 0)
    }

    func testReplaceBehaviourAndDashScopeRegionByKey() async throws {
        kit.stop()
        // The two regions are separate accounts: China takes its own key (the simulator's convention).
        let configuration = ProviderSimulator.Configuration(apiKey: key)
        XCTAssertEqual(configuration.apiKeys[ProviderEndpoints.dashscopeCN], [ProviderSimulator.Configuration.chinaKey(for: key)])
        kit = try ProviderTestKit(configuration)
        let chinaKey = ProviderSimulator.Configuration.chinaKey(for: key)
        let adapter = DashScopeAdapter(provider: ProviderEndpoints.dashscopeCN, baseURL: kit.baseURL, transport: ProviderTestKit.transport)
        var request = ProviderTestKit.request(ProviderEndpoints.dashscopeCN, duration: "10", behavior: .replace)
        request.mode = .wanPro
        let id = try await adapter.submit(request, apiKey: chinaKey)
        for _ in 0..<3 { _ = try await adapter.status(taskID: id, apiKey: chinaKey) }
        let bill = try XCTUnwrap(kit.simulator.billing.first)
        XCTAssertEqual(bill.provider, ProviderEndpoints.dashscopeCN)
        XCTAssertEqual(bill.behavior, .replace)
        XCTAssertEqual(bill.cost, Money(decimal: "9.0", currency: .cny), "CNY 0.9/s x 10 s")
        XCTAssertEqual(bill.reported?.ratio, "pro")
    }

    func testAIMLAPICreditsConvertToDollarsExactlyAndNeverBelowTheBill() {
        XCTAssertEqual(AIMLAPIAdapter.usd(credits: "2000000"), Money(decimal: "1", currency: .usd))
        XCTAssertEqual(AIMLAPIAdapter.usd(credits: "1"), Money(decimal: "0.0000005", currency: .usd))
        XCTAssertEqual(AIMLAPIAdapter.usd(credits: "0.5"), Money(decimal: "0.00000025", currency: .usd))
        XCTAssertEqual(AIMLAPIAdapter.usd(credits: "0.000000001"), Money(decimal: "0.000000001", currency: .usd), "a part of a nano-dollar rounds up")
        XCTAssertEqual(AIMLAPIAdapter.usd(credits: "0"), Money(decimal: "0", currency: .usd))
        XCTAssertNil(AIMLAPIAdapter.usd(credits: "-5"))
        XCTAssertNil(AIMLAPIAdapter.usd(credits: "1e6"))
        XCTAssertNil(AIMLAPIAdapter.usd(credits: "99999999999999999999"), "too large is unknown, never a wrong number")
    }

    func testSeededRandomFaultsAreReproducible() async throws {
        func batch() async throws -> [String] {
            let rates = [RandomFaults.Rate(.rateLimited(retryAfter: 1), 0.2), RandomFaults.Rate(.serverError(503), 0.2),
                         RandomFaults.Rate(.malformedJSON, 0.1), RandomFaults.Rate(.taskRefused, 0.1)]
            let kit = try ProviderTestKit(.init(apiKey: ProviderTestKit.key, random: RandomFaults(seed: 42, rates: rates)))
            defer { kit.stop() }
            var outcomes: [String] = []
            for i in 0..<24 {
                let provider = ProviderTestKit.providers[i % 4]
                do {
                    outcomes.append(try await kit.adapter(provider).submit(ProviderTestKit.request(provider), apiKey: ProviderTestKit.key))
                } catch {
                    outcomes.append(error.failureClass.rawValue)
                }
            }
            return outcomes + kit.simulator.tasks.map(\.outcome.rawValue)
        }
        let first = try await batch()
        let second = try await batch()
        XCTAssertEqual(first, second)
        XCTAssertTrue(first.contains("rate-limited") && first.contains("provider-error"), "\(first)")
    }
}
