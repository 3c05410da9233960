import Foundation
import WanRouteTestSupport
import WanRouteTesting
import XCTest
@testable import WanRoute

/// System calls with faults on demand: short writes, `EINTR`, a failing write or sync.
final class FaultySystemCalls: SystemCalls, @unchecked Sendable {
    private let real = POSIXSystemCalls()
    private let lock = NSLock()
    /// Largest write passed through (short writes below it).
    var maxWrite: Int? { get { lock.withLock { _maxWrite } } set { lock.withLock { _maxWrite = newValue } } }
    /// Answer every other write and sync with `EINTR` first.
    var interrupt: Bool { get { lock.withLock { _interrupt } } set { lock.withLock { _interrupt = newValue } } }
    /// Fail the next fdatasync with this error number.
    var failSync: Int32? { get { lock.withLock { _failSync } } set { lock.withLock { _failSync = newValue } } }
    /// Fail writes with this error number.
    var failWrite: Int32? { get { lock.withLock { _failWrite } } set { lock.withLock { _failWrite = newValue } } }
    private var _maxWrite: Int?
    private var _interrupt = false
    private var _failSync: Int32?
    private var _failWrite: Int32?
    private var toggle = false
    private let syncsReachDisk: Bool

    /// Faults off; `syncs: false` makes every sync a no-op (for tests that reopen hundreds of
    /// ledgers and test recovery, not durability).
    init(syncs: Bool = true) { syncsReachDisk = syncs }
    private(set) var writes = 0
    private(set) var syncs = 0

    func open(_ path: String, flags: Int32, mode: UInt32) -> (Int32, Int32) { real.open(path, flags: flags, mode: mode) }
    func close(_ fd: Int32) -> (Int32, Int32) { real.close(fd) }
    func pread(_ fd: Int32, _ buffer: UnsafeMutableRawBufferPointer, offset: Int64) -> (Int, Int32) { real.pread(fd, buffer, offset: offset) }
    func fsync(_ fd: Int32) -> (Int32, Int32) { syncsReachDisk ? real.fsync(fd) : (0, 0) }
    func flock(_ fd: Int32, _ operation: Int32) -> (Int32, Int32) { real.flock(fd, operation) }
    func ftruncate(_ fd: Int32, _ length: Int64) -> (Int32, Int32) { real.ftruncate(fd, length) }
    func size(_ fd: Int32) -> (Int64, Int32) { real.size(fd) }
    func rename(_ from: String, _ to: String) -> (Int32, Int32) { real.rename(from, to) }

    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> (Int, Int32) {
        let (limit, interrupted, failure): (Int?, Bool, Int32?) = lock.withLock {
            writes += 1
            toggle.toggle()
            return (_maxWrite, _interrupt && toggle, _failWrite)
        }
        if interrupted { return (-1, EINTR) }
        if let failure {
            // Half the bytes reach the file before the failure, as when a disk fills mid-write.
            _ = real.write(fd, UnsafeRawBufferPointer(rebasing: bytes[..<(bytes.count / 2)]))
            return (-1, failure)
        }
        let n = min(bytes.count, limit ?? bytes.count)
        return real.write(fd, UnsafeRawBufferPointer(rebasing: bytes[..<n]))
    }

    func fdatasync(_ fd: Int32) -> (Int32, Int32) {
        let failure: Int32? = lock.withLock {
            syncs += 1
            defer { _failSync = nil }
            return _failSync
        }
        if let failure { return (-1, failure) }
        return syncsReachDisk ? real.fdatasync(fd) : (0, 0)
    }
}

final class FileLedgerStoreTests: XCTestCase {
    typealias C = LedgerStoreConformance

    func testConformance() async throws {
        let failures = await LedgerStoreConformance.run { try FileLedgerStore(directory: try Repository.temporaryDirectory().path + "/ledger") }
        XCTAssertEqual(failures, [])
    }

    private func directory() throws -> String { try Repository.temporaryDirectory().path + "/ledger" }

    private func monthPath(_ dir: String) -> String { dir + "/2026-12.jsonl" }

    func testFilesAreJSONLinesOnePerMonthThatJSONSerializationReads() async throws {
        let dir = try directory()
        let store = try FileLedgerStore(directory: dir)
        _ = try await store.append(C.lifecycle("j1"))
        let text = try String(contentsOfFile: monthPath(dir), encoding: .utf8)
        let lines = text.split(separator: "\n")
        XCTAssertEqual(lines.count, 7)
        for line in lines {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            XCTAssertEqual(object?["v"] as? Int, 4)
            XCTAssertEqual(object?["j"] as? String, "j1")
            XCTAssertNotNil(object?["c"] as? String)
        }
        XCTAssertTrue(lines[0].hasPrefix(#"{"v":4,"n":1,"t":1796205600000,"e":"decided","j":"j1""#), String(lines[0]))
    }

    /// A month begun by an older wanroute (schema version 1) and continued by this one (version 2):
    /// `Tests/Fixtures/ledger-versions/2026-12.jsonl`, committed so that the version 2 form, once on
    /// users' disks, stays readable. Job j1 starts in version 1 and ends in version 2.
    func testAMonthOfVersion1ThenVersion2LinesReadsAsOne() async throws {
        let j1 = C.lifecycle("j1"), j2 = C.lifecycle("j2", from: C.at(100))
        let expected = (j1 + j2).enumerated().map { LedgerRecord(sequence: Int64($0.offset + 1), event: $0.element) }
        var bytes: [UInt8] = []
        for r in expected { LedgerCodec.encode(r, version: r.sequence <= 3 ? 1 : 2, into: &bytes) }
        let fixture = Repository.fixtures.appendingPathComponent("ledger-versions/2026-12.jsonl")
        if GoldenFile.isRecording { try Data(bytes).write(to: fixture) }
        let committed = try Data(contentsOf: fixture)
        XCTAssertEqual(String(decoding: committed, as: UTF8.self), String(decoding: bytes, as: UTF8.self),
                       "the committed lines are what each version writes; WANROUTE_RECORD_GOLDEN=1 re-records them")

        let dir = try directory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try committed.write(to: URL(fileURLWithPath: monthPath(dir)))
        let store = try FileLedgerStore(directory: dir)
        XCTAssertTrue(store.recoveries.isEmpty)
        let read = try await store.records(in: C.t0.month)
        XCTAssertEqual(read, expected)
        let job = try await store.records(forJob: "j1")
        XCTAssertEqual(job, Array(expected.prefix(7)), "a job's version 1 and version 2 lines are found alike")
        XCTAssertEqual(JobState.fold(job)?.status, .succeeded)
        let month = BudgetMonth(C.t0.month)
        let allVersion2 = try FileLedgerStore(directory: try directory())
        _ = try await allVersion2.append(j1 + j2)
        let budget = try await store.budgetState(for: month)
        let budget2 = try await allVersion2.budgetState(for: month)
        XCTAssertEqual(budget, budget2)
        let next = try await store.append([C.decided("j3", C.at(300))])
        XCTAssertEqual(next.first?.sequence, 15)

        // A damaged version 1 line with version 2 lines after it is refused with the file and line.
        var damaged = committed
        damaged[damaged.firstIndex(of: UInt8(ascii: "\n"))! + 20] ^= 1
        let dirD = try directory()
        try FileManager.default.createDirectory(atPath: dirD, withIntermediateDirectories: true)
        try damaged.write(to: URL(fileURLWithPath: monthPath(dirD)))
        do {
            _ = try await FileLedgerStore(directory: dirD).records(in: C.t0.month)
            XCTFail("damage before the tail must be refused")
        } catch let LedgerError.damaged(file, line, _) {
            XCTAssertEqual(file, monthPath(dirD))
            XCTAssertEqual(line, 2)
        }
    }

    func testSequencesContinueAcrossStoresAndReopen() async throws {
        let dir = try directory()
        let a = try FileLedgerStore(directory: dir)
        let b = try FileLedgerStore(directory: dir)
        _ = try await a.append(C.lifecycle("a"))
        let fromB = try await b.append(C.lifecycle("b"))
        XCTAssertEqual(fromB.first?.sequence, 8, "a second store learns the last sequence number under the lock")
        let reopened = try FileLedgerStore(directory: dir)
        let again = try await reopened.append([C.decided("c", C.at(100))])
        XCTAssertEqual(again.first?.sequence, 15)
        XCTAssertTrue(reopened.recoveries.isEmpty)
    }

    /// The last record cut at every byte offset: the cut is set aside, nothing earlier is lost, and
    /// the ledger goes on from there.
    func testTornTailAtEveryByteOffsetIsMovedAsideWithNoEarlierRecordLost() async throws {
        let dir = try directory()
        let store = try FileLedgerStore(directory: dir)
        let written = try await store.append(C.lifecycle("j1"))
        let full = try Data(contentsOf: URL(fileURLWithPath: monthPath(dir)))
        let lastLength = LedgerCodec.encode(written.last!).count
        let keep = full.count - lastLength
        for cut in 0..<lastLength {
            let dirN = try directory()
            try FileManager.default.createDirectory(atPath: dirN, withIntermediateDirectories: true)
            try full.prefix(keep + cut).write(to: URL(fileURLWithPath: monthPath(dirN)))
            let reopened = try FileLedgerStore(directory: dirN, calls: FaultySystemCalls(syncs: false))
            let records = try await reopened.records(in: C.t0.month)
            XCTAssertEqual(records, Array(written.dropLast()), "cut at \(cut)")
            if cut == 0 {
                XCTAssertTrue(reopened.recoveries.isEmpty)
            } else {
                XCTAssertEqual(reopened.recoveries.count, 1, "cut at \(cut)")
                let torn = reopened.recoveries[0]
                XCTAssertEqual(torn.offset, Int64(keep))
                XCTAssertEqual(torn.length, cut)
                XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: torn.sideFile)), full.subdata(in: keep..<(keep + cut)), "the torn bytes are kept in the side file")
            }
            let next = try await reopened.append([C.decided("after", C.at(200))])
            XCTAssertEqual(next.first?.sequence, 7, "numbering continues after the last whole record (cut at \(cut))")
        }
    }

    func testLastLineWithBadChecksumIsTornButTheSameDamageEarlierIsRefusedWithFileAndLine() async throws {
        let dir = try directory()
        let store = try FileLedgerStore(directory: dir)
        _ = try await store.append(C.lifecycle("j1"))
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: monthPath(dir))))
        let lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        // Change one digit in the last line's amount: the checksum no longer matches.
        let lastStart = bytes.count - lines[lines.count - 2].count - 1
        let digit = bytes[lastStart...].firstIndex(of: UInt8(ascii: "1"))!
        bytes[digit] = UInt8(ascii: "9")
        try Data(bytes).write(to: URL(fileURLWithPath: monthPath(dir)))
        let reopened = try FileLedgerStore(directory: dir)
        XCTAssertEqual(reopened.recoveries.first?.reason, "its last line's checksum does not match")
        let records = try await reopened.records(in: C.t0.month)
        XCTAssertEqual(records.count, 6)

        // The same change in line 3 of 7 is damage: refused with the file and the line, on open
        // of the month and on any read.
        let dir2 = try directory()
        let store2 = try FileLedgerStore(directory: dir2)
        _ = try await store2.append(C.lifecycle("j1"))
        var bytes2 = try [UInt8](Data(contentsOf: URL(fileURLWithPath: monthPath(dir2))))
        let line3 = bytes2.indices.filter { bytes2[$0] == UInt8(ascii: "\n") }[1] + 1
        bytes2[line3 + 20] ^= 0x01
        try Data(bytes2).write(to: URL(fileURLWithPath: monthPath(dir2)))
        let reopened2 = try FileLedgerStore(directory: dir2)
        XCTAssertTrue(reopened2.recoveries.isEmpty)
        do {
            _ = try await reopened2.records(in: C.t0.month)
            XCTFail("a damaged middle line must be refused")
        } catch let e as LedgerError {
            XCTAssertEqual(e, .damaged(file: monthPath(dir2), line: 3, reason: LedgerLineError.badChecksum.description))
            XCTAssertTrue(e.description.contains("2026-12.jsonl:3:"), e.description)
        }
        do {
            _ = try await reopened2.budgetState(for: BudgetMonth(C.t0.month))
            XCTFail("budgets refuse a damaged month too")
        } catch let e as LedgerError {
            guard case .damaged(_, 3, _) = e else { return XCTFail("\(e)") }
        }
    }

    func testShortWritesAndInterruptedCallsStillWriteWholeLines() async throws {
        let dir = try directory()
        let faulty = FaultySystemCalls()
        faulty.maxWrite = 7
        faulty.interrupt = true
        let store = try FileLedgerStore(directory: dir, calls: faulty)
        let written = try await store.append(C.lifecycle("j1") + C.lifecycle("j2"))
        XCTAssertGreaterThan(faulty.writes, 200, "the batch went out in many short writes")
        let reread = try await FileLedgerStore(directory: dir).records(in: C.t0.month)
        XCTAssertEqual(reread, written)
    }

    func testFailedSyncIsFatalAndNothingIsRetried() async throws {
        let dir = try directory()
        let faulty = FaultySystemCalls()
        let store = try FileLedgerStore(directory: dir, calls: faulty)
        _ = try await store.append(C.lifecycle("ok"))
        faulty.failSync = EIO
        do {
            _ = try await store.append(C.lifecycle("lost"))
            XCTFail("a failed fdatasync must fail the append")
        } catch let e as LedgerError {
            guard case .syncFailed(let file, let reason) = e else { return XCTFail("\(e)") }
            XCTAssertEqual(file, monthPath(dir))
            XCTAssertTrue(reason.contains("fdatasync"), reason)
        }
        // The store stays stopped although the next sync would succeed: never retry and trust.
        do {
            _ = try await store.append(C.lifecycle("after"))
            XCTFail("a stopped store must refuse appends")
        } catch let e as LedgerError {
            guard case .stopped = e else { return XCTFail("\(e)") }
        }
        do {
            _ = try await store.reserve(ReservationRequest(event: C.reserved("r", C.at(1), "1.00"), limits: [], month: BudgetMonth(C.t0.month)))
            XCTFail("a stopped store must refuse reservations")
        } catch let e as LedgerError {
            guard case .stopped = e else { return XCTFail("\(e)") }
        }
        let survivors = try await FileLedgerStore(directory: dir).records(in: C.t0.month)
        XCTAssertEqual(Set(survivors.map(\.event.jobID)), ["ok"], "the failed batch was cut back")
    }

    func testFailedWriteIsFatalAndLeavesNoPartialLine() async throws {
        let dir = try directory()
        let faulty = FaultySystemCalls()
        let store = try FileLedgerStore(directory: dir, calls: faulty)
        _ = try await store.append(C.lifecycle("ok"))
        faulty.failWrite = ENOSPC
        do {
            _ = try await store.append(C.lifecycle("lost"))
            XCTFail("a failed write must fail the append")
        } catch let e as LedgerError {
            guard case .writeFailed = e else { return XCTFail("\(e)") }
            XCTAssertTrue(e.description.contains("wanroute resume"), e.description)
        }
        let reopened = try FileLedgerStore(directory: dir)
        XCTAssertTrue(reopened.recoveries.isEmpty, "the partial batch was cut back before anyone saw it")
        let records = try await reopened.records(in: C.t0.month)
        XCTAssertEqual(records.count, 7)
    }

    func testAnotherProcessesTornTailIsSetAsideBeforeTheNextAppend() async throws {
        let dir = try directory()
        let store = try FileLedgerStore(directory: dir)
        _ = try await store.append(C.lifecycle("j1"))
        // A writer dies half-way through its line.
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: monthPath(dir)))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(#"{"v":1,"seq":8,"at":"2026-12-02T10:0"#.utf8))
        try handle.close()
        let next = try await store.append([C.decided("j2", C.at(300))])
        XCTAssertEqual(next.first?.sequence, 8)
        XCTAssertEqual(store.laterTornTails.count, 1)
        let records = try await store.records(in: C.t0.month)
        XCTAssertEqual(records.map(\.sequence), Array(1...8))
    }

    func testGroupCommitWritesConcurrentAppendsInFewerSyncs() async throws {
        let dir = try directory()
        let faulty = FaultySystemCalls()
        let store = try FileLedgerStore(directory: dir, calls: faulty)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for w in 0..<16 {
                group.addTask { for i in 0..<10 { _ = try await store.append([C.decided("w\(w)-\(i)", C.at(Int64(i)))]) } }
            }
            try await group.waitForAll()
        }
        let records = try await store.records(in: C.t0.month)
        XCTAssertEqual(records.count, 160)
        XCTAssertLessThanOrEqual(faulty.syncs, 160, "never more than one sync per append")
    }

    func testBudgetSummaryIsUsedWhenItMatchesAndRebuiltWhenItDoesNot() async throws {
        let dir = try directory()
        let store = try FileLedgerStore(directory: dir)
        let month = BudgetMonth(C.t0.month)
        _ = try await store.append([C.reserved("a", C.at(1), "2.00"), C.reserved("b", C.at(2), "3.00"), C.settled("a", C.at(3), "1.00")])
        let odd = "we\tird \"job\"\nid"
        let extra = [C.reserved(odd, C.at(5), "0.10", tags: ["customer": "a b"]), C.reserved(odd, C.at(6), "0.20", provider: C.dashscope)]
        _ = try await store.append(extra)
        let before = try await store.budgetState(for: month)
        store.saveSummaries()
        let reread = try await FileLedgerStore(directory: dir).budgetState(for: month)
        XCTAssertEqual(reread, before, "the summary gives back exactly the fold")
        XCTAssertEqual(reread.openReservations, 2, "jobs with reservations open")
        _ = try await store.append([C.settled(odd, C.at(7), "0.15")])
        let settledOdd = try await FileLedgerStore(directory: dir).budgetState(for: month)
        XCTAssertEqual(settledOdd.settled[.provider(C.dashscope)], Money(decimal: "0.15", currency: .usd), "settled under the latest reservation's keys")
        XCTAssertNil(settledOdd.reserved[.tag("customer", "a b")])
        _ = try await store.append([C.reserved("b2", C.at(8), "0.00")])
        // Budget summaries are `MONTH@ZONE.json` (job summaries, `jobs-MONTH.bin`, sit beside them).
        let names = try FileManager.default.contentsOfDirectory(atPath: dir + "/summaries").filter { $0.hasSuffix(".json") }
        XCTAssertEqual(names.count, 1)
        XCTAssertTrue(names[0].hasPrefix("2026-12@"), names[0])
        let summary = dir + "/summaries/" + names[0]
        // A fresh store reads the summary and extends it with what was appended since.
        _ = try await store.append([C.reserved("c", C.at(4), "4.00")])
        let fresh = try FileLedgerStore(directory: dir)
        let s = try await fresh.budgetState(for: month)
        XCTAssertEqual(s.committed(.total), Money(decimal: "8.15", currency: .usd))

        // A summary that claims more than the ledger holds is not trusted: the month is folded again.
        var text = try String(contentsOfFile: summary, encoding: .utf8)
        XCTAssertTrue(text.contains("reserved\t\"total\"\t"), text)
        text = text.replacingOccurrences(of: "reserved\t\"total\"\t", with: "reserved\t\"total\"\t999")
        try text.write(toFile: summary, atomically: true, encoding: .utf8)
        let s2 = try await FileLedgerStore(directory: dir).budgetState(for: month)
        XCTAssertEqual(s2.committed(.total), Money(decimal: "8.15", currency: .usd), "a summary failing its checksum is ignored")

        // A summary whose covered prefix no longer matches the file is ignored too.
        let other = try directory()
        let store3 = try FileLedgerStore(directory: other)
        _ = try await store3.append([C.reserved("x", C.at(1), "5.00")])
        _ = try await store3.budgetState(for: month)
        store3.saveSummaries()
        try FileManager.default.removeItem(atPath: monthPath(other))
        let store4 = try FileLedgerStore(directory: other)
        _ = try await store4.append([C.reserved("y", C.at(1), "7.00"), C.reserved("z", C.at(2), "0.01")])
        let s4 = try await store4.budgetState(for: month)
        XCTAssertEqual(s4.committed(.total), Money(decimal: "7.01", currency: .usd))
    }
    /// The file's coverage as a budget summary records it (`file MONTH OFFSET …`), or nil.
    private func summaryCoverage(_ path: String, _ month: String = "2026-12") -> Int64? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let f = line.split(separator: "\t")
            if f.count > 2, f[0] == "file", f[1] == month { return Int64(f[2]) }
        }
        return nil
    }

    /// A writer that never reserves (the benchmark's, an import) still leaves the UTC month's budget
    /// summary current, and keeps current any other zone's month it has loaded: the first report
    /// after it need not fold the month for its budgets.
    func testEveryWriterLeavesItsBudgetSummariesCurrent() async throws {
        let dir = try directory()
        let berlin = BudgetMonth(C.t0.month, zone: TimeZone(identifier: "Europe/Berlin")!)
        let writer = try FileLedgerStore(directory: dir)
        _ = try await writer.append([C.reserved("a", C.at(1), "2.00"), C.reserved("b", C.at(2), "3.00")])
        _ = try await writer.budgetState(for: berlin)
        _ = try await writer.append([C.settled("a", C.at(3), "1.50"), C.reserved("c", C.at(4), "0.25", tags: ["customer": "film"])])
        writer.saveSummaries()
        let size = (try FileManager.default.attributesOfItem(atPath: monthPath(dir))[.size] as? NSNumber)?.int64Value
        let utcPath = dir + "/summaries/2026-12@\(BudgetMonth(C.t0.month).zone.identifier).json"
        XCTAssertEqual(summaryCoverage(utcPath), size, "the UTC month, never asked for, covers the whole file")
        XCTAssertEqual(summaryCoverage(dir + "/summaries/2026-12@Europe_Berlin.json"), size, "the zone loaded by this writer too")

        // What they say is what folding the ledger says.
        for month in [BudgetMonth(C.t0.month), berlin] {
            let fromSummary = try await FileLedgerStore(directory: dir).budgetState(for: month)
            let copy = try directory()
            try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: monthPath(dir), toPath: monthPath(copy))
            let folded = try await FileLedgerStore(directory: copy).budgetState(for: month)
            XCTAssertEqual(fromSummary, folded, month.description)
            XCTAssertEqual(fromSummary.committed(.total), Money(decimal: "4.75", currency: .usd))
        }

        // Another process's lines in between are folded from the file before the writer's own.
        let other = try FileLedgerStore(directory: dir)
        _ = try await other.append([C.reserved("d", C.at(5), "1.00")])
        _ = try await writer.append([C.reserved("e", C.at(6), "0.50")])
        writer.saveSummaries()
        let grown = (try FileManager.default.attributesOfItem(atPath: monthPath(dir))[.size] as? NSNumber)?.int64Value
        XCTAssertEqual(summaryCoverage(utcPath), grown)
        let state = try await FileLedgerStore(directory: dir).budgetState(for: BudgetMonth(C.t0.month))
        XCTAssertEqual(state.committed(.total), Money(decimal: "6.25", currency: .usd))
    }

    /// A November reservation settled in December's file: November's summary records how far into
    /// the later file it has folded, is extended from there, and is rebuilt when that file no longer
    /// holds what it covered; every way, the same figures as folding the ledger.
    func testABudgetSummaryCoversTheLaterFilesThatCloseItsReservations() async throws {
        let dir = try directory()
        let nov = BudgetMonth(LedgerMonth("2026-11")!)
        let store = try FileLedgerStore(directory: dir)
        _ = try await store.append([C.reserved("a", LedgerTime("2026-11-30T23:59:00.000Z")!, "2.00"),
                                    C.reserved("b", LedgerTime("2026-11-30T23:59:30.000Z")!, "1.00")])
        _ = try await store.budgetState(for: nov)
        store.saveSummaries()
        let summary = dir + "/summaries/2026-11@\(nov.zone.identifier).json"
        XCTAssertNotNil(summaryCoverage(summary, "2026-11"))
        XCTAssertNil(summaryCoverage(summary, "2026-12"))
        _ = try await store.append([C.settled("a", LedgerTime("2026-12-01T00:02:00.000Z")!, "1.75")])
        let settled = try await FileLedgerStore(directory: dir).budgetState(for: nov)
        XCTAssertEqual(settled.settled[.total], Money(decimal: "1.75", currency: .usd))
        XCTAssertEqual(settled.reserved[.total], Money(decimal: "1.00", currency: .usd))
        let reader = try FileLedgerStore(directory: dir)
        _ = try await reader.budgetState(for: nov)
        reader.saveSummaries()
        let decSize = (try FileManager.default.attributesOfItem(atPath: dir + "/2026-12.jsonl")[.size] as? NSNumber)?.int64Value
        XCTAssertEqual(summaryCoverage(summary, "2026-12"), decSize, "the summary covers the later file it read")

        // Extended from the summary: a release in January's file closes b.
        _ = try await store.append([LedgerEvent(time: LedgerTime("2027-01-03T08:00:00.000Z")!, jobID: "b", body: .released(detail: "resume"))])
        let closed = try await FileLedgerStore(directory: dir).budgetState(for: nov)
        XCTAssertEqual(closed.openReservations, 0)
        XCTAssertNil(closed.reserved[.total])
        XCTAssertEqual(closed.settled[.total], Money(decimal: "1.75", currency: .usd))

        // December's file replaced by a shorter one (a restore): the summary is not trusted, the month is folded again.
        try FileManager.default.removeItem(atPath: dir + "/2026-12.jsonl")
        let refolded = try await FileLedgerStore(directory: dir).budgetState(for: nov)
        XCTAssertEqual(refolded.settled[.total], nil, "a's settlement is gone with its file")
        XCTAssertEqual(refolded.reserved[.total], Money(decimal: "2.00", currency: .usd))
        XCTAssertEqual(refolded.openReservations, 1)
    }
}

