import Foundation

/// A task a provider lists: its id, when it was created, and its state in the provider's words.
public struct ListedTask: Sendable, Equatable {
    /// The provider's task id.
    public var taskID: String
    /// When the provider created the task; nil when its answer did not say readably.
    public var createdAt: Date?
    /// The task's state as the provider words it (DashScope: PENDING, RUNNING, SUCCEEDED, …).
    public var status: String?

    /// Creates a listed task.
    public init(taskID: String, createdAt: Date?, status: String?) {
        self.taskID = taskID
        self.createdAt = createdAt
        self.status = status
    }
}

/// A provider that lists the tasks its account created in a time window (DashScope does): how
/// `resume` finds a task whose submission's answer was lost. Only adapters whose provider offers a
/// list adopt it; callers ask `adapter as? TaskListing`.
public protocol TaskListing: Sendable {
    /// The longest the adapter waits for a submission's answer, in seconds: a task created for a
    /// submission whose answer was lost was created within this time of the request.
    var requestTimeout: Double { get }

    /// The tasks of `behavior`'s model that the account created from `from` to `to` (both
    /// included), and every listed task whose model or creation time the answer leaves unreadable
    /// (such a task cannot be ruled out). Bounded in pages, bytes and time: a list too long to read
    /// safely, or one that changes while it is read, is an error, never a partial answer.
    func listTasks(behavior: Behavior, createdFrom from: Date, to: Date, apiKey: String) async throws(ProviderError) -> [ListedTask]
}
