/// The offer a job's `decided` line chose: what a `submit-intent` may leave out.
struct ChosenOffer: Equatable, Sendable {
    let provider: ProviderID
    let mode: Mode
    let resolution: Resolution
}

/// What a `decided` line may take from an earlier one of its file (version 4): the run that wrote
/// it, the policy and the digests in force.
struct DecisionContext: Hashable, Sendable {
    let runID: String?
    let policy: String
    let policyDigest: String?
    let pricingDigest: String?

    init(_ e: LedgerEvent, _ d: LedgerDecision) {
        runID = e.runID
        policy = d.policy
        policyDigest = d.policyDigest
        pricingDigest = d.pricingDigest
    }
}

/// Reads one ledger file's lines in order, filling in what a line takes from an earlier line of
/// the file (see ``LineGaps``):
/// - a `submit-intent` without its offer (`p`, `m`, `res`) is to the offer that the job's latest
///   `decided` line before it chose, when no other `submit-intent` of the job came in between;
/// - a version 4 `accepted` without `p` is at the provider of the `submit-intent` that is the job's
///   line just before it;
/// - a version 4 `decided` line with `"ctx":N` has the run, policy and digests of line N.
///
/// Every reader of a month file that decodes lines keeps one per file, fed every line of each job
/// it reads, in file order (a job's lines may be interleaved with other jobs'). Line N of a `ctx`
/// need not have been fed: a reader that starts mid-file or skips other jobs' lines passes a
/// lookup of a line by its sequence number.
///
/// Its memory follows the jobs in flight, not the month: the choice of each job decided and not
/// yet submitted, the provider of each job whose latest line is a `submit-intent`, and a bounded
/// number of the lines that `ctx` members name.
public struct LedgerLineReader: Sendable {
    var chosen: [String: ChosenOffer] = [:]
    var submitted: [String: ProviderID] = [:]
    /// The context of each `decided` line that names one, by sequence number (few: one per run and
    /// file as wanroute writes them). Past ``contextLimit`` (only a hand-made file gets there) one
    /// is forgotten for each new one, and a line naming a forgotten one is looked up again.
    var contexts: [Int64: DecisionContext] = [:]
    var contextLimit = 65_536

    /// A reader at the start of a file.
    public init() {}

    /// Decodes the next line (without its newline) of the file. `lineBySequence` gives the record
    /// of the file's line with a sequence number, for a `ctx` this reader was not fed the line of.
    public mutating func decode(_ line: UnsafeRawBufferPointer,
                                lineBySequence: (Int64) -> LedgerRecord? = { _ in nil }) throws(LedgerLineError) -> LedgerRecord {
        let (record, gaps) = try LedgerCodec.decodeLine(line)
        return try resolve(record, gaps: gaps, lineBySequence: lineBySequence)
    }

    /// Completes a record ``LedgerCodec/decodeLine(_:)`` read, and takes it in.
    mutating func resolve(_ decoded: LedgerRecord, gaps: LineGaps,
                          lineBySequence: (Int64) -> LedgerRecord? = { _ in nil }) throws(LedgerLineError) -> LedgerRecord {
        var record = decoded
        let job = record.event.jobID
        if gaps.offer {
            guard case .submitIntent(_, _, let attempt) = record.event.body, let offer = chosen[job] else {
                throw .malformed("a submit-intent without its offer takes it from its job's decided line before it in the same file, and there is none")
            }
            record.event.provider = offer.provider
            record.event.body = .submitIntent(mode: offer.mode, resolution: offer.resolution, attempt: attempt)
        }
        if gaps.provider {
            guard let provider = submitted[job] else {
                throw .malformed("an accepted line without its provider takes it from its job's submit-intent just before it in the same file, and there is none")
            }
            record.event.provider = provider
        }
        if let n = gaps.context, case .decided(var d) = record.event.body {
            guard let c = try context(n, lineBySequence) else {
                throw .malformed("a decided line with \"ctx\":\(n) takes its run, policy and digests from line \(n) of the same file, which is not a decided line that names them")
            }
            record.event.runID = c.runID
            d.policy = c.policy
            d.policyDigest = c.policyDigest
            d.pricingDigest = c.pricingDigest
            record.event.body = .decided(d)
        } else if gaps.namesContext, case .decided(let d) = record.event.body {
            // A later line may name this one.
            remember(DecisionContext(record.event, d), at: record.sequence)
        }
        observe(record)
        return record
    }

    private mutating func remember(_ c: DecisionContext, at sequence: Int64) {
        if contexts.count >= contextLimit { contexts.remove(at: contexts.startIndex) }
        contexts[sequence] = c
    }

    private mutating func context(_ n: Int64, _ lineBySequence: (Int64) -> LedgerRecord?) throws(LedgerLineError) -> DecisionContext? {
        if let c = contexts[n] { return c }
        guard let r = lineBySequence(n), r.sequence == n, case .decided(let d) = r.event.body, !d.policy.isEmpty else { return nil }
        let c = DecisionContext(r.event, d)
        remember(c, at: n)
        return c
    }

    /// Decodes the next line given as bytes.
    public mutating func decode(_ line: [UInt8], lineBySequence: (Int64) -> LedgerRecord? = { _ in nil }) throws(LedgerLineError) -> LedgerRecord {
        let result: Result<LedgerRecord, LedgerLineError> = line.withUnsafeBytes { b in
            do throws(LedgerLineError) { return .success(try decode(b, lineBySequence: lineBySequence)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Takes in a record of the file that did not come through ``decode(_:lineBySequence:)`` (one
    /// its writer folded as written). Observing a record twice changes nothing.
    public mutating func observe(_ record: LedgerRecord) {
        LedgerLineWriter.remember(record.event, chosen: &chosen, submitted: &submitted)
    }
}

/// Writes one ledger file's lines, leaving out what a reader of the file can take from lines this
/// writer wrote before (``LedgerLineReader`` fills it in):
/// - a `submit-intent`'s offer when it is the one its job's `decided` line chose;
/// - an `accepted` line's provider when the job's line just before is a `submit-intent` to it;
/// - a `decided` line's run, policy and digests when an earlier `decided` line of this writer in
///   the file names the same (`"ctx"` then gives that line's sequence number).
///
/// The first two it leaves out only when every line between the two is its own: a store calls
/// ``forget()`` when another process appended to the file since its last write, so a reader can
/// never take an offer or a provider from another writer's line of the same job. A `ctx` names
/// its line, so other writers' lines in between change nothing.
public struct LedgerLineWriter: Sendable {
    var chosen: [String: ChosenOffer] = [:]
    var submitted: [String: ProviderID] = [:]
    /// The line of this writer that named each context first.
    var contexts: [DecisionContext: Int64] = [:]
    /// The schema version it writes: the current one, or an older one for tests and benchmarks
    /// (version 3 leaves out only an intent's offer).
    let version: Int

    /// A writer at the end of a file it has not written to yet.
    public init() { version = ledgerSchemaVersion }

    /// A writer of schema version 3 (a `submit-intent` may leave out its offer, nothing else), as
    /// an older wanroute wrote: for tests and benchmarks. Any other `version` writes the current one.
    public init(version: Int) { self.version = version == 3 ? 3 : ledgerSchemaVersion }

    /// Another writer's lines may follow this writer's last ones: leave no offer or provider out
    /// until the job's next `decided` or `submit-intent` line.
    public mutating func forget() {
        chosen.removeAll()
        submitted.removeAll()
    }

    /// The file may no longer hold this writer's lines (it is shorter than after its last write):
    /// leave nothing out until lines are written again.
    public mutating func forgetAll() {
        forget()
        contexts.removeAll()
    }

    /// Appends the record's line, newline included.
    public mutating func encode(_ record: LedgerRecord, into out: inout [UInt8]) {
        let e = record.event
        var gaps = LineGaps()
        switch e.body {
        case .submitIntent(let mode, let resolution, _):
            if let offer = chosen[e.jobID], let p = e.provider {
                gaps.offer = offer == ChosenOffer(provider: p, mode: mode, resolution: resolution)
            }
        case .accepted:
            gaps.provider = e.provider != nil && submitted[e.jobID] == e.provider
        case .decided(let d):
            let c = DecisionContext(e, d)
            if let n = contexts[c] {
                gaps.context = n
            } else if !d.policy.isEmpty {
                contexts[c] = record.sequence
            }
        default:
            break
        }
        LedgerCodec.encode(record, version: version, gaps: gaps, into: &out)
        Self.remember(e, chosen: &chosen, submitted: &submitted)
    }

    /// The rules both sides keep. A `decided` line with a choice starts what a job's next
    /// `submit-intent` may inherit, one without (a refusal) ends it, and any `submit-intent` uses
    /// it up. A `submit-intent`'s provider is what the job's very next line may inherit, if it is
    /// an `accepted` one: any other line of the job ends it (so only jobs waiting for an answer
    /// are held).
    static func remember(_ e: LedgerEvent, chosen: inout [String: ChosenOffer], submitted: inout [String: ProviderID]) {
        switch e.body {
        case .decided(let d):
            if let p = e.provider, let m = d.mode, let r = d.resolution {
                chosen[e.jobID] = ChosenOffer(provider: p, mode: m, resolution: r)
            } else {
                chosen[e.jobID] = nil
            }
        case .submitIntent:
            chosen[e.jobID] = nil
        default:
            break
        }
        if case .submitIntent = e.body {
            submitted[e.jobID] = e.provider
        } else if !submitted.isEmpty {
            submitted[e.jobID] = nil
        }
    }
}
