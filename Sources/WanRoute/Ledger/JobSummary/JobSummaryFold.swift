import Foundation

/// Builds a ``JobSummary`` from a ledger file's records in order, with the report fold's own
/// steps (``LedgerReportFold``): a job becomes a row when its final event is folded; until then
/// it is held with the offsets of its events, which is what the summary saves as pending.
struct JobSummaryFold {
    var summary: JobSummary
    var partial: [String: LedgerReportFold.Partial] = [:]
    var offsets: [String: [Int64]] = [:]
    /// USD nanos each job in flight holds reserved, as ``JobState`` counts it.
    var reserved: [String: Int64] = [:]
    /// A job did not fit a row (a count out of range): this summary must not be used.
    var unusable = false
    /// Reads the file's lines as they are folded (what a version 3 line takes from an earlier one).
    var reader = LedgerLineReader()

    init(month: LedgerMonth) { summary = JobSummary(month: month) }

    /// Folds the record whose line starts at `offset`.
    mutating func apply(_ record: LedgerRecord, at offset: Int64) {
        reader.observe(record)
        let e = record.event
        if case .decided(let d) = e.body {
            if let i = partial.index(forKey: e.jobID) {
                LedgerReportFold.decidedAgain(d, e, &partial.values[i])
                offsets[e.jobID, default: []].append(offset)
                // JobState: a later refusal holds nothing more; another decision adds its reservation.
                if d.mode != nil, let b = d.reservation { reserved[e.jobID, default: 0] &+= b.amount.nanos }
                if partial.values[i].ended { end(e.jobID, at: offset) }
                return
            }
            let p = LedgerReportFold.start(d, e)
            let held = d.reservation?.amount.nanos ?? 0
            if p.ended {
                if !summary.add(LedgerReportFold.finished(p), endedAt: offset, events: [offset], reservationOpen: held != 0) { unusable = true }
            } else {
                partial[e.jobID] = p
                offsets[e.jobID] = [offset]
                reserved[e.jobID] = held
            }
            return
        }
        guard let i = partial.index(forKey: e.jobID) else {
            summary.foreign.append(offset)
            return
        }
        LedgerReportFold.fold(e, into: &partial.values[i], catalog: nil)
        offsets[e.jobID, default: []].append(offset)
        if let b = e.body.reservation {
            reserved[e.jobID, default: 0] &+= b.amount.nanos
        } else if e.body.settlement != nil {
            reserved[e.jobID] = 0
        }
        if partial.values[i].ended { end(e.jobID, at: offset) }
    }

    private mutating func end(_ id: String, at offset: Int64) {
        guard let p = partial.removeValue(forKey: id) else { return }
        let events = offsets.removeValue(forKey: id) ?? []
        let held = reserved.removeValue(forKey: id) ?? 0
        if !summary.add(LedgerReportFold.finished(p), endedAt: offset, events: events, reservationOpen: held != 0) { unusable = true }
    }

    /// Moves the coverage to the end of a line just folded.
    mutating func covered(to end: Int64, lines: Int, sequence: Int64, crc: UInt32) {
        summary.coverage = BudgetCache.Coverage(offset: end, lines: lines, lastSequence: sequence, lastCRC: crc)
    }

    /// The summary with its pending jobs (in decided order), as saved and as reports read it.
    var snapshot: JobSummary {
        var s = summary
        s.pending = offsets.values.sorted { $0[0] < $1[0] }
        return s
    }
}
