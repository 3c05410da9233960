import Foundation

/// What the report fold has worked out about one summary's ids: the group value id of each
/// dimension per string, code or tag set, the provider's index, and which budgets a tag set and a
/// provider count under. Filled as ids first occur, so each distinct value is looked at once and
/// every row after is integer work.
struct JobSummaryRowMap {
    static let unset = UInt32.max
    /// Where a dimension's value comes from in a row.
    enum Source: UInt8 { case provider, policy, tagSet, behavior, mode, resolution, status }

    let summary: JobSummary
    let catalog: PriceCatalog
    /// Per dimension, its source in the row (no enum payloads to copy per row).
    let sources: [Source]
    /// Group value ids, `width` per dimension, indexed by the source's id.
    var dimensionIDs: [UInt32]
    let width: Int
    var providerIndexes: [Int]
    var billing: [BillingRule??]
    /// Per tag set, per budget: nil when the job's tags do not count under it; otherwise the tag
    /// budget's key (`.total` for a budget with one fixed key).
    var tagBudgets: [[BudgetKey?]?]
    /// Per tag set, per budget: the builder's slot for the key of a tag budget without a value, once
    /// a job has counted under it (-1 before).
    var tagBudgetSlots: [[Int]]
    var providerBudgets: [[Bool]?]
    /// Per budget: whether it is a tag budget without a value (its key depends on the job).
    let perValue: [Bool]

    init(_ summary: JobSummary, catalog: PriceCatalog, dimensions: [ReportDimension], budgets: [Budget]) {
        self.summary = summary
        self.catalog = catalog
        sources = dimensions.map { d in
            switch d {
            case .provider: return .provider
            case .policy: return .policy
            case .tag: return .tagSet
            case .behavior: return .behavior
            case .mode: return .mode
            case .resolution: return .resolution
            case .status: return .status
            }
        }
        width = max(summary.strings.count, summary.tagSets.count, 256) + 1
        dimensionIDs = Array(repeating: Self.unset, count: width * dimensions.count)
        providerIndexes = Array(repeating: -1, count: summary.strings.count + 1)
        billing = Array(repeating: nil, count: summary.strings.count + 1)
        tagBudgets = Array(repeating: nil, count: summary.tagSets.count)
        tagBudgetSlots = Array(repeating: Array(repeating: -1, count: budgets.count), count: summary.tagSets.count)
        providerBudgets = Array(repeating: nil, count: summary.strings.count + 1)
        perValue = budgets.map { b in
            if case .tag(_, nil) = b.scope { return true }
            return false
        }
    }

    /// A string id as an index: ``JobSummary/noString`` maps to the last slot.
    func slot(_ id: UInt32) -> Int { id == JobSummary.noString ? summary.strings.count : Int(id) }

    func tags(_ set: UInt32) -> [String: String] {
        var tags: [String: String] = [:]
        let flat = summary.tagSets[Int(set)]
        var k = 0
        while k + 1 < flat.count {
            tags[summary.strings[Int(flat[k])]] = summary.strings[Int(flat[k + 1])]
            k += 2
        }
        return tags
    }
}

extension MonthlyReportBuilder {
    /// Adds one summary row: the same figures ``add(_:)`` takes from the row's ``ReportJob``,
    /// grouped on integer ids. Rows decided outside the month are skipped.
    mutating func add(row r: JobSummary.Row, _ map: inout JobSummaryRowMap) {
        typealias F = JobSummary.Field
        let ms = r.decidedAt
        let seconds = ms >= 0 ? ms / 1000 : (ms - 999) / 1000
        guard let day = period.dayIndex(epochSeconds: seconds) else { return }
        let flags = r.flags
        let status = JobSummary.statuses[Int(r.status) - 1]
        let hasOffer = flags & JobSummary.Flag.offer != 0
        let providerSlot = map.slot(r.provider)

        var key = GroupKey()
        for i in 0..<map.sources.count {
            let source: Int
            switch map.sources[i] {
            case .provider: source = providerSlot
            case .policy: source = Int(r.policy)
            case .tagSet: source = Int(r.tagSet)
            case .behavior: source = Int(r.u8(F.behavior))
            case .mode: source = hasOffer ? Int(r.u8(F.mode)) : 0
            case .resolution: source = hasOffer ? Int(r.u8(F.resolution)) : 0
            case .status: source = Int(r.status)
            }
            var id = map.dimensionIDs[i * map.width + source]
            if id == JobSummaryRowMap.unset {
                let value: String
                switch dimensions[i] {
                case .provider: value = hasOffer ? map.summary.strings[providerSlot] : "-"
                case .policy: value = map.summary.strings[source]
                case .tag(let k): value = map.tags(r.tagSet)[k] ?? ReportDimension.noTag
                case .behavior: value = JobSummary.value(UInt8(source), Behavior.self)!.rawValue
                case .mode: value = JobSummary.value(UInt8(source), Mode.self)?.rawValue ?? "-"
                case .resolution: value = JobSummary.value(UInt8(source), Resolution.self)?.rawValue ?? "-"
                case .status: value = status.rawValue
                }
                id = intern(value, dimension: i)
                map.dimensionIDs[i * map.width + source] = id
            }
            key[i] = id
        }
        var p = map.providerIndexes[providerSlot]
        if p < 0 {
            p = providerIndex(hasOffer ? map.summary.strings[providerSlot] : "-")
            map.providerIndexes[providerSlot] = p
        }

        var billed: Int64?
        if status == .succeeded {
            if flags & JobSummary.Flag.reportedKnown != 0 {
                billed = r.i64(F.reported)
            } else if hasOffer {
                if map.billing[providerSlot] == nil {
                    map.billing[providerSlot] = .some(ProviderID(map.summary.strings[providerSlot]).flatMap { map.catalog.provider($0)?.billing })
                }
                if let rule = map.billing[providerSlot]!, let units = rule.billableUnits(for: Seconds(micros: r.i64(F.duration))) {
                    billed = rule.seconds(forUnits: units).micros
                }
            }
        }
        var ttr: Int32?
        if status == .succeeded, r.submittedAt != JobSummary.noTime, r.finishedAt != JobSummary.noTime, r.finishedAt >= r.submittedAt {
            let d = r.finishedAt - r.submittedAt
            ttr = d >= Int64(Int32.max) ? Int32.max : Int32(d)
        }
        let figures = JobFigures(
            status: status, billedMicros: billed,
            estimatedCost: flags & JobSummary.Flag.estimateKnown != 0 ? Money(nanos: r.i64(F.estimate), currency: Currency.known[Int(r.u8(F.estimateCurrency))]) : nil,
            actualCost: flags & JobSummary.Flag.actualKnown != 0 ? Money(nanos: r.i64(F.actual), currency: Currency.known[Int(r.u8(F.actualCurrency))]) : nil,
            retries: r.retries, failovers: r.attemptCount, timeToResultMillis: ttr)
        guard let a = add(figures, day: day, key: key, provider: p), !budgets.isEmpty else { return }

        let set = Int(r.tagSet)
        if map.tagBudgets[set] == nil {
            let tags = map.tags(r.tagSet)
            map.tagBudgets[set] = budgets.map { b -> BudgetKey? in
                switch b.scope {
                case .total, .provider: return .total
                case .tag(let t, let v):
                    guard let value = tags[t] else { return nil }
                    if let v { return v == value ? .total : nil }
                    return .tag(t, value)
                }
            }
        }
        if map.providerBudgets[providerSlot] == nil {
            let provider = hasOffer ? ProviderID(map.summary.strings[providerSlot]) : nil
            map.providerBudgets[providerSlot] = budgets.map { b in
                if case .provider(let id) = b.scope { return id == provider }
                return true
            }
        }
        let byTag = map.tagBudgets[set]!, byProvider = map.providerBudgets[providerSlot]!
        for k in budgets.indices where byProvider[k] {
            guard let target = byTag[k] else { continue }
            if map.perValue[k] {
                var slot = map.tagBudgetSlots[set][k]
                if slot < 0 {
                    slot = budgetSlot(target, budget: k)
                    map.tagBudgetSlots[set][k] = slot
                }
                if !checkedAdd(&budgetDailies[slot][day], a) { overflow = true }
            } else if !checkedAdd(&fixedDaily[k]![day], a) {
                overflow = true
            }
        }
    }
}
