import Foundation

/// One job's share of the report fold (``LedgerReportFold``), kept apart so that a store can save
/// it per job and continue it from the job's later events: the PostgreSQL store's job table holds
/// one per job, folded as each batch of events is written, so a report reads one row per job
/// instead of every event. The steps are the report fold's own, so the jobs come out the same.
///
/// ``encoded()`` is a versioned binary form; ``init(encoded:)`` checks every length and code and
/// reads damaged bytes as nil (the store then folds the job's events instead).
public struct ReportJobFold: Sendable {
    var partial: LedgerReportFold.Partial
    /// USD nano-units the job still holds reserved, counted as ``JobState`` counts them.
    public private(set) var reservedNanos: Int64

    /// Starts a job's fold at its decision; nil for any other event.
    public init?(decided event: LedgerEvent) {
        guard case .decided(let d) = event.body else { return nil }
        partial = LedgerReportFold.start(d, event)
        reservedNanos = d.reservation?.amount.nanos ?? 0
    }

    /// The job's id.
    public var jobID: String { partial.job.id }
    /// Whether the fold has ended the job: a report hands it on at this event.
    public var ended: Bool { partial.ended }
    /// When the job was decided.
    public var decidedAt: LedgerTime { LedgerTime(partial.job.decidedAt) }

    /// Folds the job's next event, its own later decisions included (a later refusal ends it).
    /// Nothing changes once the job has ended: the report fold has handed it on by then.
    public mutating func apply(_ event: LedgerEvent) {
        guard !partial.ended else { return }
        if case .decided(let d) = event.body {
            LedgerReportFold.decidedAgain(d, event, &partial)
            if d.mode != nil, let b = d.reservation { reservedNanos &+= b.amount.nanos }
            return
        }
        LedgerReportFold.fold(event, into: &partial, catalog: nil)
        if let b = event.body.reservation {
            reservedNanos &+= b.amount.nanos
        } else if event.body.settlement != nil {
            reservedNanos = 0
        }
    }

    /// Applies what an event after the job's end does to its reservation (a late settlement or
    /// release frees it; a late reservation holds more), as ``JobState`` folds such events.
    public mutating func applyAfterEnd(_ event: LedgerEvent) {
        switch event.body {
        case .reserved(let b): reservedNanos &+= b.amount.nanos
        case .settled, .released: reservedNanos = 0
        default: break
        }
    }

    /// The job as the report fold hands it on; `catalog` gives the billing rule where the provider
    /// reported no quantity.
    public func job(catalog: PriceCatalog) -> ReportJob {
        var j = LedgerReportFold.finished(partial)
        if j.status == .succeeded, j.reportedSeconds == nil, let offer = j.offer {
            j.billedSeconds = LedgerReportFold.ruleSeconds(offer: offer, duration: j.request.duration, catalog)
        }
        return j
    }

    // MARK: bytes

    static let version: UInt8 = 1

    /// The fold as bytes (see ``init(encoded:)``).
    public func encoded() -> [UInt8] {
        var w = FoldWriter()
        let p = partial, j = p.job
        w.byte(Self.version)
        w.string(j.id)
        w.string(j.status.rawValue)
        w.string(j.policy)
        w.string(j.request.behavior.rawValue)
        w.int(j.request.duration.micros)
        w.optional(j.request.resolution?.rawValue)
        w.optional(j.request.mode?.rawValue)
        w.int(Int64(j.request.tags.count))
        for (k, v) in j.request.tags.sorted(by: { $0.key < $1.key }) {
            w.string(k)
            w.string(v)
        }
        w.offer(j.offer)
        w.optional(j.taskID)
        w.money(j.estimatedCost)
        w.money(j.estimatedUSD)
        w.seconds(j.billedSeconds)
        w.seconds(j.reportedSeconds)
        w.money(j.actualCost)
        w.optional(j.actualCostSource?.rawValue)
        w.int(Int64(j.retries))
        w.int(Int64(j.failedOver.count))
        for a in j.failedOver {
            w.offer(a.offer)
            w.optional(a.taskID)
            w.money(a.cost)
            w.optional(a.costSource?.rawValue)
            w.optional(a.failure?.rawValue)
            w.time(a.submittedAt)
            w.time(a.finishedAt)
        }
        w.time(j.decidedAt)
        w.time(j.submittedAt)
        w.time(j.finishedAt)
        w.int(Int64(p.submissions))
        w.offer(p.current)
        w.optional(p.currentTask)
        w.time(p.currentSubmitted?.date)
        switch p.finalCost {
        case .none: w.byte(0)
        case .some(.none): w.byte(1)
        case .some(.some(let m)):
            w.byte(2)
            w.money(m)
        }
        w.byte(p.ended ? 1 : 0)
        w.int(reservedNanos)
        return w.bytes
    }

    /// Reads ``encoded()`` bytes; nil when they are not exactly one fold of this version.
    public init?(encoded bytes: [UInt8]) {
        var r = FoldReader(bytes: bytes)
        guard r.byte() == Self.version, let id = r.string(), let status = r.string().flatMap(ReportJob.Status.init(rawValue:)),
              let policy = r.string(), let behavior = r.string().flatMap(Behavior.init(rawValue:)), let duration = r.int(),
              let resolution = r.optional(Resolution.init(rawValue:)), let mode = r.optional(Mode.init(rawValue:)),
              let tagCount = r.count() else { return nil }
        var tags: [String: String] = [:]
        for _ in 0..<tagCount {
            guard let k = r.string(), let v = r.string(), tags.updateValue(v, forKey: k) == nil else { return nil }
        }
        guard let offer = r.offer(), let taskID = r.optional({ $0 }), let estimate = r.money(), let estimateUSD = r.money(),
              let billed = r.seconds(), let reported = r.seconds(), let actual = r.money(),
              let source = r.optional(JobReport.CostSource.init(rawValue:)), let retries = r.int(), let attemptCount = r.count() else { return nil }
        var failedOver: [ReportAttempt] = []
        for _ in 0..<attemptCount {
            guard let o = r.offer(), let attemptOffer = o, let task = r.optional({ $0 }), let cost = r.money(),
                  let costSource = r.optional(JobReport.CostSource.init(rawValue:)), let failure = r.optional(FailureClass.init(rawValue:)),
                  let submitted = r.time(), let finished = r.time() else { return nil }
            failedOver.append(ReportAttempt(offer: attemptOffer, taskID: task, cost: cost, costSource: costSource, failure: failure,
                                            submittedAt: submitted, finishedAt: finished))
        }
        guard let decided = r.time(), let decidedAt = decided, let submittedAt = r.time(), let finishedAt = r.time(),
              let submissions = r.int(), let current = r.offer(), let currentTask = r.optional({ $0 }), let currentSubmitted = r.time()
        else { return nil }
        let finalCost: Money??
        switch r.byte() {
        case 0: finalCost = .none
        case 1: finalCost = .some(.none)
        case 2:
            guard let m = r.money(), let money = m else { return nil }
            finalCost = .some(money)
        default: return nil
        }
        guard let endedByte = r.byte(), endedByte <= 1, let reserved = r.int(), r.atEnd, retries >= 0, retries <= Int64(Int32.max),
              submissions >= 0, submissions <= Int64(Int32.max) else { return nil }
        let job = ReportJob(id: id, status: status, policy: policy,
                            request: Job(behavior: behavior, duration: Seconds(micros: duration), resolution: resolution, mode: mode, tags: tags),
                            offer: offer, taskID: taskID, estimatedCost: estimate, estimatedUSD: estimateUSD, billedSeconds: billed,
                            reportedSeconds: reported, actualCost: actual, actualCostSource: source, retries: Int(retries), failedOver: failedOver,
                            decidedAt: decidedAt, submittedAt: submittedAt, finishedAt: finishedAt)
        partial = LedgerReportFold.Partial(job: job, submissions: Int(submissions), current: current, currentTask: currentTask,
                                           currentSubmitted: currentSubmitted.map { LedgerTime($0) }, finalCost: finalCost, ended: endedByte == 1)
        reservedNanos = reserved
    }
}

/// Little-endian fields for ``ReportJobFold/encoded()``.
private struct FoldWriter {
    var bytes: [UInt8] = []

    mutating func byte(_ b: UInt8) { bytes.append(b) }
    mutating func int(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes.append(contentsOf: $0) } }
    mutating func string(_ s: String) {
        let utf8 = Array(s.utf8)
        int(Int64(utf8.count))
        bytes += utf8
    }
    mutating func optional(_ s: String?) {
        guard let s else { return byte(0) }
        byte(1)
        string(s)
    }
    mutating func money(_ m: Money?) {
        guard let m else { return byte(0) }
        byte(1)
        int(m.nanos)
        string(m.currency.code)
    }
    mutating func seconds(_ s: Seconds?) {
        guard let s else { return byte(0) }
        byte(1)
        int(s.micros)
    }
    mutating func time(_ d: Date?) {
        guard let d else { return byte(0) }
        byte(1)
        // Nearest, not down: every instant here came from whole milliseconds.
        int(Int64((d.timeIntervalSince1970 * 1000).rounded()))
    }
    mutating func offer(_ o: OfferRef?) {
        guard let o else { return byte(0) }
        byte(1)
        string(o.provider.rawValue)
        string(o.mode.rawValue)
        string(o.resolution.rawValue)
    }
}

/// Reads ``FoldWriter`` fields; every read checks the bytes left, so damaged input ends in nil.
/// Optional fields read as `T??`: nil when damaged, `.some(nil)` when absent.
private struct FoldReader {
    let bytes: [UInt8]
    var at = 0

    var atEnd: Bool { at == bytes.count }

    mutating func byte() -> UInt8? {
        guard at < bytes.count else { return nil }
        defer { at += 1 }
        return bytes[at]
    }

    mutating func int() -> Int64? {
        guard bytes.count - at >= 8 else { return nil }
        var v: UInt64 = 0
        for k in 0..<8 { v |= UInt64(bytes[at + k]) << (8 * UInt64(k)) }
        at += 8
        return Int64(bitPattern: v)
    }

    /// A count no larger than the bytes left (each counted item takes at least one byte).
    mutating func count() -> Int? {
        guard let n = int(), n >= 0, n <= Int64(bytes.count - at) else { return nil }
        return Int(n)
    }

    mutating func string() -> String? {
        guard let n = count() else { return nil }
        defer { at += n }
        return String(validating: bytes[at..<(at + n)], as: UTF8.self)
    }

    /// Whether an optional field is there; nil when the marker is damaged.
    mutating func present() -> Bool? {
        switch byte() {
        case 0: return false
        case 1: return true
        default: return nil
        }
    }

    mutating func optional<T>(_ make: (String) -> T?) -> T?? {
        guard let p = present() else { return nil }
        guard p else { return .some(nil) }
        guard let s = string(), let v = make(s) else { return nil }
        return .some(v)
    }

    mutating func money() -> Money?? {
        guard let p = present() else { return nil }
        guard p else { return .some(nil) }
        guard let nanos = int(), let code = string(), let currency = Currency(code: code) else { return nil }
        return .some(Money(nanos: nanos, currency: currency))
    }

    mutating func seconds() -> Seconds?? {
        guard let p = present() else { return nil }
        guard p else { return .some(nil) }
        guard let micros = int() else { return nil }
        return .some(Seconds(micros: micros))
    }

    mutating func time() -> Date?? {
        guard let p = present() else { return nil }
        guard p else { return .some(nil) }
        guard let ms = int() else { return nil }
        return .some(LedgerTime(milliseconds: ms).date)
    }

    mutating func offer() -> OfferRef?? {
        guard let p = present() else { return nil }
        guard p else { return .some(nil) }
        guard let provider = string().flatMap(ProviderID.init), let mode = string().flatMap(Mode.init(rawValue:)),
              let resolution = string().flatMap(Resolution.init(rawValue:)) else { return nil }
        return .some(OfferRef(provider: provider, mode: mode, resolution: resolution))
    }
}
