import Foundation

/// A job to run: what to generate and from which inputs.
public struct JobOrder: Sendable, Equatable {
    /// The caller's id for the job, echoed in the report.
    public var id: String
    /// What to generate: behaviour, duration, resolution, mode and tags for routing.
    public var job: Job
    /// The character image's URL, which the provider fetches.
    public var imageURL: String
    /// The reference video's URL, which the provider fetches.
    public var videoURL: String

    /// Creates an order.
    public init(id: String, job: Job, imageURL: String, videoURL: String) {
        self.id = id
        self.job = job
        self.imageURL = imageURL
        self.videoURL = videoURL
    }
}

/// How one attempt at one offer ended.
public enum AttemptOutcome: String, Sendable, Equatable {
    /// The task finished with a result.
    case succeeded
    /// The task was created and ended failed (moderation, bad input, provider fault).
    case taskFailed = "task-failed"
    /// Submitting failed definitively; no task exists.
    case submitFailed = "submit-failed"
    /// The submission went out and no answer came: a task may exist and may bill.
    case outcomeUnknown = "outcome-unknown"
    /// The deadline passed while the task was still running at the provider.
    case deadline
    /// The provider answered the poll in a way that needs a person (auth lost, task unknown).
    case pollFailed = "poll-failed"
    /// Not tried: the provider is cooling down after repeated failures.
    case skippedCoolingDown = "skipped-cooling-down"
    /// Not tried: no API key for this provider in the environment.
    case skippedNoKey = "skipped-no-key"
    /// Not tried: wanroute has no adapter for this provider.
    case skippedNoAdapter = "skipped-no-adapter"
}

/// One attempt at one offer, for the job's report.
public struct Attempt: Sendable, Equatable {
    /// The provider of the offer tried.
    public var provider: ProviderID
    /// The offer's mode.
    public var mode: Mode
    /// The offer's output resolution.
    public var resolution: Resolution
    /// The provider's task id, or nil when no task was created.
    public var taskID: String?
    /// How the attempt ended.
    public var outcome: AttemptOutcome
    /// The failure class, when the attempt failed.
    public var failure: FailureClass?
    /// Submissions sent (retries of retryable errors included).
    public var submissions: Int
    /// What this attempt cost: zero when no task was created, the provider's figure or billing
    /// rule for a finished task, zero for a failed task where failures are documented free, and
    /// nil (unknown, never zero instead) when a task may have billed and nobody says how much.
    public var actualCost: Money?
    /// Where ``actualCost`` came from.
    public var actualCostSource: JobReport.CostSource?
    /// A plain sentence: what happened.
    public var detail: String
}

/// How a job ended, and what it cost.
public struct JobReport: Sendable, Equatable {
    /// The end state of a job.
    public enum Status: String, Sendable, Equatable {
        /// The task finished with a result.
        case succeeded
        /// Every allowed attempt failed; nothing is running and nothing more will bill.
        case failed
        /// The policy refused the job; nothing was submitted.
        case refused
        /// A submission's outcome is unknown or polling hit a wall: a task may exist and bill.
        /// Nothing was re-submitted; the report carries every id known.
        case needsAttention = "needs-attention"
        /// The deadline passed with a task still running at the provider; the task id is kept.
        case unfinished
    }

    /// Where ``actualCost`` came from.
    public enum CostSource: String, Sendable, Equatable {
        /// The provider reported the billed quantity (DashScope `usage.video_duration`).
        case providerReported = "provider-reported"
        /// The provider reports nothing; the cost follows its documented billing rule.
        case billingRule = "billing-rule"
        /// The task failed and the provider documents failed tasks as free.
        case failedTaskFree = "failed-task-free"
        /// No task was ever created (every submission was refused), so nothing can have billed.
        case noTask = "no-task"
    }

    /// The order's id.
    public var id: String
    /// How the job ended.
    public var status: Status
    /// The offer that produced the result, or the last one tried.
    public var provider: ProviderID?
    /// That offer's mode.
    public var mode: Mode?
    /// That offer's output resolution.
    public var resolution: Resolution?
    /// The provider's task id on that offer, or nil when no task was created.
    public var taskID: String?
    /// Where the generated video can be fetched, when the job succeeded.
    public var resultURL: String?
    /// The router's estimate for the offer used.
    public var estimatedCost: Money?
    /// What the provider billed, when it can be known; nil when unknown (never zero instead).
    public var actualCost: Money?
    /// How ``actualCost`` was found; nil when it is unknown.
    public var actualCostSource: CostSource?
    /// The provider's own billed quantity, when it reported one.
    public var billed: BilledQuantity?
    /// Every offer tried or skipped, in order.
    public var attempts: [Attempt]
    /// A plain sentence summarising the end state.
    public var message: String
}

/// Knobs for the executor; the defaults follow the providers' documents.
public struct ExecutorOptions: Sendable {
    /// Submissions per offer for retryable errors (rate limits, 5xx) before counting it failed.
    public var submitAttempts: Int = 4
    /// First back-off; doubles each retry, with jitter, never below the provider's Retry-After.
    public var backoffBase = Seconds(whole: 2)
    /// The longest back-off before jitter (a Retry-After may still ask for longer).
    public var backoffCap = Seconds(whole: 120)
    /// How long one job may take from its first submission (queueing for a slot excluded), polling and failover included.
    public var deadline = Seconds(whole: 3_600)
    /// Tasks in flight per provider; DashScope allows one per account by default.
    public var concurrency: [ProviderID: Int] = [ProviderID("dashscope-intl")!: 1, ProviderID("dashscope-cn")!: 1]
    /// In-flight limit for providers not named in ``concurrency``.
    public var defaultConcurrency = 16
    /// Consecutive failures after which a provider is cooled down for the jobs that follow.
    public var cooldownAfter = 3
    /// How long a cooled-down provider is skipped.
    public var cooldown = Seconds(whole: 300)
    /// Consecutive failed polls (5xx, time-outs) tolerated before the job needs attention.
    public var pollErrorLimit = 20

    /// The defaults.
    public init() {}
}

/// Something worth showing while jobs run (the CLI prints these on a terminal).
public enum ExecutionEvent: Sendable {
    /// A task was created at a provider.
    case submitted(jobID: String, provider: ProviderID, taskID: String)
    /// A submission failed in a retryable way; the next one goes out `after` from now.
    case retrying(jobID: String, provider: ProviderID, after: Seconds, reason: String)
    /// The job moves on from one provider's offer to the next alternate.
    case failingOver(jobID: String, from: ProviderID, to: ProviderID, reason: String)
    /// A job ended, with its report.
    case finished(JobReport)
}

/// Runs routed jobs through provider adapters: submits, polls on each provider's schedule, retries
/// what may be retried, fails over only where the policy says, and never pays twice.
///
/// One executor serves many concurrent jobs: provider cool-downs and in-flight limits are shared.
/// All waiting goes through the injected ``TimeSource``; all network traffic through the adapters.
public final class Executor: Sendable {
    let catalog: PriceCatalog
    let adapters: [ProviderID: any ProviderAdapter]
    let apiKeys: [ProviderID: String]
    let time: any TimeSource
    let options: ExecutorOptions
    let health: ProviderHealth
    let limiter: InFlightLimiter
    let jitter: Jitter
    let events: @Sendable (ExecutionEvent) -> Void

    /// Creates an executor. `apiKeys` come from the environment (see ``ProviderCredentials``);
    /// `seed` makes jitter reproducible in tests.
    public init(catalog: PriceCatalog, adapters: [ProviderID: any ProviderAdapter], apiKeys: [ProviderID: String],
                time: any TimeSource = SystemTimeSource(), options: ExecutorOptions = ExecutorOptions(), seed: UInt64? = nil,
                events: @escaping @Sendable (ExecutionEvent) -> Void = { _ in }) {
        self.catalog = catalog
        self.adapters = adapters
        self.apiKeys = apiKeys
        self.time = time
        self.options = options
        self.health = ProviderHealth(threshold: options.cooldownAfter, cooldown: options.cooldown)
        self.limiter = InFlightLimiter(limits: options.concurrency, defaultLimit: options.defaultConcurrency)
        self.jitter = Jitter(seed: seed ?? UInt64(truncatingIfNeeded: Date().timeIntervalSince1970.bitPattern))
        self.events = events
    }

    /// Runs one job on its decision's choice, then its alternates where the policy allows.
    public func run(_ order: JobOrder, decision: Decision) async -> JobReport {
        guard let choice = decision.choice else {
            let report = JobReport(id: order.id, status: .refused, attempts: [],
                                   message: "the policy refused the job: \(decision.refusal ?? "no offer qualifies")")
            events(.finished(report))
            return report
        }
        let candidates = [choice] + decision.alternates
        let plan = decision.failover
        var attempts: [Attempt] = []
        var last: (RankedOffer, Attempt)?
        var started: Seconds?  // the job's first submission: the deadline counts from here
        for (position, candidate) in candidates.enumerated() {
            let offer = candidate.offer
            var attempt = Attempt(provider: offer.provider, mode: offer.mode, resolution: offer.resolution, taskID: nil,
                                  outcome: .skippedNoAdapter, failure: nil, submissions: 0, actualCost: nil, actualCostSource: nil, detail: "")
            if let skip = await skipReason(offer) {
                attempt.outcome = skip.0
                attempt.detail = skip.1
                attempts.append(attempt)
                continue
            }
            if let previous = last, position > 0 {
                events(.failingOver(jobID: order.id, from: previous.0.offer.provider, to: offer.provider, reason: previous.1.detail))
            }
            let result = await tryOffer(order, candidate, started: &started, into: &attempt)
            attempt = priced(attempt, candidate.offer)
            attempts.append(attempt)
            last = (candidate, attempt)
            switch result {
            case .done(let report):
                return finish(report, attempts: attempts)
            case .failed(let failure):
                // Move on only on the classes the policy names; anything else ends the job here.
                guard plan.failsOver(on: failure) else {
                    return finish(report(order, candidate, .failed, attempt, "\(attempt.detail); the policy does not fail over on \(failure.rawValue)"), attempts: attempts)
                }
            }
        }
        guard let (candidate, attempt) = last else {
            let reasons = attempts.map { "\($0.provider): \($0.detail)" }.joined(separator: "; ")
            return finish(JobReport(id: order.id, status: .failed, attempts: [], message: "no offer could be tried: \(reasons)"), attempts: attempts)
        }
        return finish(report(order, candidate, .failed, attempt, "every allowed offer failed; last: \(attempt.detail)"), attempts: attempts)
    }

    /// Runs many jobs with at most `concurrency` in flight, reporting each as it ends.
    public func run(_ orders: [(JobOrder, Decision)], concurrency: Int) async -> [JobReport] {
        await withTaskGroup(of: (Int, JobReport).self) { group in
            var reports = [JobReport?](repeating: nil, count: orders.count)
            var next = 0
            for _ in 0..<min(max(1, concurrency), orders.count) {
                let i = next
                group.addTask { (i, await self.run(orders[i].0, decision: orders[i].1)) }
                next += 1
            }
            while let (i, report) = await group.next() {
                reports[i] = report
                if next < orders.count {
                    let j = next
                    group.addTask { (j, await self.run(orders[j].0, decision: orders[j].1)) }
                    next += 1
                }
            }
            return reports.map { $0! }
        }
    }

    // MARK: one attempt

    enum AttemptResult {
        case done(JobReport)
        case failed(FailureClass)
    }

    private func skipReason(_ offer: Offer) async -> (AttemptOutcome, String)? {
        guard adapters[offer.provider] != nil else {
            return (.skippedNoAdapter, "wanroute has no adapter for \(offer.provider), so it was not tried")
        }
        guard let key = apiKeys[offer.provider], !key.isEmpty else {
            return (.skippedNoKey, "no API key for \(offer.provider) (set \(ProviderCredentials.variable(for: offer.provider))), so it was not tried")
        }
        if let until = await health.coolingDown(offer.provider, now: time.now()) {
            return (.skippedCoolingDown, "\(offer.provider) is cooling down after repeated failures until t=\(until.decimalString) s, so it was not tried")
        }
        return nil
    }

    private func tryOffer(_ order: JobOrder, _ candidate: RankedOffer, started: inout Seconds?, into attempt: inout Attempt) async -> AttemptResult {
        let offer = candidate.offer
        let adapter = adapters[offer.provider]!
        let key = apiKeys[offer.provider]!
        let request = GenerationRequest(behavior: offer.behavior, mode: offer.mode, resolution: offer.resolution,
                                        imageURL: order.imageURL, videoURL: order.videoURL)
        // The slot is held from submission to the attempt's end. A task left running (unfinished,
        // needs attention) gives its slot back too: holding it would block the provider for good,
        // and a provider that is really still busy answers with throttling, which is retried.
        await limiter.acquire(offer.provider)
        defer { Task { await limiter.release(offer.provider) } }
        if started == nil { started = time.now() }
        let deadline = Seconds(micros: started!.micros + options.deadline.micros)

        // Submit, retrying only errors that prove no task was created.
        var taskID: String?
        for retry in 0..<max(1, options.submitAttempts) {
            attempt.submissions += 1
            do {
                taskID = try await adapter.submit(request, apiKey: key)
                break
            } catch {
                let error = error.redacting(key)
                switch error {
                case .outcomeUnknown(let message):
                    attempt.outcome = .outcomeUnknown
                    attempt.failure = .timeout
                    attempt.detail = "the submission to \(offer.provider) got no answer (\(message)); a task may exist and bill, so it was neither re-submitted nor failed over"
                    return .done(report(order, candidate, .needsAttention, attempt, attempt.detail))
                case .retryLater, .rateLimited:
                    let failure = failureClass(error)
                    if retry + 1 >= options.submitAttempts {
                        attempt.outcome = .submitFailed
                        attempt.failure = failure
                        attempt.detail = "\(offer.provider) refused \(attempt.submissions) submissions: \(message(error))"
                        await health.recordFailure(offer.provider, now: time.now())
                        return .failed(failure)
                    }
                    let wait = backoff(retry: retry, error: error)
                    events(.retrying(jobID: order.id, provider: offer.provider, after: wait, reason: message(error)))
                    if (try? await time.sleep(for: wait)) == nil { return .done(cancelled(order, candidate, attempt)) }
                default:
                    attempt.outcome = .submitFailed
                    attempt.failure = failureClass(error)
                    attempt.detail = "\(offer.provider) refused the job: \(message(error))"
                    return .failed(attempt.failure!)
                }
            }
        }
        guard let taskID else { return .failed(.providerError) }
        attempt.taskID = taskID
        events(.submitted(jobID: order.id, provider: offer.provider, taskID: taskID))

        // Poll on the provider's schedule until the task ends or the deadline passes.
        let schedule = adapter.pollSchedule
        var wait = schedule.firstPoll
        var pollErrors = 0
        while true {
            let now = time.now()
            if now.micros + wait.micros > deadline.micros {
                attempt.outcome = .deadline
                attempt.failure = .timeout
                attempt.detail = "the deadline of \(options.deadline) passed with task \(taskID) still running at \(offer.provider); it may still finish and bill"
                return .done(report(order, candidate, .unfinished, attempt, attempt.detail))
            }
            if (try? await time.sleep(for: wait)) == nil { return .done(cancelled(order, candidate, attempt)) }
            wait = jitter.between(schedule.minimumInterval, schedule.maximumInterval)
            let state: TaskState
            do {
                state = try await adapter.status(taskID: taskID, apiKey: key)
                pollErrors = 0
            } catch {
                let error = error.redacting(key)
                switch error {
                case .retryLater, .rateLimited, .outcomeUnknown:
                    pollErrors += 1
                    if pollErrors < options.pollErrorLimit {
                        if case .rateLimited(let after?, _) = error { wait = max(wait, after) }
                        continue
                    }
                    fallthrough
                default:
                    attempt.outcome = .pollFailed
                    attempt.failure = failureClass(error)
                    attempt.detail = "asking \(offer.provider) about task \(taskID) failed: \(message(error)); the task may still run and bill"
                    return .done(report(order, candidate, .needsAttention, attempt, attempt.detail))
                }
            }
            switch state {
            case .queued, .running:
                continue
            case .succeeded(let url, let billed):
                attempt.outcome = .succeeded
                attempt.detail = "task \(taskID) succeeded"
                (attempt.actualCost, attempt.actualCostSource) = actualCost(order, candidate, billed: billed)
                await health.recordSuccess(offer.provider)
                var r = report(order, candidate, .succeeded, attempt, "done on \(offer.provider)")
                r.resultURL = url
                r.billed = billed
                return .done(r)
            case .failed(let failure):
                attempt.outcome = .taskFailed
                switch failure {
                case .contentRefused(let code, let m): attempt.failure = .contentRefused; attempt.detail = "\(offer.provider) refused the content (\(code): \(m))"
                case .badInput(let code, let m): attempt.failure = .badInput; attempt.detail = "\(offer.provider) could not use the inputs (\(code): \(m))"
                case .providerError(let code, let m):
                    attempt.failure = .failed
                    attempt.detail = "task \(taskID) failed at \(offer.provider) (\(code): \(m))"
                    await health.recordFailure(offer.provider, now: time.now())
                }
                attempt.detail = SecretRedactor(secret: key).redact(attempt.detail)
                return .failed(attempt.failure!)
            }
        }
    }

    // MARK: helpers

    /// The report for a job that ends on `candidate`, before its attempts are attached.
    private func report(_ order: JobOrder, _ candidate: RankedOffer, _ status: JobReport.Status, _ attempt: Attempt, _ message: String) -> JobReport {
        JobReport(id: order.id, status: status, provider: candidate.offer.provider, mode: candidate.offer.mode,
                  resolution: candidate.offer.resolution, taskID: attempt.taskID, estimatedCost: candidate.estimate.cost,
                  attempts: [], message: message)
    }

    /// Attaches the attempts, prices the ones that were tried, and totals the job's cost.
    private func finish(_ report: JobReport, attempts: [Attempt]) -> JobReport {
        var r = report
        r.attempts = attempts
        (r.actualCost, r.actualCostSource) = total(r.attempts.filter { $0.submissions > 0 })
        events(.finished(r))
        return r
    }

    /// An attempt with its cost filled in where its outcome decides it.
    private func priced(_ attempt: Attempt, _ offer: Offer) -> Attempt {
        var a = attempt
        guard a.submissions > 0, a.actualCostSource == nil else { return a }
        let currency = offer.pricePerSecond?.currency ?? .usd
        switch a.outcome {
        case .submitFailed where a.taskID == nil:
            (a.actualCost, a.actualCostSource) = (.zero(currency), .noTask)
        case .taskFailed where catalog.providers[offer.providerIndex].billing.failedTasksFree == true:
            (a.actualCost, a.actualCostSource) = (.zero(currency), .failedTaskFree)
        default:
            break  // a task that may have billed and nobody says how much: unknown
        }
        return a
    }

    /// The job's cost across the attempts that were tried: unknown when any attempt's is, or when
    /// non-zero costs are in different currencies; the source is the last attempt's.
    private func total(_ tried: [Attempt]) -> (Money?, JobReport.CostSource?) {
        guard let last = tried.last, tried.allSatisfy({ $0.actualCost != nil }) else { return (nil, nil) }
        let charged = tried.compactMap(\.actualCost).filter { $0.nanos != 0 }
        guard let first = charged.first else { return (last.actualCost, last.actualCostSource) }
        guard charged.allSatisfy({ $0.currency == first.currency }) else { return (nil, nil) }
        return (charged.dropFirst().reduce(first, +), last.actualCostSource)
    }

    private func cancelled(_ order: JobOrder, _ candidate: RankedOffer, _ attempt: Attempt) -> JobReport {
        report(order, candidate, attempt.taskID == nil ? .failed : .needsAttention, attempt,
               "cancelled" + (attempt.taskID.map { " with task \($0) still at \(candidate.offer.provider)" } ?? ""))
    }

    /// What the provider billed: its reported quantity priced by the offer, else the billing rule.
    private func actualCost(_ order: JobOrder, _ candidate: RankedOffer, billed: BilledQuantity?) -> (Money?, JobReport.CostSource?) {
        if let seconds = billed?.seconds {
            var job = order.job
            job.duration = seconds
            job.video = nil
            job.image = nil
            return (catalog.estimate(offerAt: candidate.offerIndex, for: job).cost, .providerReported)
        }
        guard let cost = candidate.estimate.cost else { return (nil, nil) }
        return (cost, .billingRule)
    }

    private func backoff(retry: Int, error: ProviderError) -> Seconds {
        let exponential = min(options.backoffCap.micros, options.backoffBase.micros << min(retry, 20))
        // Jitter spreads retries of many jobs; it only ever adds, so a Retry-After is honoured.
        var wait = Seconds(micros: exponential + jitter.upTo(exponential / 2))
        if case .rateLimited(let after?, _) = error { wait = max(wait, after) }
        return wait
    }

    private func failureClass(_ error: ProviderError) -> FailureClass {
        switch error {
        case .retryLater: return .providerError
        case .rateLimited: return .rateLimited
        case .auth: return .auth
        case .outOfBalance: return .outOfBalance
        case .badRequest: return .badInput
        case .contentRefused: return .contentRefused
        case .outcomeUnknown: return .timeout
        }
    }

    private func message(_ error: ProviderError) -> String {
        switch error {
        case .retryLater(let m), .auth(let m), .outOfBalance(let m), .badRequest(let m), .contentRefused(let m), .outcomeUnknown(let m): return m
        case .rateLimited(let after, let m): return m + (after.map { " (retry after \($0))" } ?? "")
        }
    }
}

/// Consecutive failures per provider, and the cool-downs they trigger.
actor ProviderHealth {
    let threshold: Int
    let cooldown: Seconds
    private var failures: [ProviderID: Int] = [:]
    private var coolUntil: [ProviderID: Seconds] = [:]

    init(threshold: Int, cooldown: Seconds) {
        self.threshold = threshold
        self.cooldown = cooldown
    }

    func recordFailure(_ provider: ProviderID, now: Seconds) {
        failures[provider, default: 0] += 1
        if failures[provider]! >= threshold {
            coolUntil[provider] = Seconds(micros: now.micros + cooldown.micros)
            failures[provider] = 0
        }
    }

    func recordSuccess(_ provider: ProviderID) { failures[provider] = 0 }

    /// When the provider's cool-down ends, if it is cooling down now.
    func coolingDown(_ provider: ProviderID, now: Seconds) -> Seconds? {
        guard let until = coolUntil[provider], now < until else { return nil }
        return until
    }
}

/// At most N tasks in flight per provider; waiters are served in arrival order.
actor InFlightLimiter {
    let limits: [ProviderID: Int]
    let defaultLimit: Int
    private var inFlight: [ProviderID: Int] = [:]
    private var waiters: [ProviderID: [CheckedContinuation<Void, Never>]] = [:]

    init(limits: [ProviderID: Int], defaultLimit: Int) {
        self.limits = limits
        self.defaultLimit = defaultLimit
    }

    func acquire(_ provider: ProviderID) async {
        if inFlight[provider, default: 0] < (limits[provider] ?? defaultLimit) {
            inFlight[provider, default: 0] += 1
            return
        }
        await withCheckedContinuation { waiters[provider, default: []].append($0) }
    }

    func release(_ provider: ProviderID) {
        if var queue = waiters[provider], !queue.isEmpty {
            // Hand the slot straight to the next waiter: the in-flight count stays the same.
            queue.removeFirst().resume()
            waiters[provider] = queue
        } else {
            inFlight[provider, default: 1] -= 1
        }
    }

    /// Tasks in flight now (for tests).
    func count(_ provider: ProviderID) -> Int { inFlight[provider, default: 0] }
}

/// Seeded jitter for poll intervals and back-offs, shared by concurrent jobs.
final class Jitter: @unchecked Sendable {
    private let lock = NSLock()
    private var generator: SplitMix64

    init(seed: UInt64) { generator = SplitMix64(seed: seed) }

    private func next() -> UInt64 { lock.withLock { generator.next() } }

    /// A time between `low` and `high`, inclusive, to the microsecond.
    func between(_ low: Seconds, _ high: Seconds) -> Seconds {
        guard high > low else { return low }
        return Seconds(micros: low.micros + Int64(next() % UInt64(high.micros - low.micros + 1)))
    }

    /// 0 up to `limit` microseconds.
    func upTo(_ limit: Int64) -> Int64 { limit <= 0 ? 0 : Int64(next() % UInt64(limit + 1)) }
}

/// API keys, from the environment only: `DASHSCOPE_API_KEY` (both DashScope regions, unless
/// `DASHSCOPE_INTL_API_KEY` or `DASHSCOPE_CN_API_KEY` names a region's own key: the regions are
/// separate Alibaba Cloud accounts), `MODELLIX_API_KEY`, `AIMLAPI_API_KEY`, `APIXO_API_KEY`.
public enum ProviderCredentials {
    /// The environment variables that may hold a provider's key, most specific first.
    public static func variables(for provider: ProviderID) -> [String] {
        provider.rawValue.hasPrefix("dashscope")
            ? ["\(provider.environmentName)_API_KEY", "DASHSCOPE_API_KEY"]
            : ["\(provider.environmentName)_API_KEY"]
    }

    /// The variable to name in messages: the shared one for DashScope, which most users set.
    public static func variable(for provider: ProviderID) -> String { variables(for: provider).last! }

    /// A key that cannot be sent as it is (control characters such as the `\r` an `.env` file
    /// leaves, which would silently drop the Authorization header). Names the variable only:
    /// never the value, not even in part.
    public struct InvalidKey: Error, Sendable, Equatable, CustomStringConvertible {
        /// The environment variable that holds the key.
        public var variable: String
        /// What is wrong with it, without quoting it.
        public var reason: String
        /// `VARIABLE reason; fix the value`.
        public var description: String { "\(variable) \(reason); set it to the key alone" }
    }

    /// Why `key` cannot be used, as a phrase that never quotes it; nil when it can.
    public static func problem(withKey key: String) -> String? {
        if key.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || (0x80...0x9F).contains($0.value) }) {
            return "holds a control character (a line break or carriage return from a .env file?)"
        }
        if key.utf8.count > 4_096 { return "is longer than 4096 bytes" }
        return nil
    }

    /// The keys present in `environment` for `providers`; a key with control characters is an
    /// error naming its variable.
    public static func keys(for providers: [ProviderID], in environment: [String: String]) throws(InvalidKey) -> [ProviderID: String] {
        var keys: [ProviderID: String] = [:]
        for p in providers {
            guard let variable = variables(for: p).first(where: { !(environment[$0] ?? "").isEmpty }), let k = environment[variable] else { continue }
            if let problem = problem(withKey: k) { throw InvalidKey(variable: variable, reason: problem) }
            keys[p] = k
        }
        return keys
    }
}
