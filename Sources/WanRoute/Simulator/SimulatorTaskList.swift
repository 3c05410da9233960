import Foundation

/// The query of DashScope's task list, `GET /api/v1/tasks`, as the simulator reads it.
///
/// Parameter names, the time format and the response shape follow DashScope's own SDKs (the API
/// page's batch-query section was not in our copies): the Python SDK's `list(start_time,
/// end_time, model_name, api_key_id, region, status, page_no=1, page_size=10)` documents
/// "start_time (str, optional): The tasks start time, for example: 20230420000000", and the Java
/// SDK reads `{request_id, data: [{task_id, model_name, status, gmt_create, start_time, end_time,
/// region, request_id, api_key_id, …}], total, total_page, page_no, page_size}` with `gmt_create`
/// a number (epoch milliseconds).
///
/// What no source says, the simulator chooses and wanroute does not rely on: the times are read in
/// Beijing time (UTC+8, DashScope's home region), a task is listed when its creation time lies in
/// `[start_time, end_time]` (whole seconds, both ends included), newest first, `page_size` is
/// 1-100, and without a time bound every retained task of the account is listed.
struct TaskListQuery: Equatable {
    var from: Date?
    var to: Date?
    var model: String?
    var status: String?
    var pageNumber: Int
    var pageSize: Int

    /// The zone the simulator reads `start_time` / `end_time` in.
    static let zone = TimeZone(secondsFromGMT: 8 * 3_600)!
    /// The largest page the simulator serves.
    static let largestPage = 100

    static func parse(_ query: [String: String]) -> Result<TaskListQuery, SimulatedError> {
        var q = TaskListQuery(pageNumber: 1, pageSize: 10)
        for (name, value) in [("start_time", \TaskListQuery.from), ("end_time", \TaskListQuery.to)] {
            guard let text = query[name] else { continue }
            guard let date = time(text) else { return .failure(.invalid("\(name) must be YYYYMMDDhhmmss, not '\(text)'")) }
            q[keyPath: value] = date
        }
        q.model = query["model_name"]
        q.status = query["status"]
        if let text = query["page_no"] {
            guard let n = Int(text), n >= 1 else { return .failure(.invalid("page_no must be a whole number from 1")) }
            q.pageNumber = n
        }
        if let text = query["page_size"] {
            guard let n = Int(text), (1...largestPage).contains(n) else { return .failure(.invalid("page_size must be a whole number from 1 to \(largestPage)")) }
            q.pageSize = n
        }
        return .success(q)
    }

    /// `YYYYMMDDhhmmss` in ``zone``, or nil.
    static func time(_ text: String) -> Date? {
        guard text.utf8.count == 14, text.utf8.allSatisfy({ (48...57).contains($0) }) else { return nil }
        let digits = Array(text.utf8).map { Int($0) - 48 }
        func n(_ at: Int, _ count: Int) -> Int { digits[at..<(at + count)].reduce(0) { $0 * 10 + $1 } }
        var c = DateComponents()
        (c.year, c.month, c.day, c.hour, c.minute, c.second) = (n(0, 4), n(4, 2), n(6, 2), n(8, 2), n(10, 2), n(12, 2))
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        guard c.isValidDate(in: calendar), let date = calendar.date(from: c) else { return nil }
        return date
    }

    /// Whether a task created at `created` with `model` and `status` is listed.
    func includes(created: Date, model: String, status: String) -> Bool {
        if let from, created < from { return false }
        if let to, created >= to.addingTimeInterval(1) { return false }
        if let m = self.model, m != model { return false }
        if let s = self.status, s != status { return false }
        return true
    }
}

extension SimulatorWire {
    /// DashScope's model name for a behaviour.
    static func dashScopeModel(_ behavior: Behavior) -> String {
        behavior == .animate ? "wan2.2-animate-move" : "wan2.2-animate-mix"
    }

    /// One item of DashScope's task list.
    static func listedTask(_ task: SimulatedTask, status: String, requestID: String) -> JSONValue {
        let region = task.provider == ProviderEndpoints.dashscopeCN ? "cn-beijing" : "ap-southeast-1"
        return obj(("api_key_id", s("sim-key-id")), ("caller_uid", s("sim-account")), ("gmt_create", .number(String(millis(task.createdAt)))),
                   ("model_name", s(dashScopeModel(task.behavior))), ("region", s(region)), ("request_id", s(requestID)),
                   ("status", s(status)), ("task_id", s(task.id)))
    }

    /// Milliseconds since 1970, as DashScope's `gmt_create`.
    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000).rounded(.down)) }
}
