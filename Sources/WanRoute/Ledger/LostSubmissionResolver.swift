import Foundation

/// How `resume` resolves a submission whose answer was lost (a `submit-intent` with no answer
/// after it), for a provider that lists its account's tasks (an adapter adopting ``TaskListing``).
///
/// For each such job it lists the tasks of the job's model created in a window around the last
/// intent, from `intent - clockSkew` to `intent + requestTimeout + clockSkew`, and leaves out every
/// task id the ledger already holds, in any month (the window holds other jobs' tasks). What is
/// left decides:
/// - exactly one task, which no other open lost submission could also claim: it is adopted (an
///   `accepted` event and a note, durable before it is polled), then polled to its end;
/// - several tasks, or one that another lost submission's window also holds: needs attention,
///   with the candidates named;
/// - none: needs attention too. DashScope's documentation does not promise that the list shows
///   every task, at once, so absence is not proof that nothing was created or billed;
/// - a window that is not yet past by `clockSkew + listingDelay` (a submission may still be on its
///   way, or `run` may still be waiting for its answer): left open for a later `resume`;
/// - a list that fails: left open for a later `resume`, with the reason.
///
/// The ledger is read before the provider's list, so a task created after that read is created
/// after every past window. Two resumers that adopt one task both append `accepted`; the first in
/// ledger order decides: only its writer polls the task, and a second `accepted` of a task the job
/// already holds changes nothing in the job's fold.
public struct LostSubmissionResolver: Sendable {
    /// The margins of the search window, in seconds.
    public struct Allowances: Sendable, Equatable {
        /// How far the provider's clock may be from ours.
        public var clockSkew: TimeInterval
        /// How long after its creation a task may take to appear in the list.
        public var listingDelay: TimeInterval
        /// Every margin (and the adapters' request timeout) is divided by this: the time scale of a
        /// drill, a ratio of durations (never applied to money).
        public var timeScale: Double

        /// Margins of `clockSkew` and `listingDelay` seconds, divided by `timeScale`.
        public init(clockSkew: TimeInterval = 300, listingDelay: TimeInterval = 60, timeScale: Double = 1) {
            self.clockSkew = clockSkew
            self.listingDelay = listingDelay
            self.timeScale = max(1, timeScale)
        }
    }

    /// What the list says about one job's lost submission.
    public enum Finding: Sendable, Equatable {
        /// One task fits: adopt it (``adopt(_:note:runID:at:)``) and poll it.
        case found(AcceptedTask, reserved: Bool, note: String)
        /// No task, or several: end the job needing attention with this detail.
        case needsAttention(jobID: String, detail: String)
        /// Not decidable now (the window is not past, or the list failed): leave the job open.
        case later(jobID: String, detail: String)
    }

    let store: any LedgerStore
    let adapters: [ProviderID: any ProviderAdapter]
    let apiKeys: [ProviderID: String]
    let allowances: Allowances

    /// A resolver over `store`, listing through those `adapters` that adopt ``TaskListing``.
    public init(store: any LedgerStore, adapters: [ProviderID: any ProviderAdapter], apiKeys: [ProviderID: String],
                allowances: Allowances = Allowances()) {
        self.store = store
        self.adapters = adapters
        self.apiKeys = apiKeys
        self.allowances = allowances
    }

    /// Whether `job` is a lost submission this resolver can look for: its provider lists tasks.
    public func canResolve(_ job: JobState) -> Bool {
        guard job.status == .submitted || job.status == .outcomeUnknown, let p = job.provider, apiKeys[p] != nil,
              job.decision != nil, job.mode != nil, job.resolution != nil else { return false }
        return adapters[p] is any TaskListing
    }

    /// One finding per job of `jobs` that ``canResolve(_:)``, by job id. `now` is the calendar time.
    public func find(_ jobs: [JobState], now: Date) async throws -> [String: Finding] {
        let lost = jobs.filter(canResolve)
        if lost.isEmpty { return [:] }
        // The ledger first, the provider's list after (see above).
        let ids = Set(lost.map(\.id))
        var known = Set<String>()
        var intents: [String: LedgerTime] = [:]
        for month in try await store.months() {
            try await store.forEachRecord(in: month) { r in
                if let t = r.event.taskID { known.insert(t) }
                if case .submitIntent = r.event.body, ids.contains(r.event.jobID) { intents[r.event.jobID] = r.event.time }
            }
        }
        var listed: [String: Result<[ListedTask], ProviderError>] = [:]
        var windows: [String: (from: Date, to: Date)] = [:]
        for job in lost {
            guard let intent = intents[job.id], let provider = job.provider, let lister = adapters[provider] as? any TaskListing,
                  let key = apiKeys[provider], let behavior = job.decision?.behavior else { continue }
            let skew = allowances.clockSkew / allowances.timeScale
            let window = (from: intent.date.addingTimeInterval(-skew), to: intent.date.addingTimeInterval(lister.requestTimeout / allowances.timeScale + skew))
            windows[job.id] = window
            do {
                let tasks = try await lister.listTasks(behavior: behavior, createdFrom: window.from, to: window.to, apiKey: key)
                listed[job.id] = .success(tasks.filter { !known.contains($0.taskID) })
            } catch {
                listed[job.id] = .failure(error.redacting(key))
            }
        }
        // A task in the windows of two lost submissions of the same provider could be either's.
        var claims: [String: Set<String>] = [:]
        for job in lost {
            guard case .success(let tasks) = listed[job.id], let p = job.provider else { continue }
            for t in tasks { claims[p.rawValue + " " + t.taskID, default: []].insert(job.id) }
        }
        var findings: [String: Finding] = [:]
        for job in lost {
            findings[job.id] = decide(job, intent: intents[job.id], window: windows[job.id], listed: listed[job.id], claims: claims, now: now)
        }
        return findings
    }

    func decide(_ job: JobState, intent: LedgerTime?, window: (from: Date, to: Date)?, listed: Result<[ListedTask], ProviderError>?,
                claims: [String: Set<String>], now: Date) -> Finding {
        let provider = job.provider!
        guard let intent, let window, let listed else {
            return .later(jobID: job.id, detail: "its submit-intent could not be read back from the ledger; run resume again")
        }
        let span = "from \(LedgerTime(window.from)) to \(LedgerTime(window.to))"
        let settle = window.to.addingTimeInterval((allowances.clockSkew + allowances.listingDelay) / allowances.timeScale)
        guard now >= settle else {
            return .later(jobID: job.id, detail: "its submission at \(intent) may still be on its way (or `run` may still be waiting for its answer); run resume again after \(LedgerTime(settle))")
        }
        let tasks: [ListedTask]
        switch listed {
        case .failure(let e):
            return .later(jobID: job.id, detail: "looking for its task in \(provider)'s task list failed (\(e.message)); run resume again")
        case .success(let t): tasks = t
        }
        let model = job.decision.map { "\($0.behavior.rawValue)" } ?? "its"
        let lead = "a submission to \(provider) at \(intent) got no recorded answer"
        guard let only = tasks.first else {
            return .needsAttention(jobID: job.id, detail: "\(lead), and \(provider)'s task list shows no \(model) task created \(span) that the ledger does not already hold. The provider does not promise the list is complete, so a task may still exist and bill: look for it in the provider's console, and do not run the job again until you know")
        }
        if tasks.count > 1 {
            return .needsAttention(jobID: job.id, detail: "\(lead); \(provider)'s task list shows \(tasks.count) \(model) tasks created \(span) that the ledger does not hold (\(tasks.map(\.taskID).joined(separator: ", "))), so which is this job's is unknown: find it in the provider's console")
        }
        let others = (claims[provider.rawValue + " " + only.taskID] ?? []).subtracting([job.id]).sorted()
        if !others.isEmpty {
            return .needsAttention(jobID: job.id, detail: "\(lead); the one task \(provider) lists for it, \(only.taskID), could as well be that of job \(others.joined(separator: ", ")) (also without an answer), so neither is adopted: find out in the provider's console")
        }
        guard let created = only.createdAt, let mode = job.mode, let resolution = job.resolution, let d = job.decision else {
            return .needsAttention(jobID: job.id, detail: "\(lead); \(provider) lists task \(only.taskID) without a readable creation time, so it is not adopted: find out in the provider's console")
        }
        let order = JobOrder(id: job.id, job: Job(behavior: d.behavior, duration: d.duration, resolution: d.requiredResolution, mode: d.requiredMode, tags: d.tags),
                             imageURL: "", videoURL: "")
        let note = "task \(only.taskID) adopted by resume: the submission at \(intent) got no recorded answer, and \(provider)'s task list shows this one \(model) task, created at \(LedgerTime(created)), that the ledger did not hold (searched \(span))"
        return .found(AcceptedTask(order: order, provider: provider, mode: mode, resolution: resolution, taskID: only.taskID),
                      reserved: job.openReservation.nanos > 0, note: note)
    }

    /// Records the adoption (`accepted` and the note, durable before any poll) and reads the ledger
    /// back: true when this `runID`'s `accepted` is the first of the task, so this resume polls it.
    /// When another job's `accepted` came first, the job ends needing attention.
    public func adopt(_ task: AcceptedTask, note: String, runID: String, at: LedgerTime) async throws -> Bool {
        let job = task.order.id
        _ = try await store.append([LedgerEvent(time: at, jobID: job, runID: runID, provider: task.provider, taskID: task.taskID, body: .accepted),
                                    LedgerEvent(time: at, jobID: job, runID: runID, body: .note(text: note))])
        var first: LedgerEvent?
        for month in try await store.months() where first == nil {
            try await store.forEachRecord(in: month) { r in
                if first == nil, case .accepted = r.event.body, r.event.taskID == task.taskID, r.event.provider == task.provider { first = r.event }
            }
        }
        guard let first else { return false }
        if first.jobID == job { return first.runID == runID }
        _ = try await store.append([LedgerEvent(time: at, jobID: job, runID: runID, body: .needsAttention(detail:
            "task \(task.taskID) was adopted for job \(first.jobID) first (by another resume), so it is not this job's; this job's submission outcome stays unknown: look in the provider's console"))])
        return false
    }
}
