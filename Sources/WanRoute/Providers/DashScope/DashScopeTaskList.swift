import Foundation

/// DashScope's task list, `GET /api/v1/tasks`: the account's tasks by time window and model.
///
/// What we rely on, from DashScope's own SDKs (the batch-query section of the API page was not in
/// our copies; FACTS.md names the endpoint): the Python SDK's `list(start_time, end_time,
/// model_name, api_key_id, region, status, page_no=1, page_size=10)` says "start_time (str,
/// optional): The tasks start time, for example: 20230420000000"; the Java SDK reads the answer as
/// `{request_id, data: [{task_id, model_name, status, gmt_create, …}], total, total_page, page_no,
/// page_size}`, `gmt_create` a number (epoch milliseconds).
///
/// What nothing says, we do not rely on:
/// - the time zone of `start_time` / `end_time`: the window asked for is widened by 14 hours on
///   each side (every zone from UTC-12 to UTC+14 then covers it) and the answer is filtered on
///   `gmt_create`, which names an instant;
/// - which time the window filters on, and whether the model filter is exact: each item's model
///   and creation time are checked again here;
/// - the largest page: pages of 10 (the SDK's default), at most ``largestListedTasks`` tasks;
/// - a consistent order across pages: ids are de-duplicated, and a `total` that changes between
///   pages (the list moved while it was read) or a page of only repeated ids is an error rather
///   than a list with gaps.
extension DashScopeAdapter: TaskListing {
    /// Widening of the asked window on each side, for a time zone the documentation does not name.
    static let zoneAllowance: TimeInterval = 14 * 3_600
    /// Tasks asked for per page: the SDK's default, which the service surely accepts.
    static let listPageSize = 10
    /// The most tasks read from one list (``listPageSize`` a page): more is an error. DashScope runs
    /// one task at a time per account, so a 28-hour window of animate tasks holds fewer.
    static let largestListedTasks = 5_000

    /// The longest each exchange waits for its answer, in seconds.
    public var requestTimeout: Double { http.timeout }

    /// Lists the tasks of `behavior`'s model created from `from` to `to` (see ``TaskListing``).
    public func listTasks(behavior: Behavior, createdFrom from: Date, to: Date, apiKey: String) async throws(ProviderError) -> [ListedTask] {
        try await ProviderHTTP.redacting(apiKey) { () async throws(ProviderError) -> [ListedTask] in
            guard from <= to else { return [] }
            let model = Self.model(behavior)
            var found: [ListedTask] = []
            var seen = Set<String>()
            var total: Int?
            var page = 1
            while true {
                let query = [("start_time", Self.listTime(from.addingTimeInterval(-Self.zoneAllowance))),
                             ("end_time", Self.listTime(to.addingTimeInterval(Self.zoneAllowance))),
                             ("model_name", model), ("page_no", String(page)), ("page_size", String(Self.listPageSize))]
                let response = try await http.send("GET", http.url("/api/v1/tasks", query: query), apiKey: apiKey, call: .status)
                let json = ProviderHTTP.json(response.body)
                guard (200...299).contains(response.status) else { throw Self.error(response, json) }
                guard let json, let items = json["data"]?.wireArray ?? (json["data"] == .null ? [] : nil) else {
                    throw .retryLater("DashScope's task list answer is unreadable: \(ProviderHTTP.snippet(response.body))")
                }
                let pageTotal = json["total"]?.wireInt
                if let pageTotal, pageTotal < 0 { throw .retryLater("DashScope's task list gave a negative total (\(pageTotal))") }
                if page == 1 {
                    total = pageTotal
                } else if pageTotal != total {
                    throw .retryLater("DashScope's task list changed while it was read (total \(total.map(String.init) ?? "none"), then \(pageTotal.map(String.init) ?? "none")); ask again")
                }
                if let total, total > Self.largestListedTasks {
                    throw .badRequest("DashScope lists \(total) tasks of \(model) around this window, more than the \(Self.largestListedTasks) wanroute reads; find the task in the console")
                }
                var fresh = 0
                for item in items {
                    guard let id = item["task_id"]?.wireText, seen.insert(id).inserted else { continue }
                    if seen.count > Self.largestListedTasks {
                        throw .badRequest("DashScope's task list holds more than \(Self.largestListedTasks) tasks of \(model) around this window; find the task in the console")
                    }
                    fresh += 1
                    if let task = Self.listedTask(item, model: model, from: from, to: to) { found.append(task) }
                }
                if page > 1, !items.isEmpty, fresh == 0 {
                    throw .retryLater("DashScope's task list answered page \(page) with tasks it had already listed; ask again")
                }
                let pages = json["total_page"]?.wireInt ?? total.map { ($0 + Self.listPageSize - 1) / Self.listPageSize }
                if items.isEmpty || page >= (pages ?? (items.count < Self.listPageSize ? page : page + 1)) { break }
                if page * Self.listPageSize >= Self.largestListedTasks {
                    throw .badRequest("DashScope's task list goes on past \(Self.largestListedTasks) tasks of \(model); find the task in the console")
                }
                page += 1
            }
            return found
        }
    }

    /// An item of the list, when it may be a task of `model` created from `from` to `to`: an
    /// unreadable model or time cannot rule it out. Items without a usable id are skipped.
    static func listedTask(_ item: JSONValue, model: String, from: Date, to: Date) -> ListedTask? {
        guard let id = item["task_id"]?.wireText, !id.isEmpty, id.utf8.count <= 200 else { return nil }
        if let listed = item["model_name"]?.stringValue, listed != model { return nil }
        var created: Date?
        if let ms = item["gmt_create"]?.wireText.flatMap({ Int64($0) }), ms > 0, ms < 1 << 50 {
            created = Date(timeIntervalSince1970: Double(ms) / 1_000)
            if created! < from || created! > to { return nil }
        }
        let status = item["status"]?.stringValue.map { String($0.prefix(40)) }
        return ListedTask(taskID: id, createdAt: created, status: status)
    }

    /// `YYYYMMDDhhmmss` in UTC (the zone allowance covers the zone DashScope reads it in).
    static func listTime(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(format: "%04d%02d%02d%02d%02d%02d", c.year ?? 0, c.month ?? 0, c.day ?? 0, c.hour ?? 0, c.minute ?? 0, c.second ?? 0)
    }
}
