/// What `resume` does for one unfinished job, decided from its folded state alone.
public enum ResumeStep: Sendable, Equatable {
    /// A task exists at the provider: poll it to its end (never submit again).
    case poll(AcceptedTask, reserved: Bool)
    /// A submission left and no answer was recorded: a task may exist and may bill. End the job
    /// needing attention, with everything known.
    case unknownOutcome(jobID: String, detail: String)
    /// Nothing was sent (the run stopped between deciding and submitting, or between two offers):
    /// end the job failed at no cost and release its reservation.
    case neverSubmitted(jobID: String, reserved: Bool)
    /// Finished, but its reservation is still open and the actual cost is known: settle it.
    case settle(jobID: String, cost: Money)
    /// Nothing `resume` can do (a needs-attention job whose cost is unknown keeps its reservation).
    case leave(jobID: String, reason: String)
}

/// Plans `resume` from the ledger's unfinished jobs: which to poll, which outcomes are unknown,
/// which reservations a dead process left open.
public enum ResumePlan {
    /// One step per job, in the order given. `usd` converts a job's actual cost for settling.
    public static func steps(for jobs: [JobState], usd: (Money) -> Money?) -> [ResumeStep] {
        jobs.map { step(for: $0, usd: usd) }
    }

    static func step(for s: JobState, usd: (Money) -> Money?) -> ResumeStep {
        let reserved = s.openReservation.nanos > 0
        if s.status.isFinal {
            if reserved, let cost = s.actualCost, let dollars = usd(cost) { return .settle(jobID: s.id, cost: dollars) }
            return .leave(jobID: s.id, reason: "ended \(s.status.rawValue) with its cost unknown; its reservation stays until a person settles it")
        }
        switch s.status {
        case .accepted, .queued, .running, .unfinished:
            guard let task = s.taskID, let provider = s.provider, let mode = s.mode, let resolution = s.resolution, let d = s.decision else {
                return .unknownOutcome(jobID: s.id, detail: "the ledger lacks the task's provider or offer, so it cannot be polled")
            }
            let job = Job(behavior: d.behavior, duration: d.duration, resolution: d.requiredResolution, mode: d.requiredMode, tags: d.tags)
            // Polling submits nothing, so the inputs' URLs (not kept in the ledger) are not needed.
            let order = JobOrder(id: s.id, job: job, imageURL: "", videoURL: "")
            return .poll(AcceptedTask(order: order, provider: provider, mode: mode, resolution: resolution, taskID: task), reserved: reserved)
        case .submitted, .outcomeUnknown:
            let at = s.submittedAt.map { " (first submission at \($0))" } ?? ""
            return .unknownOutcome(jobID: s.id, detail: "a submission to \(s.provider?.rawValue ?? "the provider")\(at) got no recorded answer: a task may exist and bill; look for it in the provider's console, and do not run the job again until you know")
        default:
            return .neverSubmitted(jobID: s.id, reserved: reserved)
        }
    }
}
