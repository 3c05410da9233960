/// Expected wall-clock time of a job: `queue + perOutputSecond × duration`.
///
/// Seeded from the providers' public examples; no provider promises latency. A model, not money, so
/// floating point is fine here.
public struct LatencyModel: Sendable, Equatable {
    /// Seconds from submission until generation starts, whatever the clip's length.
    public let queueSeconds: Double
    /// Seconds of generation per second of output video.
    public let secondsPerOutputSecond: Double

    /// Expected seconds from submission to result for a clip of `duration`.
    public func expectedSeconds(for duration: Seconds) -> Double {
        queueSeconds + secondsPerOutputSecond * Double(min(max(duration.micros, 0), Seconds.longestJob.micros)) / 1_000_000
    }
}
