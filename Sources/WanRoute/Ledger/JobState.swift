/// Where a job stands, as the fold of its events says.
public enum JobStatus: String, Sendable, CaseIterable, Hashable {
    /// An offer was chosen; nothing submitted yet.
    case decided
    /// The policy refused the job; nothing was submitted. Final.
    case refused
    /// A submission was about to leave (submit-intent) and no answer is recorded yet.
    case submitted
    /// The provider created a task and has not reported it running: it waits.
    case accepted
    /// The task waits at the provider again after running (ledgers written before schema version 4
    /// also say so right after acceptance).
    case queued
    /// The task is being generated.
    case running
    /// An attempt failed and the job moves on to the next alternate.
    case failingOver = "failing-over"
    /// The task finished with a result. Final.
    case succeeded
    /// Every allowed attempt failed. Final.
    case failed
    /// A submission got no answer: a task may exist and bill.
    case outcomeUnknown = "outcome-unknown"
    /// The deadline passed with the task still running at the provider.
    case unfinished
    /// The job ended needing a person. Final.
    case needsAttention = "needs-attention"

    /// Whether no further step will be taken for the job.
    public var isFinal: Bool { self == .refused || self == .succeeded || self == .failed || self == .needsAttention }
}

/// A task a job created at a provider.
public struct LedgerTask: Sendable, Equatable {
    /// The provider.
    public var provider: ProviderID
    /// The provider's task id.
    public var taskID: String
}

/// A job's state: the fold of its events in order. Nothing is stored that the events do not say.
public struct JobState: Sendable, Equatable {
    /// The job's id.
    public let id: String
    /// Where the job stands.
    public private(set) var status: JobStatus = .decided
    /// The run that decided the job.
    public private(set) var runID: String?
    /// The decision, when one is recorded.
    public private(set) var decision: LedgerDecision?
    /// The provider of the current (or last) attempt.
    public private(set) var provider: ProviderID?
    /// The mode of the current attempt.
    public private(set) var mode: Mode?
    /// The resolution of the current attempt.
    public private(set) var resolution: Resolution?
    /// The task id of the current attempt, when a task exists.
    public private(set) var taskID: String?
    /// Every task the job created, in order.
    public private(set) var tasks: [LedgerTask] = []
    /// Submissions recorded (submit-intent events).
    public private(set) var submissions = 0
    /// The estimate of the chosen offer (its own currency).
    public private(set) var estimatedCost: Money?
    /// What the job cost across its attempts; nil while unknown (never zero instead).
    public private(set) var actualCost: Money?
    /// How the last known cost was found.
    public private(set) var actualCostSource: JobReport.CostSource?
    /// Where the result can be fetched.
    public private(set) var resultURL: String?
    /// The seconds the provider billed, when it said.
    public private(set) var billedSeconds: Seconds?
    /// The last failure class, if any.
    public private(set) var failure: FailureClass?
    /// The last detail sentence recorded (failure, unknown outcome, needs attention, note).
    public private(set) var detail: String?
    /// USD reserved and not yet settled or released.
    public private(set) var openReservation: Money = .zero(.usd)
    /// USD settled for the job.
    public private(set) var settled: Money?
    /// When the job was decided.
    public private(set) var decidedAt: LedgerTime?
    /// The first submission's time.
    public private(set) var submittedAt: LedgerTime?
    /// When the job reached a final status.
    public private(set) var finishedAt: LedgerTime?
    /// The time of the latest event.
    public private(set) var lastEventAt: LedgerTime?
    /// Events folded.
    public private(set) var eventCount = 0

    private var costs: [Money?] = []

    /// An empty state for a job id.
    public init(id: String) { self.id = id }

    /// The state after `records`, or nil when there are none.
    public static func fold(_ records: [LedgerRecord]) -> JobState? {
        guard let first = records.first else { return nil }
        var s = JobState(id: first.event.jobID)
        for r in records { s.apply(r.event) }
        return s
    }

    /// Whether the job needs nothing more: a final status and no reservation left open.
    public var isFinished: Bool { status.isFinal && openReservation.nanos == 0 }

    /// The task's state at the provider as the ledger last says it: `queued` for an accepted or
    /// queued job (acceptance says the task waits), `running` for a running one; nil otherwise.
    public var taskProgress: TaskProgress? {
        switch status {
        case .accepted, .queued: return .queued
        case .running: return .running
        default: return nil
        }
    }

    /// Applies the next event of this job.
    public mutating func apply(_ e: LedgerEvent) {
        precondition(e.jobID == id, "folding another job's event")
        eventCount += 1
        lastEventAt = e.time
        // A job ends once. What a second poller of its task records after the end (`resume`
        // alongside `run`, or two `resume`s: another end, a state) changes nothing, so its cost and
        // settlement count once; settling, releasing and notes still apply.
        if status.isFinal, [.accepted, .state, .succeeded, .failed, .outcomeUnknown, .unfinished, .needsAttention].contains(e.type) { return }
        if runID == nil { runID = e.runID }
        if let p = e.provider { provider = p }
        if let t = e.taskID { taskID = t }
        switch e.body {
        case .decided(let d) where d.mode == nil && decision != nil:
            // A later refusal (the budget refused the choice at reservation): the job ends
            // refused, and its first decision stays what it chose.
            status = .refused
            finishedAt = e.time
            detail = d.refusal
        case .decided(let d):
            decision = d
            if let b = d.reservation { openReservation = openReservation + b.amount }
            decidedAt = decidedAt ?? e.time
            mode = d.mode
            resolution = d.resolution
            estimatedCost = d.estimate
            if d.mode == nil {
                status = .refused
                finishedAt = e.time
                detail = d.refusal
            } else {
                status = .decided
            }
        case .reserved(let b):
            openReservation = openReservation + b.amount
        case .submitIntent(let m, let r, _):
            submissions += 1
            submittedAt = submittedAt ?? e.time
            mode = m
            resolution = r
            taskID = e.taskID
            status = .submitted
        case .accepted:
            if let p = e.provider, let t = e.taskID {
                // The same task accepted again (two `resume`s adopted it): nothing changes, so a
                // job that already went on, or ended, is not reopened.
                if tasks.contains(LedgerTask(provider: p, taskID: t)) { break }
                tasks.append(LedgerTask(provider: p, taskID: t))
            }
            status = .accepted
        case .state(let s):
            status = s == .queued ? .queued : .running
        case .succeeded(let s):
            resultURL = s.resultURL
            billedSeconds = s.billedSeconds
            costs.append(s.cost)
            actualCostSource = s.costSource
            status = .succeeded
            finishedAt = e.time
            if let m = s.settlement { settle(m) }
        case .failed(let f):
            failure = f.failure
            detail = f.detail ?? detail
            costs.append(f.cost)
            actualCostSource = f.costSource ?? actualCostSource
            status = f.final ? .failed : .failingOver
            if f.final { finishedAt = e.time }
            if let m = f.settlement { settle(m) }
        case .outcomeUnknown(let d):
            detail = d
            status = .outcomeUnknown
        case .unfinished(let d):
            detail = d
            status = .unfinished
        case .needsAttention(let d):
            detail = d
            if submissions > 0, !(status == .succeeded || status == .failed || status == .failingOver) { costs.append(nil) }
            status = .needsAttention
            finishedAt = e.time
        case .settled(let m):
            settle(m)
        case .released(let d):
            openReservation = .zero(.usd)
            if let d { detail = d }
        case .note(let text):
            detail = text
        }
        actualCost = total(costs)
    }

    private mutating func settle(_ amount: Money) {
        openReservation = .zero(.usd)
        settled = (settled ?? .zero(.usd)) + amount
    }

    /// The sum of the attempts' costs: unknown when any is unknown or currencies differ.
    private func total(_ parts: [Money?]) -> Money? {
        guard !parts.isEmpty, parts.allSatisfy({ $0 != nil }) else { return nil }
        let known = parts.map { $0! }
        let charged = known.filter { $0.nanos != 0 }
        guard let first = charged.first else { return known.last }
        guard charged.allSatisfy({ $0.currency == first.currency }) else { return nil }
        return charged.dropFirst().reduce(first, +)
    }
}

extension JobReport {
    /// The run line for a job the ledger already holds: its recorded outcome, from the fold.
    public init(recorded s: JobState) {
        let status: JobReport.Status
        switch s.status {
        case .succeeded: status = .succeeded
        case .failed: status = .failed
        case .refused: status = .refused
        case .needsAttention, .outcomeUnknown, .submitted: status = .needsAttention
        default: status = .unfinished
        }
        let first = s.runID.map { " (first run \($0))" } ?? ""
        let more = s.status.isFinal ? "" : "; run 'wanroute resume' to finish it"
        self.init(id: s.id, status: status, provider: s.provider, mode: s.mode, resolution: s.resolution, taskID: s.taskID,
                  resultURL: s.resultURL, estimatedCost: s.estimatedCost, actualCost: s.actualCost, actualCostSource: s.actualCostSource,
                  message: "job \(s.id) is already in the ledger\(first), so it was not started again: \(s.status.rawValue)\(more)")
    }
}
