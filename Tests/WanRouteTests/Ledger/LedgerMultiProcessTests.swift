import Foundation
import WanRouteTestSupport
import WanRouteTesting
import XCTest
@testable import WanRoute

/// Real processes sharing one ledger: the test binary runs itself again in a child mode
/// (`WANROUTE_LEDGER_CHILD`), so no hidden command is needed in the CLI.
final class LedgerMultiProcessTests: XCTestCase {
    typealias C = LedgerStoreConformance
    static let processes = 8

    func testEightProcessesAppendingLeaveAValidLedgerWithNoInterleavedDuplicatedOrLostLines() async throws {
        let dir = try Repository.temporaryDirectory().path + "/ledger"
        let perProcess = 40
        let outputs = try runChildren((0..<Self.processes).map { "append \(dir) \($0) \(perProcess)" })
        XCTAssertEqual(outputs.count, Self.processes)
        let store = try FileLedgerStore(directory: dir)
        XCTAssertTrue(store.recoveries.isEmpty)
        let records = try await store.records(in: C.t0.month)
        XCTAssertEqual(records.count, Self.processes * perProcess * 7, "no line lost or duplicated")
        XCTAssertEqual(records.map(\.sequence), Array(1...Int64(records.count)), "one unbroken sequence")
        // Each process's batch of 7 is whole and in order: never interleaved with another's.
        var jobs = Set<String>()
        var i = 0
        while i < records.count {
            let job = records[i].event.jobID
            XCTAssertTrue(jobs.insert(job).inserted, "job \(job) appears twice")
            XCTAssertEqual(records[i..<(i + 7)].map(\.event), C.lifecycle(job))
            i += 7
        }
        XCTAssertEqual(jobs.count, Self.processes * perProcess)
    }

    func testEightProcessesReservingAgainstOneBudgetNeverOvershoot() async throws {
        let dir = try Repository.temporaryDirectory().path + "/ledger"
        // 8 × 30 attempts of USD 0.70 against USD 50.00: 71 fit (49.70), no more.
        let outputs = try runChildren((0..<Self.processes).map { "reserve \(dir) \($0) 30" })
        let admitted = outputs.compactMap { Int($0.split(separator: "\n").last(where: { $0.hasPrefix("admitted ") })?.dropFirst(9) ?? "") }
        XCTAssertEqual(admitted.count, Self.processes, "every child reports: \(outputs)")
        XCTAssertEqual(admitted.reduce(0, +), 71)
        let store = try FileLedgerStore(directory: dir)
        let state = try await store.budgetState(for: BudgetMonth(C.t0.month))
        XCTAssertEqual(state.committed(.total), Money(decimal: "49.70", currency: .usd))
        XCTAssertLessThanOrEqual(state.committed(.total).nanos, Money(decimal: "50.00", currency: .usd)!.nanos)
    }

    /// Jobs written a step at a time by eight processes (half of them decided in the month
    /// before), read meanwhile by two more, each reading on from the job summaries others saved.
    func testReadersWhileEightProcessesAppendStepByStep() async throws {
        let dir = try Repository.temporaryDirectory().path + "/ledger"
        let perProcess = 30
        let outputs = try runChildren((0..<Self.processes).map { "steps \(dir) \($0) \(perProcess)" } + ["read \(dir) r 40", "read \(dir) r 40"])
        XCTAssertEqual(outputs.filter { $0.contains("read 40") }.count, 2, "\(outputs)")
        let store = try FileLedgerStore(directory: dir)
        let december = try await store.records(in: C.t0.month)
        XCTAssertEqual(december.count, Self.processes * perProcess * 6 - Self.processes * perProcess / 2)
        let open = try await FileLedgerStore(directory: dir).openJobs()
        XCTAssertEqual(open.map(\.id), [])
        var ids: Set<String> = []
        for w in 0..<Self.processes { for i in 0..<perProcess { ids.insert("p\(w)-\(i)") } }
        let states = try await FileLedgerStore(directory: dir).states(of: ids)
        for id in ids {
            let job = try await store.records(forJob: id)
            XCTAssertEqual(states[id], JobState.fold(job), id)
            XCTAssertEqual(states[id]?.status, .succeeded, id)
            XCTAssertEqual(states[id]?.tasks, [LedgerTask(provider: C.apixo, taskID: "task-\(id)")], id)
        }
    }

    /// The child side: does nothing unless started by one of the tests above.
    func testChildProcess() async throws {
        guard let mode = ProcessInfo.processInfo.environment["WANROUTE_LEDGER_CHILD"] else { return }
        let parts = mode.split(separator: " ").map(String.init)
        let store = try FileLedgerStore(directory: parts[1])
        let writer = parts[2], count = Int(parts[3])!
        switch parts[0] {
        case "append":
            for i in 0..<count { _ = try await store.append(C.lifecycle("p\(writer)-\(i)")) }
            print("appended \(count)")
        case "reserve":
            let limits = [BudgetLimit(budgetID: "studio", key: .total, monthly: Money(decimal: "50.00", currency: .usd)!)]
            var admitted = 0
            for i in 0..<count {
                let outcome = try await store.reserve(ReservationRequest(
                    event: C.reserved("p\(writer)-\(i)", C.at(Int64(i)), "0.70"), limits: limits, month: BudgetMonth(C.t0.month)))
                if case .reserved = outcome { admitted += 1 }
            }
            print("admitted \(admitted)")
        case "steps":
            // Each step its own append, so that other processes' lines come between a job's.
            for i in 0..<count {
                let job = "p\(writer)-\(i)"
                let decidedAt = i % 2 == 0 ? C.at(Int64(i)) : C.at(Int64(i), from: LedgerTime("2026-11-30T23:00:00.000Z")!)
                _ = try await store.append([C.decided(job, decidedAt)])
                for e in C.lifecycle(job, from: C.at(Int64(i))).dropFirst(2) { _ = try await store.append([e]) }
            }
            print("appended \(count)")
        case "read":
            // Readers while the writers append: each a new store, from the summaries on disk.
            for _ in 0..<count {
                let reader = try FileLedgerStore(directory: parts[1])
                _ = try await reader.openJobs()
                try await reader.forEachReportJob(in: try ReportPeriod(month: "2026-12"), catalog: try PriceCatalog.builtIn()) { _ in }
                _ = try await reader.states(of: ["p0-1", "p1-2"])
            }
            print("read \(count)")
        default:
            XCTFail("unknown child mode \(mode)")
        }
    }

    /// Starts one child per mode at once and returns their standard outputs once all have exited 0.
    private func runChildren(_ modes: [String]) throws -> [String] {
        let binary = URL(fileURLWithPath: ProcessInfo.processInfo.arguments[0])
        var running: [(Process, Pipe)] = []
        for mode in modes {
            let p = Process()
            p.executableURL = binary
            p.arguments = ["WanRouteTests.LedgerMultiProcessTests/testChildProcess"]
            p.environment = ProcessInfo.processInfo.environment.merging(["WANROUTE_LEDGER_CHILD": mode]) { $1 }
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            try p.run()
            running.append((p, out))
        }
        return running.map { p, out in
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0, "child failed: \(String(decoding: data, as: UTF8.self))")
            return String(decoding: data, as: UTF8.self)
        }
    }
}
