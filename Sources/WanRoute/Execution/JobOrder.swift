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

/// A task a provider accepted, and what is needed to continue and price it: enough for
/// ``Executor/poll(_:firstWait:)`` to follow it to its end without submitting anything (`resume`).
public struct AcceptedTask: Sendable, Equatable {
    /// The job the task belongs to (its facts price a billed quantity).
    public var order: JobOrder
    /// The provider that accepted the task.
    public var provider: ProviderID
    /// The offer's mode.
    public var mode: Mode
    /// The offer's output resolution.
    public var resolution: Resolution
    /// The provider's task id.
    public var taskID: String

    /// Creates a task to continue.
    public init(order: JobOrder, provider: ProviderID, mode: Mode, resolution: Resolution, taskID: String) {
        self.order = order
        self.provider = provider
        self.mode = mode
        self.resolution = resolution
        self.taskID = taskID
    }
}
