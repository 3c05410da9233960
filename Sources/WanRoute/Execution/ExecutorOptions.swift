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

    /// An actual cost more than this many percent away from the estimate is flagged in the report.
    public var costAlertPercent: Int64 = 10

    /// The defaults.
    public init() {}
}

