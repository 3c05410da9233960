/// The offer a job's `decided` line chose: what a version 3 `submit-intent` may leave out.
struct ChosenOffer: Equatable, Sendable {
    let provider: ProviderID
    let mode: Mode
    let resolution: Resolution
}

/// Reads one ledger file's lines in order, filling in what a version 3 line takes from an earlier
/// line of its job: a `submit-intent` without its offer (`p`, `m`, `res`) is to the offer that the
/// job's latest `decided` line before it chose, when no other `submit-intent` of the job came in
/// between. Every reader of a month file that decodes lines keeps one per file, fed every line of
/// each job it reads, in file order (a job's lines may be interleaved with other jobs').
///
/// It remembers the choice of each job decided and not yet submitted, so its memory follows the
/// jobs in flight, not the month.
public struct LedgerLineReader: Sendable {
    var chosen: [String: ChosenOffer] = [:]

    /// A reader at the start of a file.
    public init() {}

    /// Decodes the next line (without its newline) of the file.
    public mutating func decode(_ line: UnsafeRawBufferPointer) throws(LedgerLineError) -> LedgerRecord {
        let (record, inheritsOffer) = try LedgerCodec.decodeLine(line)
        return try resolve(record, inheritsOffer: inheritsOffer)
    }

    /// Completes a record ``LedgerCodec/decodeLine(_:)`` read, and takes it in.
    mutating func resolve(_ decoded: LedgerRecord, inheritsOffer: Bool) throws(LedgerLineError) -> LedgerRecord {
        var record = decoded
        if inheritsOffer {
            guard case .submitIntent(_, _, let attempt) = record.event.body, let offer = chosen[record.event.jobID] else {
                throw .malformed("a submit-intent without its offer takes it from its job's decided line before it in the same file, and there is none")
            }
            record.event.provider = offer.provider
            record.event.body = .submitIntent(mode: offer.mode, resolution: offer.resolution, attempt: attempt)
        }
        observe(record)
        return record
    }

    /// Decodes the next line given as bytes.
    public mutating func decode(_ line: [UInt8]) throws(LedgerLineError) -> LedgerRecord {
        let result: Result<LedgerRecord, LedgerLineError> = line.withUnsafeBytes { b in
            do throws(LedgerLineError) { return .success(try decode(b)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Takes in a record of the file that did not come through ``decode(_:)`` (one its writer
    /// folded as written). Observing a record twice changes nothing.
    public mutating func observe(_ record: LedgerRecord) {
        LedgerLineWriter.remember(record.event, in: &chosen)
    }
}

/// Writes one ledger file's lines, leaving out of a `submit-intent` the offer that its job's
/// `decided` line, written just before by this writer, chose (``LedgerLineReader`` fills it in).
///
/// It leaves it out only when every line between the two is its own: a store calls ``forget()``
/// when another process appended to the file since its last write, so a reader can never take an
/// offer from another writer's `decided` line of the same job.
public struct LedgerLineWriter: Sendable {
    var chosen: [String: ChosenOffer] = [:]

    /// A writer at the end of a file it has not written to yet.
    public init() {}

    /// Another writer's lines may follow this writer's last ones: leave nothing out until the next
    /// `decided` line.
    public mutating func forget() { chosen.removeAll() }

    /// Appends the record's line, newline included, in the current schema version.
    public mutating func encode(_ record: LedgerRecord, into out: inout [UInt8]) {
        let e = record.event
        var inherit = false
        if case .submitIntent(let mode, let resolution, _) = e.body, let offer = chosen[e.jobID], let p = e.provider {
            inherit = offer == ChosenOffer(provider: p, mode: mode, resolution: resolution)
        }
        LedgerCodec.encode(record, version: ledgerSchemaVersion, inheritingOffer: inherit, into: &out)
        Self.remember(e, in: &chosen)
    }

    /// The one rule both sides keep: a `decided` line with a choice starts what a job's next
    /// `submit-intent` may inherit, one without (a refusal) ends it, and any `submit-intent` uses it up.
    static func remember(_ e: LedgerEvent, in chosen: inout [String: ChosenOffer]) {
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
    }
}
