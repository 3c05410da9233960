import Foundation
import WanRouteTestSupport
import WanRouteTesting
import XCTest
@testable import WanRoute

/// Schema version 3: a `submit-intent` to its job's chosen offer leaves the offer to the `decided`
/// line, cost sources are short, and every reader still gets every fact.
final class LedgerVersion3Tests: XCTestCase {
    typealias C = LedgerStoreConformance

    private func directory() throws -> String { try LedgerReadBack.directory() }

    private func lines(_ dir: String) throws -> [String] { try LedgerReadBack.lines(dir) }

    private func intent(_ job: String, _ seconds: Int64, _ provider: ProviderID, _ mode: Mode, _ resolution: Resolution, attempt: Int = 1) -> LedgerEvent {
        LedgerEvent(time: C.at(seconds), jobID: job, provider: provider, body: .submitIntent(mode: mode, resolution: resolution, attempt: attempt))
    }

    /// A job that fails over: its first intent is to the decided choice (offer left out), its
    /// second, after a submission that created no task, names its offer again, and so does the
    /// intent to the alternate.
    private func failoverJob(_ job: String) -> [LedgerEvent] {
        [
            C.decided(job, C.at(0)),
            intent(job, 1, C.apixo, .standard, .p720),
            intent(job, 2, C.apixo, .standard, .p720, attempt: 2),
            LedgerEvent(time: C.at(3), jobID: job, body: .failed(LedgerFailure(failure: .providerError, cost: .zero(.usd), costSource: .failedTaskFree, final: false, detail: "apixo failed"))),
            intent(job, 4, C.dashscope, .wanStd, .p720),
            LedgerEvent(time: C.at(5), jobID: job, provider: C.dashscope, taskID: "t-\(job)", body: .accepted),
            LedgerEvent(time: C.at(60), jobID: job, body: .succeeded(LedgerSuccess(
                resultURL: "https://cdn.example/\(job).mp4", billedSeconds: Seconds(whole: 12), cost: Money(decimal: "8.40", currency: .cny), costSource: .providerReported))),
        ]
    }

    func testAnIntentToTheChosenOfferLeavesItToTheDecisionAndEveryReaderGetsItBack() async throws {
        let dir = try directory()
        let store = try FileLedgerStore(directory: dir)
        let written = try await store.append(C.lifecycle("j1")) + store.append(failoverJob("j2"))
        let text = try lines(dir)
        XCTAssertEqual(text[2], LedgerLineFixture.sealed(#"{"v":4,"n":3,"t":1796205602000,"e":"submit-intent","j":"j1","a":1"#))
        XCTAssertEqual(text.filter { $0.contains(#""e":"submit-intent""#) && !$0.contains(#""p":"#) }.count, 2, "the first intent of each job")
        XCTAssertTrue(text[9].contains(#""p":"apixo","m":"standard","res":"720p","a":2"#), "a second submission names its offer: \(text[9])")
        XCTAssertTrue(text[11].contains(#""p":"dashscope-intl","m":"wan-std","res":"720p","a":1"#), "the failover's intent names its offer: \(text[11])")
        XCTAssertTrue(text[13].contains(#""src":"provider""#), text[13])
        // Read alone, the line says where its offer is.
        XCTAssertThrowsError(try LedgerCodec.decode(Array(text[2].utf8))) { error in
            XCTAssertTrue("\(error)".contains("takes it from its job's decided line"), "\(error)")
        }

        // Every way of reading gives the records as appended.
        try await LedgerReadBack.check(written, directory: dir)
        let states = try await FileLedgerStore(directory: dir).states(of: ["j1", "j2"])
        XCTAssertEqual(states["j1"]?.provider, C.apixo)
        XCTAssertEqual(states["j2"]?.tasks, [LedgerTask(provider: C.dashscope, taskID: "t-j2")])
    }

    func testAnIntentAfterAnotherProcessWroteNamesItsOffer() async throws {
        let dir = try directory()
        let a = try FileLedgerStore(directory: dir), b = try FileLedgerStore(directory: dir)
        _ = try await a.append([C.decided("j1", C.at(0)), C.decided("j2", C.at(0))])
        _ = try await a.append([intent("j1", 1, C.apixo, .standard, .p720)])
        // Another process's line comes between j2's decision and its intent: it could be j2's.
        _ = try await b.append([C.decided("other", C.at(1))])
        _ = try await a.append([intent("j2", 2, C.apixo, .standard, .p720)])
        let text = try lines(dir)
        XCTAssertFalse(text[2].contains(#""p":"#), text[2])
        XCTAssertTrue(text[4].contains(#""p":"apixo","m":"standard","res":"720p""#), text[4])
        let read = try await FileLedgerStore(directory: dir).records(in: C.t0.month)
        XCTAssertEqual(read.map(\.event.provider), [C.apixo, C.apixo, C.apixo, C.apixo, C.apixo])
    }

    func testAnIntentWithoutItsOfferAndNoDecisionBeforeItIsDamage() async throws {
        func sealed(_ body: String) -> String { LedgerLineFixture.sealed(body) + "\n" }
        let orphan = sealed(#"{"v":3,"n":1,"t":1796205600000,"e":"submit-intent","j":"j1","a":1"#)
        let good = sealed(#"{"v":3,"n":2,"t":1796205600000,"e":"note","j":"j1","text":"x""#)
        let dir = try directory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try (orphan + good).write(toFile: dir + "/2026-12.jsonl", atomically: true, encoding: .utf8)
        do {
            _ = try await FileLedgerStore(directory: dir).records(in: C.t0.month)
            XCTFail("an intent with nothing to take its offer from is refused")
        } catch let LedgerError.damaged(_, line, reason) {
            XCTAssertEqual(line, 1)
            XCTAssertTrue(reason.contains("decided line"), reason)
        }
        var reader = LedgerLineReader()
        XCTAssertThrowsError(try reader.decode(Array(sealed(#"{"v":3,"n":1,"t":1796205600000,"e":"submit-intent","j":"j1","p":"apixo","a":1"#).utf8.dropLast())),
                             "a part of an offer is not an offer")
        for source in ["provider-reported", "billing-rule", "x"] {
            let line = sealed(#"{"v":3,"n":1,"t":1796205600000,"e":"succeeded","j":"j","cost":"1","src":""# + source + "\"")
            XCTAssertThrowsError(try LedgerCodec.decode(Array(line.utf8.dropLast())), "version 3 spells cost sources short: \(source)")
        }
        XCTAssertThrowsError(try LedgerCodec.decode(Array(sealed(#"{"v":5,"n":1,"t":1796205600000,"e":"note","j":"j","text":"x""#).utf8.dropLast()))) { error in
            XCTAssertEqual(error as? LedgerLineError, .unsupportedVersion("5"))
        }
        let v3 = #"{"v":3,"n":2,"t":1796205600000,"e":"decided","j":"j","b":"animate","d":12,"ctx":1"#
        XCTAssertThrowsError(try LedgerCodec.decode(Array(sealed(v3).utf8.dropLast())), "ctx is version 4's")
    }

    /// Random months as the executor writes them (intents to chosen offers, retries, failovers, jobs
    /// interleaved, several appends, another writer now and then, decisions taking their context
    /// from earlier lines), read back by every reader.
    func testRandomMonthsReadBackExactlyThroughEveryReader() async throws {
        var rng = SeededGenerator(seed: 0x3b17_0c03)
        let providers = [C.apixo, C.dashscope, ProviderID("kie")!]
        for round in 0..<12 {
            var perJob: [[LedgerEvent]] = []
            for n in 0..<Int(rng.next() % 30) {
                let id = "r\(round)-\(n)"
                var t = Int64(rng.next() % 1_000)
                func next() -> LedgerTime { t += 1; return C.at(t) }
                let p = providers[Int(rng.next() % 3)], m = Mode.allCases[Int(rng.next() % UInt64(Mode.allCases.count))]
                let r = Resolution.allCases[Int(rng.next() % UInt64(Resolution.allCases.count))]
                var decision = LedgerDecision(behavior: .animate, duration: Seconds(whole: 5), policy: "cheapest", mode: m, resolution: r,
                                              estimate: C.usd("1"), estimateUSD: nil)
                let refused = rng.next() % 6 == 0
                if refused { (decision.mode, decision.resolution, decision.estimate, decision.refusal) = (nil, nil, nil, "no offer") }
                var events = [LedgerEvent(time: next(), jobID: id, runID: "run", provider: refused ? nil : p, body: .decided(decision))]
                if !refused {
                    for attempt in 0..<Int(rng.next() % 4) {
                        let other = rng.next() % 3 == 0
                        let offer = other ? (providers[Int(rng.next() % 3)], Mode.standard, Resolution.p480) : (p, m, r)
                        events.append(LedgerEvent(time: next(), jobID: id, provider: offer.0,
                                                  body: .submitIntent(mode: offer.1, resolution: offer.2, attempt: attempt + 1)))
                        if rng.next() % 2 == 0 { events.append(LedgerEvent(time: next(), jobID: id, provider: offer.0, taskID: "t\(attempt)", body: .accepted)) }
                    }
                    if rng.next() % 4 == 0 {  // decided again: a refusal closing the job, then an intent that must name its offer
                        var closing = decision
                        (closing.mode, closing.resolution, closing.refusal) = (nil, nil, "budget")
                        events.append(LedgerEvent(time: next(), jobID: id, runID: "run", provider: p, body: .decided(closing)))
                        events.append(LedgerEvent(time: next(), jobID: id, provider: p, body: .submitIntent(mode: m, resolution: r, attempt: 1)))
                    }
                }
                perJob.append(events)
            }
            var merged: [LedgerEvent] = []
            var cursor = Array(repeating: 0, count: perJob.count)
            var live = Array(perJob.indices)
            while !live.isEmpty {
                let k = Int(rng.next() % UInt64(live.count)), j = live[k]
                merged.append(perJob[j][cursor[j]])
                cursor[j] += 1
                if cursor[j] == perJob[j].count { live.remove(at: k) }
            }
            let dir = try directory()
            let store = try FileLedgerStore(directory: dir), other = try FileLedgerStore(directory: dir)
            var written: [LedgerRecord] = []
            var i = 0
            while i < merged.count {
                let n = 1 + Int(rng.next() % 5)
                written += try await store.append(Array(merged[i..<min(merged.count, i + n)]))
                if rng.next() % 5 == 0 {
                    // Another process: a note, or a decision of its own run (its own context line).
                    var decided = C.decided("x\(i)", C.at(2_000))
                    decided.runID = "other-\(rng.next() % 2)"
                    written += try await other.append([rng.next() % 2 == 0 ? decided : LedgerEvent(time: C.at(2_000), jobID: "x\(i)", body: .note(text: "other"))])
                }
                i += n
            }
            guard !written.isEmpty else { continue }
            try await LedgerReadBack.check(written, directory: dir, "round \(round)")
        }
    }

    /// A month begun in version 1, continued in version 2 and then by this wanroute in version 3:
    /// `Tests/Fixtures/ledger-versions/v3/2026-12.jsonl`, committed so that version 3 lines, once on
    /// users' disks, stay readable. Job j2 starts in version 2 and ends in version 3; j3 fails over.
    func testAMonthOfVersions1To3ReadsAsOne() async throws {
        let j1 = C.lifecycle("j1"), j2 = C.lifecycle("j2", from: C.at(100)), j3 = failoverJob("j3").map { e -> LedgerEvent in
            var e = e
            e.time = LedgerTime(milliseconds: e.time.milliseconds + 200_000)
            return e
        }
        let expected = (j1 + j2 + j3).enumerated().map { LedgerRecord(sequence: Int64($0.offset + 1), event: $0.element) }
        var bytes: [UInt8] = []
        var writer = LedgerLineWriter(version: 3)
        for r in expected {
            if r.sequence <= 3 { LedgerCodec.encode(r, version: 1, into: &bytes) } else if r.sequence <= 10 { LedgerCodec.encode(r, version: 2, into: &bytes) } else { writer.encode(r, into: &bytes) }
        }
        let (dir, committed) = try LedgerReadBack.committedMonth("v3", equalTo: bytes)
        let store = try FileLedgerStore(directory: dir)
        let read = try await store.records(in: C.t0.month)
        XCTAssertEqual(read, expected)
        let job = try await store.records(forJob: "j2")
        XCTAssertEqual(job, Array(expected[7..<14]))
        let states = try await store.states(of: ["j1", "j2", "j3"])
        XCTAssertEqual(states["j3"]?.status, .succeeded)
        XCTAssertEqual(states["j3"]?.submissions, 3)
        let open = try await store.openJobs()
        XCTAssertEqual(open.map(\.id), [], "every job ended, and no reservation is left open")
    }
}
