/// One step of a job, in the order it happens. A ledger records these; the CLI shows some as progress.
///
/// A job's steps: `decided`, then for each offer tried `submitIntent` (before every HTTP submission),
/// `retrying` (that submission created no task; another follows) or `accepted`, `taskState` on
/// every change the polls see, `attemptEnded`, `failingOver` before the next offer, and `finished`
/// once. A `submitIntent` with neither `retrying`, `accepted` nor an `attemptEnded` whose outcome
/// is `submit-failed` after it is an unknown outcome: a task may exist.
public enum ExecutionEvent: Sendable {
    /// The job's decision, made when the job started (before anything is reserved or submitted).
    case decided(JobOrder, Decision)
    /// A submission of `offer` is about to leave; `submission` counts from 1 within the attempt.
    /// Awaited before the request is sent, so a ledger can make the intent durable first.
    case submitIntent(jobID: String, offer: RankedOffer, submission: Int)
    /// The provider created a task. Awaited before polling starts.
    case accepted(jobID: String, provider: ProviderID, taskID: String)
    /// A submission failed in a way that proves no task exists; the next one goes out `after` from now.
    case retrying(jobID: String, provider: ProviderID, after: Seconds, reason: String)
    /// A poll saw the task in a new state (the first poll always reports one).
    case taskState(jobID: String, provider: ProviderID, taskID: String, state: TaskState)
    /// One offer's attempt ended (or was skipped), with its outcome and cost.
    case attemptEnded(jobID: String, attempt: Attempt)
    /// The job moves on from one provider's offer to the next alternate.
    case failingOver(jobID: String, from: ProviderID, to: ProviderID, reason: String)
    /// The job ended, with its report.
    case finished(JobReport)

    /// The id of the job the step belongs to.
    public var jobID: String {
        switch self {
        case .decided(let order, _): return order.id
        case .submitIntent(let id, _, _), .accepted(let id, _, _), .retrying(let id, _, _, _), .taskState(let id, _, _, _),
             .attemptEnded(let id, _), .failingOver(let id, _, _, _):
            return id
        case .finished(let report): return report.id
        }
    }
}

/// Whether an offer may be tried, as an observer (a budget book) sees it.
public enum Admission: Sendable, Equatable {
    /// Go ahead: submit.
    case admitted
    /// Do not try this offer; the sentence says why (it becomes the attempt's detail).
    case refused(String)
}

/// The executor's record-keeping seam: it hears every step of every job, awaited before the
/// executor goes on, and admits each offer before its first submission.
///
/// A ledger implements this: it reserves budget in ``admit(_:offer:)`` (between the decision and
/// the submission), makes `submitIntent` durable before the request leaves and `accepted` durable
/// before polling goes on. Throwing from either method is fatal for the run: the executor stops
/// submitting (``Executor/stopSubmitting(_:)``), ends the job without sending anything more, and
/// every later job ends `stopped`.
public protocol ExecutionObserver: Sendable {
    /// Before `offer`'s first submission for `order`: whether to try it. The default admits.
    func admit(_ order: JobOrder, offer: RankedOffer) async throws -> Admission
    /// One step, awaited before the executor goes on.
    func record(_ event: ExecutionEvent) async throws
}

extension ExecutionObserver {
    /// Admits every offer.
    public func admit(_ order: JobOrder, offer: RankedOffer) async throws -> Admission { .admitted }
}

/// An observer that hands every event to a closure and admits every offer: for progress output.
public struct ExecutionEventHandler: ExecutionObserver {
    let handle: @Sendable (ExecutionEvent) -> Void

    /// An observer calling `handle` for each event.
    public init(_ handle: @escaping @Sendable (ExecutionEvent) -> Void) { self.handle = handle }

    /// Calls the closure.
    public func record(_ event: ExecutionEvent) async throws { handle(event) }
}

/// How a job's decision is made when the job starts: the seam where a ledger reads month-to-date
/// spend and decides under its budget lock. ``Router`` is the default (no spend).
public protocol JobDecider: Sendable {
    /// The decision for `order`, made now. Throwing stops the run (see ``ExecutionObserver``).
    func decision(for order: JobOrder) async throws -> Decision
}

extension Router: JobDecider {
    /// The router's decision for the order's job, against no recorded spend.
    public func decision(for order: JobOrder) async throws -> Decision { decide(order.job) }
}
