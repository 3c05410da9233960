import Foundation
import XCTest
@testable import WanRoute

/// DashScope's task list: the simulator's `GET /api/v1/tasks` and the adapter's ``TaskListing``,
/// over real loopback HTTP, with hostile answers.
final class DashScopeTaskListTests: XCTestCase {
    let key = ProviderTestKit.key
    /// A provider clock the tests move: tasks are created at its time.
    final class ProviderClock: @unchecked Sendable {
        private let lock = NSLock()
        private var now: Date
        init(_ start: Date) { now = start }
        var date: Date { lock.withLock { now } }
        func set(_ d: Date) { lock.withLock { now = d } }
    }

    static let noon = Date(timeIntervalSince1970: 1_796_212_800)  // 2026-12-02 12:00:00 UTC

    func kit(_ clock: ProviderClock) throws -> ProviderTestKit {
        var configuration = ProviderSimulator.Configuration(apiKey: key)
        configuration.clock = { clock.date }
        return try ProviderTestKit(configuration)
    }

    func get(_ url: String, key: String? = nil) async throws -> (Int, JSONValue) {
        var headers: HTTPHeaders = [:]
        headers.fields.append(HTTPField("Authorization", "Bearer \(key ?? self.key)"))
        let answer = try await ProviderTestKit.transport.send(TransportRequest(method: "GET", url: URL(string: url)!, headers: headers, timeout: 10))
        return (answer.status, try JSONParser.parse(bytes: answer.body))
    }

    /// Creates `count` DashScope tasks a minute apart from `start`, returning their ids.
    func submit(_ kit: ProviderTestKit, _ clock: ProviderClock, count: Int, from start: Date, behavior: Behavior = .animate,
                provider: ProviderID = ProviderEndpoints.dashscopeIntl) async throws -> [String] {
        let adapter = kit.adapter(provider)
        var ids: [String] = []
        for i in 0..<count {
            clock.set(start.addingTimeInterval(Double(i) * 60))
            ids.append(try await adapter.submit(ProviderTestKit.request(provider, behavior: behavior), apiKey: provider == ProviderEndpoints.dashscopeCN ? ProviderSimulator.Configuration.chinaKey(for: key) : key))
        }
        return ids
    }

    func testTheSimulatorListsAnAccountsTasksByCreationTimeModelAndPage() async throws {
        let clock = ProviderClock(Self.noon)
        let kit = try kit(clock)
        defer { kit.stop() }
        let moves = try await submit(kit, clock, count: 5, from: Self.noon)
        _ = try await submit(kit, clock, count: 2, from: Self.noon, behavior: .replace)
        _ = try await submit(kit, clock, count: 1, from: Self.noon, provider: ProviderEndpoints.dashscopeCN)
        // 12:00-12:03 UTC is 20:00-20:03 in Beijing time, the zone the simulator reads.
        let base = kit.baseURL.absoluteString + "/api/v1/tasks?start_time=20261202200000&end_time=20261202200300&model_name=wan2.2-animate-move"
        let (status, first) = try await get(base + "&page_size=2")
        XCTAssertEqual(status, 200)
        XCTAssertEqual(first["total"]?.wireInt, 4, "12:00 to 12:03 inclusive, move only, this account only")
        XCTAssertEqual(first["total_page"]?.wireInt, 2)
        XCTAssertEqual(first["page_no"]?.wireInt, 1)
        XCTAssertEqual(first["page_size"]?.wireInt, 2)
        let items = first["data"]?.wireArray ?? []
        XCTAssertEqual(items.compactMap { $0["task_id"]?.stringValue }, [moves[3], moves[2]], "newest first")
        XCTAssertEqual(items[0]["gmt_create"]?.wireNumber, String((Self.noon.timeIntervalSince1970 + 180) * 1_000).replacingOccurrences(of: ".0", with: ""))
        XCTAssertEqual(items[0]["model_name"]?.stringValue, "wan2.2-animate-move")
        XCTAssertEqual(items[0]["status"]?.stringValue, "PENDING")
        let (_, second) = try await get(base + "&page_size=2&page_no=2")
        XCTAssertEqual(second["data"]?.wireArray?.compactMap { $0["task_id"]?.stringValue }, [moves[1], moves[0]])
        let (_, beyond) = try await get(base + "&page_size=2&page_no=3")
        XCTAssertEqual(beyond["data"]?.wireArray?.count, 0)

        let (bad, error) = try await get(kit.baseURL.absoluteString + "/api/v1/tasks?start_time=2026-12-02")
        XCTAssertEqual(bad, 400)
        XCTAssertEqual(error["code"]?.stringValue, "InvalidParameter")
        let (refused, _) = try await get(base, key: "wrong-key")
        XCTAssertEqual(refused, 401)
    }

    func testTheAdapterListsTheWindowAcrossPagesWhateverTheZone() async throws {
        let clock = ProviderClock(Self.noon)
        let kit = try kit(clock)
        defer { kit.stop() }
        // 30 tasks a minute apart: three pages of 10 before the window is filtered by gmt_create.
        let moves = try await submit(kit, clock, count: 30, from: Self.noon)
        _ = try await submit(kit, clock, count: 3, from: Self.noon, behavior: .replace)
        let lister = try XCTUnwrap(kit.adapter(ProviderEndpoints.dashscopeIntl) as? any TaskListing)
        let listed = try await lister.listTasks(behavior: .animate, createdFrom: Self.noon.addingTimeInterval(300),
                                                to: Self.noon.addingTimeInterval(600), apiKey: key)
        XCTAssertEqual(Set(listed.map(\.taskID)), Set(moves[5...10]), "created 12:05 to 12:10, both ends included")
        XCTAssertTrue(listed.allSatisfy { $0.createdAt != nil && $0.status == "PENDING" })
        let none = try await lister.listTasks(behavior: .animate, createdFrom: Self.noon.addingTimeInterval(-7_200),
                                              to: Self.noon.addingTimeInterval(-60), apiKey: key)
        XCTAssertEqual(none, [])
        XCTAssertNil(kit.adapter(ProviderEndpoints.apixo) as? any TaskListing, "only providers with a task list adopt it")
    }

    /// A server that answers every list page with `page(n)`.
    func hostile(_ page: @escaping @Sendable (Int) -> HTTPResponse) throws -> (LoopbackHTTPServer, any TaskListing) {
        let server = try LoopbackHTTPServer { request in
            let n = (request.query ?? "").split(separator: "&").first { $0.hasPrefix("page_no=") }.flatMap { Int($0.dropFirst(8)) } ?? 1
            return page(n)
        }
        let adapter = makeAdapter(for: ProviderEndpoints.dashscopeIntl, baseURL: URL(string: server.baseURL)!, transport: ProviderTestKit.transport,
                                  requestTimeout: 5, now: { Date() }) as! any TaskListing
        return (server, adapter)
    }

    static func page(_ ids: [String], total: Int, totalPages: Int?, echo: String = "") -> HTTPResponse {
        let items = ids.map { #"{"task_id": "\#($0)", "model_name": "wan2.2-animate-move", "gmt_create": \#(Int64(noon.timeIntervalSince1970 * 1_000)), "status": "RUNNING\#(echo)"}"# }
        let pages = totalPages.map { #", "total_page": \#($0)"# } ?? ""
        return Self.json(200, #"{"request_id": "r", "data": [\#(items.joined(separator: ","))], "total": \#(total)\#(pages)}"#)
    }

    static func json(_ status: Int, _ text: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: Array(text.utf8))
    }

    func listError(_ lister: any TaskListing) async -> ProviderError? {
        await thrownError { () async throws(ProviderError) -> [ListedTask] in
            try await lister.listTasks(behavior: .animate, createdFrom: Self.noon.addingTimeInterval(-60), to: Self.noon.addingTimeInterval(60), apiKey: key)
        }
    }

    func testHostileListsEndInAClearErrorWithinBounds() async throws {
        // Every page claims more: a list that never ends is cut at the bound, not followed.
        var (server, lister) = try hostile { n in Self.page((0..<10).map { "t-\(n)-\($0)" }, total: 9, totalPages: 1_000_000_000) }
        guard case .badRequest(let m)? = await listError(lister) else { return XCTFail("an endless list") }
        XCTAssertTrue(m.contains("5000"), m)
        server.stop()
        // A total beyond the bound is refused at once.
        (server, lister) = try hostile { _ in Self.page(["a"], total: 1_000_000, totalPages: 100_000) }
        guard case .badRequest? = await listError(lister) else { return XCTFail("a huge total") }
        server.stop()
        // A server that ignores page_no repeats page 1: an error, not a loop.
        (server, lister) = try hostile { _ in Self.page((0..<10).map { "same-\($0)" }, total: 30, totalPages: 3) }
        guard case .retryLater(let repeated)? = await listError(lister) else { return XCTFail("a repeating list") }
        XCTAssertTrue(repeated.contains("already listed"), repeated)
        server.stop()
        // The list moves between pages: an error, never a list with gaps.
        (server, lister) = try hostile { n in Self.page((0..<10).map { "m-\(n)-\($0)" }, total: 19 + n, totalPages: 2) }
        guard case .retryLater(let moved)? = await listError(lister) else { return XCTFail("a moving list") }
        XCTAssertTrue(moved.contains("changed"), moved)
        server.stop()
        // Not JSON, and an error answer that echoes the key: clear errors, the key removed.
        (server, lister) = try hostile { _ in .text(200, "<html>") }
        guard case .retryLater? = await listError(lister) else { return XCTFail("not JSON") }
        server.stop()
        (server, lister) = try hostile { [key] _ in Self.json(401, #"{"code": "InvalidApiKey", "message": "bad key \#(key)"}"#) }
        guard case .auth? = await listError(lister) else { return XCTFail("refused key") }
        server.stop()
        // Items without ids or with another model are skipped; an unreadable time is kept (not ruled out).
        (server, lister) = try hostile { _ in
            Self.json(200, #"{"data": [{"task_id": ""}, {"no_id": 1}, {"task_id": "mix", "model_name": "wan2.2-animate-mix"}, {"task_id": "when", "gmt_create": "soon"}], "total": 4, "total_page": 1}"#)
        }
        let listed = try await lister.listTasks(behavior: .animate, createdFrom: Self.noon, to: Self.noon, apiKey: key)
        XCTAssertEqual(listed, [ListedTask(taskID: "when", createdAt: nil, status: nil)])
        server.stop()
        // A page that echoes the key: the key is gone from what the adapter returns.
        (server, lister) = try hostile { [key] _ in Self.page(["k"], total: 1, totalPages: 1, echo: key) }
        let echoed = try await lister.listTasks(behavior: .animate, createdFrom: Self.noon, to: Self.noon, apiKey: key)
        XCTAssertFalse("\(echoed)".contains(key), "\(echoed)")
        server.stop()
    }

    func testTimesAreSentAsDigitsInUTCWidenedForAnyZone() {
        XCTAssertEqual(DashScopeAdapter.listTime(Self.noon), "20261202120000")
        XCTAssertEqual(TaskListQuery.time("20261202200000"), Self.noon, "the simulator reads Beijing time")
        XCTAssertNil(TaskListQuery.time("20261302200000"))
        XCTAssertNil(TaskListQuery.time("2026120220000x"))
    }
}
