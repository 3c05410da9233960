import Foundation

/// An in-process fake of all four providers' APIs on one loopback port, for tests and dry runs.
///
/// Start it, point every adapter (or every `WANROUTE_*_BASE_URL`) at ``baseURL``, and it answers
/// DashScope, Modellix, AI/ML API and APIXO calls in their own wire formats. Their paths do not
/// collide except `GET /api/v1/tasks/{id}`, shared by DashScope and Modellix, which is answered
/// in the format of whichever provider created the task. DashScope's task list, `GET /api/v1/tasks`,
/// lists a DashScope account's tasks by creation time (see ``TaskListQuery``).
///
/// - Time: a task's state follows the number of status answers it has had, never the clock:
///   queued for ``Configuration/queuedPolls`` answers, running for ``Configuration/runningPolls``,
///   then finished. Tests with a virtual clock are therefore deterministic.
/// - Keys: each provider accepts the keys in ``Configuration/apiKeys``; DashScope serves both
///   regions and bills the region whose key was presented (international when both accept it).
/// - Reference duration: a video cannot be fetched here, so its duration is read from the video
///   URL's query `duration=SECONDS` (for example `https://media.test/clip.mp4?duration=7.5`);
///   without it, 5 s.
/// - Faults: scripted (``FaultRule``) and seeded random (``RandomFaults``); see ``SimulatedFault``.
/// - Billing: each finished task adds a ``BillingRecord`` with what the provider would bill,
///   priced with ``PriceCatalog/builtIn()``.
///
/// Always call ``stop()``: it also releases answers held by `stall` and `slowAnswer` faults.
public final class ProviderSimulator: @unchecked Sendable {
    /// What the simulator accepts and how tasks progress.
    public struct Configuration: Sendable {
        /// Keys each provider accepts. Providers missing here accept none.
        public var apiKeys: [ProviderID: Set<String>]
        /// Status answers that say queued before the task runs.
        public var queuedPolls: Int
        /// Status answers that say running before the task finishes.
        public var runningPolls: Int
        /// Faults to apply, in order.
        public var script: [FaultRule]
        /// Faults drawn at random, after the script.
        public var random: RandomFaults?
        /// Whether error messages quote the presented key (as some real APIs do).
        public var echoKeyInErrors: Bool
        /// Where result videos are said to be (never fetched).
        public var resultHost: String
        /// AI/ML API `credits_used` per started second of reference video (an arbitrary figure,
        /// USD 0.08 a second at 2,000,000 credits per dollar: the real rate is not published).
        public var aimlapiCreditsPerSecond: Int
        /// The longest a `stall` fault holds an answer if the simulator is not stopped, in seconds.
        public var stallLimit: Double
        /// Finished tasks (and their bills) kept for ``tasks`` and ``billing``: older ones are
        /// freed, so a long-running simulator's memory stays bounded. Unfinished tasks are kept.
        public var retainedFinishedTasks: Int
        /// How many times faster than real time provider time runs, as ``SystemTimeSource/speed``:
        /// the waits of `slowAnswer` and `stall` faults are this many times shorter (task progress
        /// follows polls, not the clock, so it needs no scaling).
        public var speed: Int64
        /// The provider's own calendar clock: when a task is created (DashScope's task list
        /// reports it). A real provider keeps its own time, so this reads the system clock unless
        /// a test gives its virtual one.
        public var clock: @Sendable () -> Date

        /// Creates a configuration in which every provider with an adapter accepts `apiKey`, except
        /// DashScope China, which accepts ``chinaKey(for:)``: the two DashScope regions are separate
        /// accounts, and the simulator bills the region whose key was presented. `wanroute simulate`
        /// and `run --sandbox` follow the same convention (`DASHSCOPE_API_KEY` for international,
        /// `DASHSCOPE_CN_API_KEY` for China; see ``ProviderCredentials``).
        public init(apiKey: String = "sim-key", queuedPolls: Int = 1, runningPolls: Int = 1, script: [FaultRule] = [],
                    random: RandomFaults? = nil, echoKeyInErrors: Bool = true) {
            apiKeys = Dictionary(uniqueKeysWithValues: ProviderEndpoints.defaults.keys.map { ($0, [apiKey]) })
            apiKeys[ProviderEndpoints.dashscopeCN] = [Self.chinaKey(for: apiKey)]
            self.queuedPolls = queuedPolls
            self.runningPolls = runningPolls
            self.script = script
            self.random = random
            self.echoKeyInErrors = echoKeyInErrors
            resultHost = "https://results.simulator.invalid"
            aimlapiCreditsPerSecond = 160_000
            stallLimit = 300
            retainedFinishedTasks = 10_000
            speed = 1
            clock = { Date() }
        }

        /// The key DashScope China accepts in a configuration made with `apiKey`: `apiKey-cn`.
        public static func chinaKey(for apiKey: String) -> String { apiKey + "-cn" }
    }

    private let configuration: Configuration
    private let catalog: PriceCatalog?
    // Everything below is guarded by `condition` (a lock that stalled answers also wait on).
    private let condition = NSCondition()
    private var server: LoopbackHTTPServer?
    private var stopping = false
    private var script: [FaultRule]
    private var random: SplitMix64?
    private var taskList: [SimulatedTask] = []
    private var taskIndex: [String: Int] = [:]
    private var records: [BillingRecord] = []
    /// The bill of each retained finished task, by task id (a poll looks it up in O(1)).
    private var recordByTask: [String: BillingRecord] = [:]
    private var submissions: [ProviderID: Int] = [:]
    private var counter = 0

    /// Creates a simulator; call ``start(port:)`` to serve.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
        script = configuration.script
        random = configuration.random.map { SplitMix64(seed: $0.seed) }
        catalog = try? PriceCatalog.builtIn()
    }

    deinit { stop() }

    /// Starts serving on 127.0.0.1:`port` (0 = any free port) and returns ``baseURL``.
    @discardableResult
    public func start(port: UInt16 = 0) throws -> URL {
        let server = try LoopbackHTTPServer(port: port) { [unowned self] request in self.handle(request) }
        condition.withLock { self.server = server }
        return URL(string: server.baseURL)!
    }

    /// `http://127.0.0.1:PORT` once started.
    public var baseURL: URL? { condition.withLock { server.map { URL(string: $0.baseURL)! } } }

    /// Releases held answers and stops the server. Safe to call more than once.
    public func stop() {
        let s = condition.withLock { () -> LoopbackHTTPServer? in
            stopping = true
            condition.broadcast()
            return server
        }
        s?.stop()
    }

    /// Adds a scripted fault while running.
    public func inject(_ rule: FaultRule) { condition.withLock { script.append(rule) } }

    /// Every task created so far, in creation order (including those whose answer was lost).
    public var tasks: [SimulatedTask] { condition.withLock { taskList } }

    /// `GET /simulator/record`: the simulator's own record, for a test in another process (a crash
    /// drill against `wanroute simulate`). No key needed: the simulator serves loopback only.
    public static let recordPath = "/simulator/record"

    /// What ``recordPath`` answers: `{"submissions": N, "tasks": [{"id", "provider", "video_url",
    /// "outcome", "answer_lost", "finished"}], "billing": [{"task", "provider", "outcome",
    /// "billed_seconds", "cost"}]}`, tasks in creation order and bills in the order tasks finished,
    /// `cost` as `{"amount", "currency"}` or null when unknown. Call with the lock held.
    private var recordJSON: JSONValue {
        let tasks: [JSONValue] = taskList.map { t in
            .object([JSONMember("id", .string(t.id)), JSONMember("provider", .string(t.provider.rawValue)), JSONMember("video_url", .string(t.videoURL)),
                     JSONMember("outcome", .string(t.outcome.rawValue)), JSONMember("answer_lost", .bool(t.answerLost)), JSONMember("finished", .bool(t.finished))])
        }
        let bills: [JSONValue] = records.map { b in
            .object([JSONMember("task", .string(b.taskID)), JSONMember("provider", .string(b.provider.rawValue)), JSONMember("outcome", .string(b.outcome.rawValue)),
                     JSONMember("billed_seconds", b.billedSeconds.map { .string($0.decimalString) } ?? .null), JSONMember("cost", b.cost?.json ?? .null)])
        }
        return .object([JSONMember("submissions", .number(String(submissions.values.reduce(0, +)))),
                        JSONMember("tasks", .array(tasks)), JSONMember("billing", .array(bills))])
    }

    /// DashScope's task list for the account `account` (see ``TaskListQuery``): its tasks of either
    /// model, newest first, one page. Call with the lock held.
    private func taskListJSON(_ q: TaskListQuery, account: ProviderID, requestID: String) -> JSONValue {
        var listed: [(SimulatedTask, String)] = []
        for t in taskList.reversed() where t.provider == account {
            let status = t.finished ? (t.outcome == .success ? "SUCCEEDED" : "FAILED") : t.polls <= configuration.queuedPolls ? "PENDING" : "RUNNING"
            if q.includes(created: t.createdAt, model: SimulatorWire.dashScopeModel(t.behavior), status: status) { listed.append((t, status)) }
        }
        listed.sort { $0.0.createdAt > $1.0.createdAt }
        let pages = (listed.count + q.pageSize - 1) / q.pageSize
        let first = min(listed.count, (q.pageNumber - 1).multipliedReportingOverflow(by: q.pageSize).overflow ? listed.count : (q.pageNumber - 1) * q.pageSize)
        let page = listed[first..<min(listed.count, first + q.pageSize)]
        return SimulatorWire.obj(("request_id", .string(requestID)),
                                 ("data", .array(page.map { SimulatorWire.listedTask($0.0, status: $0.1, requestID: requestID) })),
                                 ("total", .number(String(listed.count))), ("total_page", .number(String(pages))),
                                 ("page_no", .number(String(q.pageNumber))), ("page_size", .number(String(q.pageSize))))
    }

    /// The task with an id, or nil.
    public func task(_ id: String) -> SimulatedTask? { condition.withLock { taskIndex[id].map { taskList[$0] } } }

    /// What each finished task bills, in the order tasks finished.
    public var billing: [BillingRecord] { condition.withLock { records } }

    /// Submission calls received with a valid key for `provider` (every provider when nil),
    /// whether or not they created a task.
    public func submissionCount(_ provider: ProviderID? = nil) -> Int {
        condition.withLock { provider.map { submissions[$0] ?? 0 } ?? submissions.values.reduce(0, +) }
    }

    /// Runs every unfinished task to its end, as the provider would without being asked, and
    /// returns the whole billing record. Use it to account for orphans at the end of a run.
    @discardableResult
    public func settle() -> [BillingRecord] {
        condition.withLock {
            for i in taskList.indices where !taskList[i].finished { finish(i) }
            return records
        }
    }

    /// Finishes an APIXO task submitted in callback mode and posts its final status payload to
    /// its `callback_url`, as APIXO does; returns the receiver's HTTP status, or nil when the task
    /// has no callback URL or the post got no answer.
    public func deliverCallback(taskID: String, transport: any HTTPTransport = URLSessionTransport()) async -> Int? {
        let payload = condition.withLock { () -> (URL, JSONValue)? in
            guard let i = taskIndex[taskID], let target = taskList[i].callbackURL.flatMap({ URL(string: $0) }) else { return nil }
            if !taskList[i].finished { finish(i) }
            let task = taskList[i]
            return (target, SimulatorWire.statusValue(task, family: .apixo, phase: .finished, billing: recordByTask[taskID],
                                                      resultURL: resultURL(task), requestID: "callback"))
        }
        guard let (url, json) = payload else { return nil }
        let request = TransportRequest(method: "POST", url: url, headers: ["Content-Type": "application/json"],
                                       body: Array(JSONWriter.compact(json).utf8), timeout: 30)
        return try? await transport.send(request).status
    }

    // MARK: - Requests

    private struct Route {
        var family: SimulatedProvider
        var endpoint: SimulatedEndpoint
        /// The task asked about, or the model segment of a Modellix submission.
        var argument: String?
    }

    private func route(_ r: HTTPRequest) -> Route? {
        let query = Self.query(r.query)
        switch (r.method, r.path) {
        case ("GET", Self.recordPath): return Route(family: .dashscope, endpoint: .record)
        case ("POST", "/api/v1/services/aigc/image2video/video-synthesis"): return Route(family: .dashscope, endpoint: .submit)
        case ("POST", "/v2/video/generations"): return Route(family: .aimlapi, endpoint: .submit)
        case ("GET", "/v2/video/generations"): return Route(family: .aimlapi, endpoint: .status, argument: query["generation_id"] ?? "")
        case ("POST", "/api/v1/generateTask/wan-2-2-animate"): return Route(family: .apixo, endpoint: .submit)
        case ("GET", "/api/v1/statusTask/wan-2-2-animate"): return Route(family: .apixo, endpoint: .status, argument: query["taskId"] ?? "")
        default: break
        }
        let modellixPrefix = "/api/v1/alibaba/"
        if r.method == "POST", r.path.hasPrefix(modellixPrefix), r.path.hasSuffix("/async") {
            let model = String(r.path.dropFirst(modellixPrefix.count).dropLast("/async".count))
            return Route(family: .modellix, endpoint: .submit, argument: model)
        }
        if r.method == "GET", r.path == "/api/v1/tasks" || r.path == "/api/v1/tasks/" { return Route(family: .dashscope, endpoint: .list) }
        if r.method == "GET", r.path.hasPrefix("/api/v1/tasks/") {
            let id = String(r.path.dropFirst("/api/v1/tasks/".count)).removingPercentEncoding ?? ""
            // Shared by DashScope and Modellix: the task's creator decides; an unknown id is
            // answered as Modellix when the key is only a Modellix key, else as DashScope.
            let family = condition.withLock { () -> SimulatedProvider in
                if let i = taskIndex[id] { return taskList[i].provider == ProviderEndpoints.modellix ? .modellix : .dashscope }
                let key = Self.bearer(r.headers)
                let dash = [ProviderEndpoints.dashscopeIntl, ProviderEndpoints.dashscopeCN].contains { configuration.apiKeys[$0]?.contains(key) == true }
                return !dash && configuration.apiKeys[ProviderEndpoints.modellix]?.contains(key) == true ? .modellix : .dashscope
            }
            return Route(family: family, endpoint: .status, argument: id)
        }
        return nil
    }

    private func handle(_ request: HTTPRequest) -> HTTPResponse {
        guard let route = route(request) else { return .text(404, "no such endpoint in the provider simulator\n") }
        if route.endpoint == .record { return SimulatorWire.json(200, condition.withLock { recordJSON }) }
        let key = Self.bearer(request.headers)
        let requestID = condition.withLock { () -> String in counter += 1; return String(format: "req-%06d", counter) }
        let echo = configuration.echoKeyInErrors && !key.isEmpty ? key : nil
        func fail(_ e: SimulatedError) -> HTTPResponse { SimulatorWire.error(route.family, e, key: echo, requestID: requestID) }
        guard let provider = provider(for: route.family, key: key) else { return fail(.auth) }
        if route.endpoint == .submit {
            condition.withLock { submissions[provider, default: 0] += 1 }
        }
        switch route.endpoint {
        case .submit:
            let spec: Submission
            switch validate(route, request) {
            case .success(let s): spec = s
            case .failure(let e): return fail(e)
            }
            let fault = nextFault(route.family, .submit)
            if let early = respond(to: fault, fail: fail) { return early }
            let outcome: SimulatedOutcome = fault == .taskFails ? .failed : fault == .taskRefused ? .refused : .success
            let garbled = fault == .lostResponse || fault == .malformedJSON || fault == .truncatedJSON
            let task = create(spec, provider: provider, family: route.family, outcome: outcome, answerLost: garbled)
            switch fault {
            case .lostResponse: return Self.lostAnswer()
            case .malformedJSON: return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: SimulatorWire.malformed)
            case .truncatedJSON: return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: SimulatorWire.truncated)
            default: return SimulatorWire.submitted(task, family: route.family, baseURL: baseURL?.absoluteString ?? "", requestID: requestID)
            }
        case .record:
            return .text(404, "no such endpoint in the provider simulator\n")  // answered above
        case .list:
            let fault = nextFault(route.family, .list)
            if let early = respond(to: fault, fail: fail) { return early }
            switch fault {
            case .malformedJSON: return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: SimulatorWire.malformed)
            case .truncatedJSON: return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: SimulatorWire.truncated)
            default: break
            }
            switch TaskListQuery.parse(Self.query(request.query)) {
            case .failure(let e): return fail(e)
            case .success(let q): return SimulatorWire.json(200, condition.withLock { taskListJSON(q, account: provider, requestID: requestID) })
            }
        case .status:
            let id = route.argument ?? ""
            let fault = nextFault(route.family, .status)
            if let early = respond(to: fault, fail: fail) { return early }
            switch fault {
            case .malformedJSON: return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: SimulatorWire.malformed)
            case .truncatedJSON: return HTTPResponse(status: 200, headers: ["Content-Type": "application/json"], body: SimulatorWire.truncated)
            default: break
            }
            let found = condition.withLock { () -> (SimulatedTask, SimulatedPhase, BillingRecord?)? in
                guard let i = taskIndex[id], taskList[i].provider == provider
                        || (route.family == .dashscope && [ProviderEndpoints.dashscopeIntl, ProviderEndpoints.dashscopeCN].contains(taskList[i].provider)) else { return nil }
                taskList[i].polls += 1
                let polls = taskList[i].polls
                // A task settled without polls (``settle()``, a callback) stays finished.
                let phase: SimulatedPhase = taskList[i].finished ? .finished
                    : polls <= configuration.queuedPolls ? .queued
                    : polls <= configuration.queuedPolls + configuration.runningPolls ? .running : .finished
                if phase == .finished, !taskList[i].finished { finish(i) }
                return (taskList[i], phase, recordByTask[id])
            }
            guard let (task, phase, record) = found else {
                if route.family == .dashscope {
                    // DashScope answers an unknown or expired id with 200 and UNKNOWN.
                    return SimulatorWire.json(200, SimulatorWire.obj(("request_id", .string(requestID)),
                        ("output", SimulatorWire.obj(("task_id", .string(id)), ("task_status", .string("UNKNOWN"))))))
                }
                return fail(.notFound("task \(id) not found"))
            }
            return SimulatorWire.status(task, family: route.family, phase: phase, billing: record,
                                        resultURL: resultURL(task), requestID: requestID)
        }
    }

    /// The answer a fault gives in place of the normal one, or nil to go on (after any delay).
    private func respond(to fault: SimulatedFault?, fail: (SimulatedError) -> HTTPResponse) -> HTTPResponse? {
        switch fault {
        case .rateLimited(let after): return fail(.rateLimited(retryAfter: after, epoch: nil))
        case .rateLimitedUntil(let epoch): return fail(.rateLimited(retryAfter: nil, epoch: epoch))
        case .serverError(let status): return fail(.server(status))
        case .outOfBalance: return fail(.outOfBalance)
        case .contentRefused: return fail(.contentRefused)
        case .slowAnswer(let seconds):
            hold(seconds)
            return nil
        case .stall:
            hold(configuration.stallLimit)
            return fail(.server(504))
        default: return nil
        }
    }

    /// Waits `seconds`, or until ``stop()``. Only faults wait; nothing else in the simulator does.
    private func hold(_ seconds: Double) {
        let until = Date().addingTimeInterval(seconds / Double(max(1, configuration.speed)))
        condition.lock()
        defer { condition.unlock() }
        while !stopping, condition.wait(until: until) {}
    }

    /// A status line and headers promising a body, then the connection closes: no answer.
    private static func lostAnswer() -> HTTPResponse {
        HTTPResponse(status: 200, headers: ["Content-Type": "application/json", "Content-Length": "512"]) { _ in }
    }

    private func nextFault(_ family: SimulatedProvider, _ endpoint: SimulatedEndpoint) -> SimulatedFault? {
        condition.withLock { () -> SimulatedFault? in
            for i in script.indices {
                let rule = script[i]
                guard rule.times > 0, rule.fault.applies(to: endpoint),
                      rule.provider == nil || rule.provider == family, rule.endpoint == nil || rule.endpoint == endpoint else { continue }
                if rule.skip > 0 { script[i].skip -= 1; continue }
                script[i].times -= 1
                return rule.fault
            }
            guard let rates = configuration.random?.rates, random != nil else { return nil }
            var draw = random!.unit()
            for rate in rates where rate.fault.applies(to: endpoint) {
                if draw < rate.probability { return rate.fault }
                draw -= rate.probability
            }
            return nil
        }
    }

    // MARK: - Validation

    private struct Submission {
        var behavior: Behavior
        var mode: Mode
        var resolution: Resolution
        var videoURL: String
        var callbackURL: String?
    }

    private func validate(_ route: Route, _ r: HTTPRequest) -> Result<Submission, SimulatedError> {
        if route.family == .dashscope, r.headers["X-DashScope-Async"]?.lowercased() != "enable" { return .failure(.syncNotSupported) }
        guard let body = try? JSONParser.parse(bytes: r.body) else { return .failure(.invalid("the request body is not valid JSON")) }
        func url(_ v: JSONValue?, _ name: String) -> Result<String, SimulatedError> {
            guard let s = v?.stringValue, Self.isHTTPURL(s) else { return .failure(.invalid("\(name) must be a public HTTP or HTTPS URL of ASCII characters")) }
            return .success(s)
        }
        func mode(_ v: JSONValue?) -> Result<Mode, SimulatedError> {
            guard let m = v?.stringValue, m == "wan-std" || m == "wan-pro" else { return .failure(.invalid("mode must be wan-std or wan-pro")) }
            return .success(Mode(rawValue: m)!)
        }
        do throws(SimulatedError) {
            switch route.family {
            case .dashscope:
                let models = ["wan2.2-animate-move": Behavior.animate, "wan2.2-animate-mix": .replace]
                guard let behavior = body["model"]?.stringValue.flatMap({ models[$0] }) else { return .failure(.invalid("Model not exist.")) }
                _ = try url(body["input"]?["image_url"], "input.image_url").get()
                let video = try url(body["input"]?["video_url"], "input.video_url").get()
                return .success(Submission(behavior: behavior, mode: try mode(body["parameters"]?["mode"]).get(), resolution: .p720, videoURL: video))
            case .modellix:
                let models = ["wan2.2-animate-move": Behavior.animate, "wan2.2-animate-mix": .replace]
                guard let behavior = models[route.argument ?? ""] else { return .failure(.notFound("model \(route.argument ?? "") not found")) }
                _ = try url(body["image_url"], "image_url").get()
                let video = try url(body["video_url"], "video_url").get()
                return .success(Submission(behavior: behavior, mode: try mode(body["mode"]).get(), resolution: .p720, videoURL: video))
            case .aimlapi:
                let models = ["alibaba/wan2.2-14b-animate-move": Behavior.animate, "alibaba/wan2.2-14b-animate-replace": .replace]
                guard let behavior = body["model"]?.stringValue.flatMap({ models[$0] }) else { return .failure(.invalid("model is not one of the supported models")) }
                // The AI/ML API also takes the image inline, as a base64 data URI.
                if !Self.isImageDataURI(body["image_url"]?.stringValue) { _ = try url(body["image_url"], "image_url").get() }
                let video = try url(body["video_url"], "video_url").get()
                let text = body["resolution"]?.stringValue ?? "480p"
                guard let resolution = Resolution(rawValue: text) else { return .failure(.invalid("resolution must be 480p, 580p or 720p")) }
                return .success(Submission(behavior: behavior, mode: .standard, resolution: resolution, videoURL: video))
            case .apixo:
                let kind = body["request_type"]?.stringValue ?? "async"
                guard kind == "async" || kind == "callback" else { return .failure(.invalid("request_type must be async or callback")) }
                var callback: String?
                if kind == "callback" { callback = try url(body["callback_url"], "callback_url").get() }
                guard let input = body["input"] else { return .failure(.invalid("input is required")) }
                guard input["mode"]?.stringValue == "standard" else { return .failure(.invalid("invalid mode: use standard")) }
                let types = ["animate": Behavior.animate, "replace": .replace]
                guard let behavior = input["type"]?.stringValue.flatMap({ types[$0] }) else { return .failure(.invalid("invalid type: use animate or replace")) }
                guard let images = input["image_urls"]?.wireArray, images.count == 1 else { return .failure(.invalid("provide exactly 1 image_urls item")) }
                guard let videos = input["video_urls"]?.wireArray, videos.count == 1 else { return .failure(.invalid("provide exactly 1 video_urls item")) }
                _ = try url(images[0], "image_urls[0]").get()
                let video = try url(videos[0], "video_urls[0]").get()
                let resolutionText = input["resolution"]?.stringValue ?? "480p"
                guard resolutionText == "480p" || resolutionText == "720p" else { return .failure(.invalid("invalid resolution: use 480p or 720p")) }
                if let seed = input["seed"] {
                    guard let n = seed.wireNumber.flatMap({ Int64($0) }), n == -1 || (0...2_147_483_647).contains(n) else {
                        return .failure(.invalid("invalid seed: use -1 or an integer from 0 to 2147483647"))
                    }
                }
                return .success(Submission(behavior: behavior, mode: .standard, resolution: Resolution(rawValue: resolutionText)!,
                                           videoURL: video, callbackURL: callback))
            }
        } catch {
            return .failure(error)
        }
    }

    private static func isImageDataURI(_ s: String?) -> Bool {
        guard let s, s.hasPrefix("data:image/"), let comma = s.firstIndex(of: ","), s[..<comma].hasSuffix(";base64") else { return false }
        return Data(base64Encoded: String(s[s.index(after: comma)...])) != nil
    }

    private static func isHTTPURL(_ s: String) -> Bool {
        guard s.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }), let c = URLComponents(string: s),
              let scheme = c.scheme?.lowercased(), scheme == "http" || scheme == "https", let host = c.host, !host.isEmpty else { return false }
        return true
    }

    // MARK: - Tasks and billing

    /// The provider a key belongs to for a wire format, or nil when the key is refused.
    private func provider(for family: SimulatedProvider, key: String) -> ProviderID? {
        let candidates: [ProviderID]
        switch family {
        case .dashscope: candidates = [ProviderEndpoints.dashscopeIntl, ProviderEndpoints.dashscopeCN]
        case .modellix: candidates = [ProviderEndpoints.modellix]
        case .aimlapi: candidates = [ProviderEndpoints.aimlapi]
        case .apixo: candidates = [ProviderEndpoints.apixo]
        }
        return candidates.first { !key.isEmpty && configuration.apiKeys[$0]?.contains(key) == true }
    }

    private func create(_ s: Submission, provider: ProviderID, family: SimulatedProvider, outcome: SimulatedOutcome, answerLost: Bool) -> SimulatedTask {
        condition.withLock {
            counter += 1
            let id: String
            switch family {
            case .dashscope: id = String(format: "00000000-0000-4000-8000-%012d", counter)
            case .modellix: id = "task-\(counter)"
            case .aimlapi: id = "gen-\(counter)"
            case .apixo: id = String(format: "task_%08d", counter)
            }
            let task = SimulatedTask(id: id, provider: provider, behavior: s.behavior, mode: s.mode, resolution: s.resolution,
                                     referenceDuration: Self.duration(of: s.videoURL), videoURL: s.videoURL, outcome: outcome, polls: 0,
                                     answerLost: answerLost, callbackURL: s.callbackURL, finished: false, createdAt: configuration.clock())
            taskIndex[id] = taskList.count
            taskList.append(task)
            if taskList.count > 2 * max(1, configuration.retainedFinishedTasks) { compact() }
            return task
        }
    }

    private func resultURL(_ task: SimulatedTask) -> String { "\(configuration.resultHost)/\(task.provider.rawValue)/\(task.id).mp4" }

    /// Marks task `i` finished and records its bill. Call with the lock held.
    private func finish(_ i: Int) {
        taskList[i].finished = true
        let record = bill(taskList[i])
        records.append(record)
        recordByTask[record.taskID] = record
    }

    /// Frees the oldest finished tasks and bills beyond ``Configuration/retainedFinishedTasks``
    /// (amortised: runs when the list has doubled). Call with the lock held.
    private func compact() {
        let keep = max(1, configuration.retainedFinishedTasks)
        var finishedSeen = 0
        var kept: [SimulatedTask] = []
        for task in taskList.reversed() {
            if task.finished {
                finishedSeen += 1
                if finishedSeen > keep { recordByTask[task.id] = nil; continue }
            }
            kept.append(task)
        }
        taskList = kept.reversed()
        taskIndex = Dictionary(uniqueKeysWithValues: taskList.enumerated().map { ($0.element.id, $0.offset) })
        if records.count > keep { records.removeFirst(records.count - keep) }
    }

    /// What the provider bills for a finished task, by its billing rule in the built-in catalog:
    /// DashScope output seconds (reported as `usage.video_duration`, the reference rounded up to
    /// 0.1 s), nothing for failures; APIXO the reference clamped to 5-120 s on success only;
    /// AI/ML API `credits_used` per started second (its cost: credits / 2,000,000 USD); Modellix an
    /// unknown price.
    private func bill(_ t: SimulatedTask) -> BillingRecord {
        var record = BillingRecord(provider: t.provider, taskID: t.id, behavior: t.behavior, mode: t.mode, resolution: t.resolution,
                                   referenceDuration: t.referenceDuration, outcome: t.outcome, billedSeconds: nil, reported: nil, cost: nil)
        let offer = catalog?.offers.indices.first { i in
            let o = catalog!.offers[i]
            return o.provider == t.provider && o.behavior == t.behavior && o.mode == t.mode && o.resolution == t.resolution
        }
        let estimate = offer.map { catalog!.estimate(offerAt: $0, for: Job(behavior: t.behavior, duration: t.referenceDuration)) }
        let succeeded = t.outcome == .success
        if t.provider == ProviderEndpoints.aimlapi {
            if succeeded {
                let started = (t.referenceDuration.micros + 999_999) / 1_000_000
                let credits = String(started * Int64(configuration.aimlapiCreditsPerSecond))
                record.reported = BilledQuantity(credits: credits, cost: AIMLAPIAdapter.usd(credits: credits))
                record.cost = record.reported?.cost
            }
            return record
        }
        guard let estimate, let seconds = estimate.billableSeconds else { return record }
        if succeeded {
            record.billedSeconds = seconds
            record.cost = estimate.cost
            if t.provider == ProviderEndpoints.dashscopeIntl || t.provider == ProviderEndpoints.dashscopeCN {
                record.reported = BilledQuantity(seconds: seconds, ratio: t.mode == .wanPro ? "pro" : "standard")
            }
        } else {
            record.billedSeconds = Seconds(micros: 0)
            record.cost = estimate.cost.map { Money.zero($0.currency) }
        }
        return record
    }

    /// The reference duration from the URL's `duration=` query, else 5 s.
    static func duration(of videoURL: String) -> Seconds {
        let value = URLComponents(string: videoURL)?.queryItems?.first { $0.name == "duration" }?.value
        return value.flatMap { Seconds(decimal: $0) }.flatMap { $0.micros > 0 ? $0 : nil } ?? Seconds(whole: 5)
    }

    private static func bearer(_ headers: HTTPHeaders) -> String {
        guard let value = headers["Authorization"], value.hasPrefix("Bearer ") else { return "" }
        return String(value.dropFirst("Bearer ".count)).trimmingCharacters(in: .whitespaces)
    }

    private static func query(_ text: String?) -> [String: String] {
        var out: [String: String] = [:]
        for pair in (text ?? "").split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            out[name] = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
        }
        return out
    }
}
