import Foundation
import WanRouteTestSupport
import WanRouteTesting
import XCTest
@testable import WanRoute

/// Schema version 4: a `decided` line takes its run, policy and digests from an earlier one
/// (`"ctx":N`) and an `accepted` line its provider from its job's intent; every reader, from the
/// start of a file, mid-file or by offset, still gets every fact.
final class LedgerVersion4Tests: XCTestCase {
    typealias C = LedgerStoreConformance

    private func directory() throws -> String { try LedgerReadBack.directory() }

    private func lines(_ dir: String) throws -> [String] { try LedgerReadBack.lines(dir) }

    private func sealed(_ body: String) -> [UInt8] { Array(LedgerLineFixture.sealed(body).utf8) }

    func testLinesLeaveOutWhatEarlierLinesSayAndEveryReaderGetsItBack() async throws {
        let dir = try directory()
        let store = try FileLedgerStore(directory: dir)
        var written = try await store.append(C.lifecycle("j1"))
        written += try await store.append(C.lifecycle("j2", from: C.at(100)))
        let text = try lines(dir)
        XCTAssertTrue(text[0].contains(#""r":"run-1""#) && text[0].contains(#""pol":"cheapest","pd":"p:1","td":"c:1""#), text[0])
        XCTAssertTrue(text[7].hasPrefix(#"{"v":4,"n":8,"t":1796205700000,"e":"decided","j":"j2","p":"apixo","b":"animate","d":12,"tags":{"customer":"film"},"ctx":1,"m":"standard""#),
                      "the second decision names the first's line for its run, policy and digests: \(text[7])")
        XCTAssertFalse(text[7].contains(#""r":"#) || text[7].contains(#""pol":"#) || text[7].contains(#""pd":"#), text[7])
        XCTAssertTrue(text[2].contains(#""j":"j1","a":1,"c":"#), "the intent leaves its offer to the decision: \(text[2])")
        XCTAssertEqual(text[3], LedgerLineFixture.sealed(#"{"v":4,"n":4,"t":1796205603000,"e":"accepted","j":"j1","task":"task-j1""#),
                       "an accepted task's provider is its intent's")
        // Read alone, each line says where the rest is.
        XCTAssertThrowsError(try LedgerCodec.decode(Array(text[7].utf8))) { XCTAssertTrue("\($0)".contains("takes its run, policy and digests from line 1"), "\($0)") }
        XCTAssertThrowsError(try LedgerCodec.decode(Array(text[3].utf8))) { XCTAssertTrue("\($0)".contains("its job's submit-intent"), "\($0)") }

        // From the start, by job (which skips line 1 and looks it up), by state, by import.
        try await LedgerReadBack.check(written, directory: dir)
        var report: [ReportJob] = []
        try await FileLedgerStore(directory: dir).forEachReportJob(in: try ReportPeriod(month: "2026-12"), catalog: try PriceCatalog.builtIn()) { report.append($0) }
        XCTAssertEqual(report.map(\.policy), ["cheapest", "cheapest"])
        let states = try await FileLedgerStore(directory: dir).states(of: ["j2"])
        XCTAssertEqual(states["j2"]?.tasks, [LedgerTask(provider: C.apixo, taskID: "task-j2")])
    }

    /// Another process's lines in between: a `ctx` names its line, so it still holds; a provider is
    /// never taken from across another writer's lines.
    func testAnotherWritersLinesKeepTheContextButNotTheProvider() async throws {
        let dir = try directory()
        let a = try FileLedgerStore(directory: dir), b = try FileLedgerStore(directory: dir)
        let intent = LedgerEvent(time: C.at(2), jobID: "j1", provider: C.apixo, body: .submitIntent(mode: .standard, resolution: .p720, attempt: 1))
        _ = try await a.append([C.decided("j1", C.at(0)), intent])
        var other = C.decided("other", C.at(1))
        other.runID = "run-2"
        _ = try await b.append([other])
        _ = try await a.append([LedgerEvent(time: C.at(3), jobID: "j1", provider: C.apixo, taskID: "t1", body: .accepted), C.decided("j2", C.at(4))])
        let text = try lines(dir)
        XCTAssertTrue(text[2].contains(#""r":"run-2""#), "another run names its own context: \(text[2])")
        XCTAssertTrue(text[3].contains(#""p":"apixo""#), "another writer came between the intent and its acceptance: \(text[3])")
        XCTAssertTrue(text[4].contains(#""ctx":1"#), text[4])
        let read = try await FileLedgerStore(directory: dir).records(in: C.t0.month)
        XCTAssertEqual(read.map(\.event.runID), ["run-1", nil, "run-2", nil, "run-1"])
        guard case .decided(let d) = read[4].event.body else { return XCTFail("\(read[4])") }
        XCTAssertEqual([d.policy, d.policyDigest, d.pricingDigest], ["cheapest", "p:1", "c:1"])
        // A store never writes an accepted task without its provider: the line could not say so.
        do {
            _ = try await a.append([LedgerEvent(time: C.at(5), jobID: "j3", taskID: "t3", body: .accepted)])
            XCTFail("an accepted task without its provider is refused")
        } catch let LedgerError.incompleteEvent(job, reason) {
            XCTAssertEqual(job, "j3")
            XCTAssertTrue(reason.contains("names its provider"), reason)
        }
        do {
            _ = try await InMemoryLedgerStore().append([LedgerEvent(time: C.at(5), jobID: "j3", taskID: "t3", body: .accepted)])
            XCTFail("the in-memory store refuses it too")
        } catch let LedgerError.incompleteEvent(job, _) {
            XCTAssertEqual(job, "j3")
        }
    }

    /// A `ctx` that names no decision, or a later line, is damage with the file's line.
    func testAContextThatNamesNothingIsDamage() async throws {
        let decided = #","e":"decided","j":"j2","p":"apixo","b":"animate","d":12,"m":"standard","res":"720p""#
        for (ctx, why) in [("1", "line 1"), ("2", "earlier line"), ("0", "earlier line")] {
            let dir = try directory()
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let first = sealed(#"{"v":4,"n":1,"t":1796205600000,"e":"note","j":"j1","text":"x""#)
            let second = sealed(#"{"v":4,"n":2,"t":1796205600000"# + decided + #","ctx":"# + ctx)
            try Data(first + [10] + second + [10]).write(to: URL(fileURLWithPath: dir + "/2026-12.jsonl"))
            do {
                _ = try await FileLedgerStore(directory: dir).records(in: C.t0.month)
                XCTFail("ctx \(ctx) is refused")
            } catch let LedgerError.damaged(_, line, reason) {
                XCTAssertEqual(line, 2)
                XCTAssertTrue(reason.contains(why), "\(ctx): \(reason)")
            }
        }
        let both = sealed(#"{"v":4,"n":2,"t":1796205600000"# + decided + #","pol":"cheapest","ctx":1"#)
        XCTAssertThrowsError(try LedgerCodec.decode(both), "a line names its context or takes it, not both")
    }

    /// Any line of a file found by its sequence number, by bisection over lines of any length and
    /// version; numbers the file does not hold give nil.
    func testALineIsFoundByItsSequenceNumber() throws {
        var rng = SeededGenerator(seed: 0x4c1e_5e04)
        let dir = try directory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        for round in 0..<20 {
            let count = 1 + Int(rng.next() % 300)
            var bytes: [UInt8] = []
            for n in 1...count {
                let text = String(repeating: "x", count: Int(rng.next() % (rng.next() % 8 == 0 ? 5_000 : 60)))
                let record = LedgerRecord(sequence: Int64(n), event: LedgerEvent(time: C.t0, jobID: "j\(n)", body: .note(text: text)))
                LedgerCodec.encode(record, version: 1 + Int(rng.next() % 4), into: &bytes)
            }
            let path = dir + "/round-\(round).jsonl"
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let fd = try FileDescriptor.open(path, flags: O_RDONLY)
            for n in 1...count {
                XCTAssertEqual(LedgerFileScanner.record(withSequence: Int64(n), in: fd)?.event.jobID, "j\(n)", "round \(round) line \(n)")
            }
            for missing in [0, -1, count + 1, count + 100] { XCTAssertNil(LedgerFileScanner.record(withSequence: Int64(missing), in: fd)) }
            // Another process's write in progress at the end: every whole line is still found.
            var next: [UInt8] = []
            LedgerCodec.encode(LedgerRecord(sequence: Int64(count + 1), event: LedgerEvent(time: C.t0, jobID: "late", body: .note(text: "x"))), into: &next)
            let appending = try FileDescriptor.open(path, flags: O_WRONLY | O_APPEND)
            try appending.writeAll(Array(next.prefix(Int(rng.next() % UInt64(next.count - 1)) + 1)))
            for n in 1...count {
                XCTAssertEqual(LedgerFileScanner.record(withSequence: Int64(n), in: fd)?.event.jobID, "j\(n)", "round \(round) line \(n), torn tail")
            }
        }
    }

    /// More lines named by `ctx` than a reader keeps (a hand-made file): each one forgotten is looked
    /// up again by its sequence number, and every decision still reads with its own context.
    func testMoreContextsThanAReaderKeepsAreLookedUpAgain() throws {
        let dir = try directory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var bytes: [UInt8] = []
        var expected: [LedgerRecord] = []
        for n in 1...60 {
            var e = C.decided("j\(n)", C.at(Int64(n)))
            e.runID = "run-\((n - 1) % 10)"
            let record = LedgerRecord(sequence: Int64(n), event: e)
            var gaps = LineGaps()
            // Lines 1 to 10 name runs 0 to 9; each later one points back to its run's line.
            if n > 10 { gaps.context = Int64((n - 1) % 10 + 1) }
            LedgerCodec.encode(record, version: 4, gaps: gaps, into: &bytes)
            expected.append(record)
        }
        let path = dir + "/2026-12.jsonl"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let fd = try FileDescriptor.open(path, flags: O_RDONLY)
        var reader = LedgerLineReader()
        reader.contextLimit = 3
        var lookups = 0
        var read: [LedgerRecord] = []
        for line in bytes.split(separator: UInt8(ascii: "\n")) {
            read.append(try reader.decode(Array(line)) { n in
                lookups += 1
                return LedgerFileScanner.record(withSequence: n, in: fd)
            })
        }
        XCTAssertEqual(read, expected)
        XCTAssertLessThanOrEqual(reader.contexts.count, 3)
        XCTAssertGreaterThan(lookups, 0, "forgotten lines were looked up")
        var plain = LedgerLineReader()
        plain.contextLimit = 3
        XCTAssertThrowsError(try {
            for line in bytes.split(separator: UInt8(ascii: "\n")) { _ = try plain.decode(Array(line)) }
        }(), "without a lookup, a forgotten line is damage, never a guess")
    }

    /// A month begun in versions 1 to 3 and continued by this wanroute in version 4:
    /// `Tests/Fixtures/ledger-versions/v4/2026-12.jsonl`, committed so that version 4 lines, once on
    /// users' disks, stay readable. j5's decision takes its context from j4's.
    func testAMonthOfVersions1To4ReadsAsOne() async throws {
        let jobs = ["j1", "j2", "j3", "j4", "j5"].enumerated().flatMap { i, id in C.lifecycle(id, from: C.at(Int64(100 * i))) }
        let expected = jobs.enumerated().map { LedgerRecord(sequence: Int64($0.offset + 1), event: $0.element) }
        var bytes: [UInt8] = []
        var v3 = LedgerLineWriter(version: 3), v4 = LedgerLineWriter()
        for r in expected {
            switch r.sequence {
            case ...7: LedgerCodec.encode(r, version: 1, into: &bytes)
            case ...14: LedgerCodec.encode(r, version: 2, into: &bytes)
            case ...21: v3.encode(r, into: &bytes)
            default: v4.encode(r, into: &bytes)
            }
        }
        let (dir, committed) = try LedgerReadBack.committedMonth("v4", equalTo: bytes)
        let store = try FileLedgerStore(directory: dir)
        let read = try await store.records(in: C.t0.month)
        XCTAssertEqual(read, expected)
        XCTAssertTrue(committed.contains(#""ctx":22"#), "j5's decision takes its context from j4's")
        let job = try await store.records(forJob: "j5")
        XCTAssertEqual(job, Array(expected.suffix(7)))
        let open = try await store.openJobs()
        XCTAssertEqual(open.map(\.id), [], "every job ended, and no reservation is left open")
    }
}

/// Version 4 at the edges: a summary continued mid-file, a refused event in a batch.
final class LedgerVersion4EdgeTests: XCTestCase {
    typealias C = LedgerStoreConformance

    /// A job decided in November and submitted in December: its December lines are the summary's
    /// foreign lines. A summary saved between its intent and its acceptance (which leaves its
    /// provider to the intent) is continued by the next reader, which must still read it.
    func testAJobOfTheMonthBeforeAcceptedAfterASavedSummaryIsRead() async throws {
        let dir = try LedgerReadBack.directory()
        let writer = try FileLedgerStore(directory: dir)
        _ = try await writer.append([C.decided("j1", LedgerTime("2026-11-30T23:59:58.000Z")!)])
        _ = try await writer.append([LedgerEvent(time: C.t0, jobID: "j1", provider: C.apixo, body: .submitIntent(mode: .standard, resolution: .p720, attempt: 1))])
        // A reader meanwhile (another process) saves December's job summary, covering the intent.
        let before = try await FileLedgerStore(directory: dir).openJobs()
        XCTAssertEqual(before.map(\.status), [.submitted])
        _ = try await writer.append([LedgerEvent(time: C.at(1), jobID: "j1", provider: C.apixo, taskID: "t1", body: .accepted)])
        let text = try LedgerReadBack.lines(dir)
        XCTAssertFalse(text[1].contains(#""p":"#), "precondition: the acceptance leaves its provider to the intent: \(text[1])")
        let open = try await FileLedgerStore(directory: dir).openJobs()
        XCTAssertEqual(open.map(\.status), [.accepted])
        XCTAssertEqual(open.first?.tasks, [LedgerTask(provider: C.apixo, taskID: "t1")])
        var report: [ReportJob] = []
        try await FileLedgerStore(directory: dir).forEachReportJob(in: try ReportPeriod(month: "2026-12"), catalog: try PriceCatalog.builtIn()) { report.append($0) }
        XCTAssertEqual(report.count, 0, "the job is November's")
    }

    /// The file store refuses an accepted task without its provider before it writes anything, as
    /// the other stores do: not after the batch's earlier months are already durable.
    func testAnAcceptedTaskWithoutItsProviderIsRefusedBeforeAnythingIsWritten() async throws {
        let november = LedgerTime("2026-11-30T23:59:59.000Z")!
        let batch = [C.decided("j1", november), LedgerEvent(time: C.t0, jobID: "j1", taskID: "t1", body: .accepted)]
        let store = try FileLedgerStore(directory: try LedgerReadBack.directory())
        for s in [store as any LedgerStore, InMemoryLedgerStore()] {
            do {
                _ = try await s.append(batch)
                XCTFail("refused")
            } catch LedgerError.incompleteEvent(let job, _) {
                XCTAssertEqual(job, "j1")
            }
            let written = try await s.records(in: november.month)
            XCTAssertEqual(written, [], "\(type(of: s)): nothing of the batch is written")
        }
        // An event too large for a line, in the batch's second month: refused before the first is written.
        let huge = LedgerEvent(time: C.t0, jobID: "j1", body: .note(text: String(repeating: "x", count: ledgerMaximumLineBytes)))
        for s in [store as any LedgerStore, InMemoryLedgerStore()] {
            do {
                _ = try await s.append([C.decided("j1", november), huge])
                XCTFail("refused")
            } catch LedgerError.eventTooLarge(let job, let bytes) {
                XCTAssertEqual(job, "j1")
                XCTAssertGreaterThan(bytes, ledgerMaximumLineBytes)
            }
            let written = try await s.records(in: november.month)
            XCTAssertEqual(written, [], "\(type(of: s)): nothing of the batch is written")
        }
        let next = try await store.append([C.decided("j2", november)])
        XCTAssertEqual(next.map(\.sequence), [1], "the store goes on")
    }

    /// Three writers (processes) appending jobs' steps one at a time (some decided in November,
    /// some decided again in flight), and readers in between that save and continue job summaries
    /// from wherever the file then ends: every reader reads back what was appended.
    func testWritersAndReadersInTurnOnRandomLedgers() async throws {
        for round in 0..<15 {
            var rng = SeededGenerator(seed: UInt64(1000 + round))
            let dir = try LedgerReadBack.directory()
            let writers = try (0..<3).map { _ in try FileLedgerStore(directory: dir) }
            var written: [LedgerRecord] = []
            var step: [String: Int] = [:]
            var clock: Int64 = 0
            var lastW = 0, lastJob = "j0"
            let nov = LedgerTime("2026-11-30T23:50:00.000Z")!
            for _ in 0..<120 {
                let sticky = rng.next() % 2 == 0
                let w = sticky ? lastW : Int(rng.next() % 3)
                let job = sticky ? lastJob : "j\(rng.next() % 12)"
                lastW = w
                lastJob = job
                let s = step[job, default: 0]
                clock += 1
                let time = s == 0 && rng.next() % 3 == 0 ? C.at(clock, from: nov) : C.at(clock)
                var e: LedgerEvent
                switch s % 6 {
                case 0:
                    e = C.decided(job, time)
                    e.runID = "run-\(w)-\(rng.next() % 2)"
                case 1: e = LedgerEvent(time: time, jobID: job, provider: rng.next() % 2 == 0 ? C.apixo : C.dashscope, body: .submitIntent(mode: .standard, resolution: .p720, attempt: 1))
                case 2: e = LedgerEvent(time: time, jobID: job, provider: rng.next() % 3 == 0 ? C.dashscope : C.apixo, taskID: "t-\(job)-\(s)", body: .accepted)
                case 3: e = LedgerEvent(time: time, jobID: job, body: .state(.running))
                case 4: e = LedgerEvent(time: time, jobID: job, body: .outcomeUnknown(detail: "x"))
                default: e = LedgerEvent(time: time, jobID: job, provider: C.apixo, body: .submitIntent(mode: .wanStd, resolution: .p720, attempt: 2))
                }
                step[job] = rng.next() % 5 == 0 ? 0 : s + 1
                written += try await writers[w].append([e])
                if rng.next() % 4 == 0 {
                    if rng.next() % 2 == 0 { try? FileManager.default.removeItem(atPath: dir + "/summaries") }
                    let reader = try FileLedgerStore(directory: dir)
                    _ = try await reader.openJobs()
                    _ = try await reader.states(of: [job])
                    for m in ["2026-11", "2026-12"] { try await reader.forEachReportJob(in: try ReportPeriod(month: m), catalog: try PriceCatalog.builtIn()) { _ in } }
                }
            }
            for month in Set(written.map(\.event.time.month)) {
                let expected = written.filter { $0.event.time.month == month }
                let read = try await FileLedgerStore(directory: dir).records(in: month)
                XCTAssertEqual(read, expected, "round \(round) \(month)")
                let bytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/\(month).jsonl"))
                XCTAssertEqual(try LedgerImport.records([UInt8](bytes), file: "x")[month], expected, "round \(round) import")
            }
            let ids = Set(written.map(\.event.jobID))
            let states = try await FileLedgerStore(directory: dir).states(of: ids)
            let open = try await FileLedgerStore(directory: dir).openJobs()
            for id in ids {
                let job = written.filter { $0.event.jobID == id }
                let byJob = try await FileLedgerStore(directory: dir).records(forJob: id)
                XCTAssertEqual(byJob.sorted { ($0.event.time.month, $0.sequence) < ($1.event.time.month, $1.sequence) }, job.sorted { ($0.event.time.month, $0.sequence) < ($1.event.time.month, $1.sequence) }, "round \(round) job \(id)")
                XCTAssertEqual(states[id]?.tasks, JobState.fold(byJob)?.tasks, "round \(round) job \(id) state")
            }
            let unfinished = ids.filter { id in JobState.fold(written.filter { $0.event.jobID == id }).map { !$0.isFinished } ?? false }
            XCTAssertEqual(Set(open.map(\.id)), unfinished, "round \(round) open jobs")
        }
    }
}
