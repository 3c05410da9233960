import Foundation

/// A job summary whose rows a what-if replay reads, with what the replay has worked out about its
/// ids: each is looked at once, and every row after is integer work.
struct RowSource {
    let summary: JobSummary
    /// Per tag set of the summary: the replay's tag set number, its rule values' number (and the
    /// number of the values rules and budgets read), whether a budget covers it, and the tags (for
    /// the jobs decided again).
    var tagSets: [TagSetInfo?]
    /// The replay's offer number per (provider string, mode code, resolution code); -1 when not an offer.
    var offers: [Int: Int32] = [:]
    var policySeen: [Bool]

    struct TagSetInfo {
        var number: Int32
        var rules: Int32
        var spendValues: Int32
        var covered: Bool
        var tags: [String: String]
    }

    init(_ summary: JobSummary) {
        self.summary = summary
        tagSets = Array(repeating: nil, count: summary.tagSets.count)
        policySeen = Array(repeating: false, count: summary.strings.count)
    }
}

extension WhatIfReplay {
    static let behaviors = Behavior.allCases
    static let modes = Mode.allCases
    static let resolutions = Resolution.allCases
    static let refusedCode = JobSummary.code(ReportJob.Status.refused)

    static func decode<T>(_ code: UInt8, _ all: [T]) -> T? { code > 0 && Int(code) <= all.count ? all[Int(code) - 1] : nil }

    /// The month's estimate of a row, in its currency, as ``WhatIfJob/init(_:)`` takes it (nil when refused).
    static func pastEstimate(_ r: JobSummary.Row) -> Money? {
        guard r.status != Self.refusedCode, r.flags & JobSummary.Flag.estimateKnown != 0 else { return nil }
        return Money(nanos: r.i64(JobSummary.Field.estimate), currency: Currency.known[Int(r.u8(JobSummary.Field.estimateCurrency))])
    }

    /// Replays one job summary row: the same as ``add(_:)-(WhatIfJob)`` with the row's
    /// ``WhatIfJob``, on integer ids. The ledger hands on only rows decided in the month.
    mutating func add(row r: JobSummary.Row, of summary: JobSummary) {
        if sourceMonth != summary.month {
            sources.append(RowSource(summary))
            sourceMonth = summary.month
        }
        let source = sources.count - 1
        let index = summary.rows.withUnsafeBytes { (r.base - $0.baseAddress!) / JobSummary.rowSize }
        let info = tagSetInfo(source, r.tagSet)
        let policy = Int(r.policy)
        if !sources[source].policySeen[policy] {
            sources[source].policySeen[policy] = true
            policies.insert(summary.strings[policy])
        }
        if info.covered {
            waiting.append(Held(decidedAt: LedgerTime(milliseconds: r.decidedAt).date, added: waiting.count, source: Int32(source), index: Int32(index)))
            return
        }
        typealias F = JobSummary.Field
        let behavior = Self.decode(r.u8(F.behavior), Self.behaviors) ?? .animate
        let shape = Shape(behavior: behavior, duration: r.i64(F.duration), resolution: Self.decode(r.u8(F.requiredResolution), Self.resolutions),
                          mode: Self.decode(r.u8(F.requiredMode), Self.modes), rules: info.rules)
        let (new, remembered) = memoised(shape, Job(behavior: shape.behavior, duration: Seconds(micros: shape.duration), resolution: shape.resolution,
                                                     mode: shape.mode, tags: info.tags))
        replayRow(r, source: source, index: index, tagSet: info.number, new, remembered)
    }

    mutating func tagSetInfo(_ source: Int, _ set: UInt32) -> RowSource.TagSetInfo {
        if let known = sources[source].tagSets[Int(set)] { return known }
        let s = sources[source].summary
        var tags: [String: String] = [:]
        let flat = s.tagSets[Int(set)]
        var k = 0
        while k + 1 < flat.count {
            tags[s.strings[Int(flat[k])]] = s.strings[Int(flat[k + 1])]
            k += 2
        }
        let info = RowSource.TagSetInfo(number: tagSet(tags), rules: rules(tags), spendValues: spendTagValues(tags),
                                        covered: isCovered(Job(behavior: .animate, duration: Seconds(micros: 0), tags: tags)), tags: tags)
        sources[source].tagSets[Int(set)] = info
        return info
    }

    /// The offer number of a provider string id, mode and resolution codes; -1 when they name no offer.
    mutating func rowOffer(_ source: Int, provider: UInt32, mode: UInt8, resolution: UInt8) -> Int32 {
        let key = Int(provider) << 16 | Int(mode) << 8 | Int(resolution)
        if let known = sources[source].offers[key] { return known }
        let s = sources[source].summary
        var n: Int32 = -1
        if Int(provider) < s.strings.count, let p = ProviderID(s.strings[Int(provider)]), let m = Self.decode(mode, Self.modes),
           let res = Self.decode(resolution, Self.resolutions) {
            n = offerID(OfferRef(provider: p, mode: m, resolution: res))
        }
        sources[source].offers[key] = n
        return n
    }

    /// The month's side of a row: its first offer (the first earlier attempt's, else its own) and estimate.
    mutating func rowPast(_ r: JobSummary.Row, source: Int) -> PastSide {
        typealias F = JobSummary.Field
        guard r.status != Self.refusedCode else { return PastSide() }
        var offer: Int32 = -1
        if r.attemptCount > 0 {
            let start = Int(r.u32(F.attemptsStart))
            for a in start..<(start + r.attemptCount) {
                let (p, m, res) = sources[source].summary.attempts.withUnsafeBytes { all in
                    let e = all.baseAddress! + a * JobSummary.attemptSize
                    return (e.loadUnaligned(as: UInt32.self), e.load(fromByteOffset: 32, as: UInt8.self), e.load(fromByteOffset: 33, as: UInt8.self))
                }
                offer = rowOffer(source, provider: p, mode: m, resolution: res)
                if offer >= 0 { break }
            }
        }
        if offer < 0, r.flags & JobSummary.Flag.offer != 0 {
            offer = rowOffer(source, provider: r.provider, mode: r.u8(F.mode), resolution: r.u8(F.resolution))
        }
        guard offer >= 0 else { return PastSide() }
        let estimate = r.flags & JobSummary.Flag.estimateKnown != 0
        var past = PastSide(offer: offer)
        past.converted = estimate && r.u8(F.estimateCurrency) != JobSummary.currencyCode(.usd)
        if r.flags & JobSummary.Flag.estimateUSDKnown != 0 {
            past.usd = r.i64(F.estimateUSD)
            past.usdKnown = true
        } else if estimate, let usd = pastRates.usd(Money(nanos: r.i64(F.estimate), currency: Currency.known[Int(r.u8(F.estimateCurrency))])) {
            past.usd = usd.nanos
            past.usdKnown = true
            past.convertedToday = past.converted
        }
        return past
    }

    mutating func replayRow(_ r: JobSummary.Row, source: Int, index: Int, tagSet: Int32, _ new: Outcome, _ remembered: Int32) {
        let past = rowPast(r, source: source)
        if count(past, tagSet, new) { record(past, new, remembered, source: Int32(source), index: Int32(index)) }
    }

    /// Replays a row a budget covers, against the replay's running spend.
    mutating func replayHeldRow(_ h: Held) {
        let source = Int(h.source), index = Int(h.index)
        let s = sources[source].summary
        s.withRow(index) { r in
            typealias F = JobSummary.Field
            let info = tagSetInfo(source, r.tagSet)
            let shape = Shape(behavior: Self.decode(r.u8(F.behavior), Self.behaviors) ?? .animate, duration: r.i64(F.duration),
                              resolution: Self.decode(r.u8(F.requiredResolution), Self.resolutions), mode: Self.decode(r.u8(F.requiredMode), Self.modes),
                              rules: info.spendValues)
            let (new, remembered) = decidedAgainstSpend(shape, Job(behavior: shape.behavior, duration: Seconds(micros: shape.duration), resolution: shape.resolution,
                                                                    mode: shape.mode, tags: info.tags))
            addSpend(new, info.tags)
            replayRow(r, source: source, index: index, tagSet: info.number, new, remembered)
        }
    }
}

extension FileLedgerStore {
    /// Replays every job decided in `period`, row by row from the job summaries.
    public func addWhatIfJobs(in period: ReportPeriod, catalog: PriceCatalog, to replay: inout WhatIfReplay) async throws {
        let start = replay
        var w = replay
        let done = try withSummaries(period) {
            w = start
            try foldReportJobs(period, catalog: catalog, materialize: false, ids: true, row: { s, r in w.add(row: r, of: s) }, job: { w.add($0) })
        }
        if !done {
            w = start
            try await foldReportJobsFromRecords(in: period, catalog: catalog) { w.add($0) }
        }
        replay = w
    }
}
