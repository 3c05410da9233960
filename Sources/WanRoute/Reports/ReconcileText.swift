import Foundation

extension Reconciliation {
    /// One line of figures: `38 jobs checked: 30 billed as estimated, 5 explained, 2 of unknown outcome, 1 unexplained above USD 0.00`.
    public var summary: String {
        let unknown = self.unknown.count
        let above = unexplained.count
        let explained = jobs.count - unknown - above
        return "\(checked) job\(checked == 1 ? "" : "s") checked: \(exact) billed as estimated, \(explained) explained, \(unknown) of unknown outcome, \(above) unexplained above \(tolerance)"
    }

    /// Aligned text: the summary, the jobs that differ, price changes, then what stays unexplained.
    public var tableText: String {
        var out = "Reconciliation \(period.label) (\(period.timeZone.identifier)): \(summary)\n"
        if !jobs.isEmpty {
            var rows = [["DATE", "JOB", "OFFER", "STATUS", "ESTIMATE", "ACTUAL", "VARIANCE", "CAUSES", "UNEXPLAINED"]]
            for j in jobs {
                rows.append([j.date, j.id, j.offer?.description ?? "-", j.status.rawValue, ReportText.money(j.estimate),
                             j.actual?.description ?? "unknown", j.variance.map(ReportText.signed) ?? "-",
                             j.components.map(\.cause.rawValue).joined(separator: ", "),
                             j.unexplained.map { $0.nanos == 0 ? "0" : ReportText.signed($0) + (j.aboveTolerance ? " !" : "") } ?? "-"])
            }
            out += "\n" + ReportText.columns(rows)
        }
        if !priceChanges.isEmpty {
            out += "\nPrice changes:\n" + priceChanges.map { "  \($0)\n" }.joined()
        }
        let u = unknown
        if !u.isEmpty {
            out += "\nUnknown outcome (a task may have billed; never counted as zero):\n"
            out += u.map { "  \($0.id): \($0.components.first?.detail ?? "")\n" }.joined()
        }
        let bad = unexplained
        if !bad.isEmpty {
            out += "\nUnexplained above \(tolerance):\n"
            for j in bad {
                let explained = j.components.map { "\($0.cause.rawValue) \($0.amount.map(ReportText.signed) ?? "?")" }.joined(separator: ", ")
                out += "  \(j.id): variance \(j.variance.map(ReportText.signed) ?? "-"), explained \(explained.isEmpty ? "nothing" : explained), unexplained \(j.unexplained.map(ReportText.signed) ?? "-")\n"
            }
        }
        let details = jobs.filter { !$0.components.isEmpty && $0.actual != nil }
        if !details.isEmpty {
            out += "\nWhy:\n"
            for j in details { for c in j.components { out += "  \(j.id): \(c.cause.rawValue): \(c.detail)\n" } }
        }
        return out
    }

    /// The stable JSON form (README, "reconcile JSON").
    public var json: JSONValue {
        .object([
            JSONMember("month", .string(period.label)),
            JSONMember("time_zone", .string(period.timeZone.identifier)),
            JSONMember("tolerance", ReportJSON.money(tolerance)),
            JSONMember("checked", ReportJSON.number(checked)),
            JSONMember("exact", ReportJSON.number(exact)),
            JSONMember("unexplained", ReportJSON.number(unexplained.count)),
            JSONMember("unknown_outcome", ReportJSON.number(unknown.count)),
            JSONMember("jobs", .array(jobs.map { j in
                .object([
                    JSONMember("id", .string(j.id)),
                    JSONMember("date", .string(j.date)),
                    JSONMember("status", .string(j.status.rawValue)),
                    JSONMember("provider", JSONValue.optional(j.offer?.provider.rawValue)),
                    JSONMember("mode", JSONValue.optional(j.offer?.mode.rawValue)),
                    JSONMember("resolution", JSONValue.optional(j.offer?.resolution.rawValue)),
                    JSONMember("estimate", ReportJSON.money(j.estimate)),
                    JSONMember("actual", ReportJSON.money(j.actual)),
                    JSONMember("variance", ReportJSON.money(j.variance)),
                    JSONMember("causes", .array(j.components.map { c in
                        .object([JSONMember("cause", .string(c.cause.rawValue)), JSONMember("amount", ReportJSON.money(c.amount)), JSONMember("detail", .string(c.detail))])
                    })),
                    JSONMember("unexplained", ReportJSON.money(j.unexplained)),
                    JSONMember("above_tolerance", .bool(j.aboveTolerance)),
                ])
            })),
            JSONMember("price_changes", .array(priceChanges.map { p in
                .object([JSONMember("file", .string(p.file)), JSONMember("offer", .string(p.offer)),
                         JSONMember("table_price_per_second", ReportJSON.money(p.tablePrice)),
                         JSONMember("implied_price_per_second", ReportJSON.money(p.impliedPrice)),
                         JSONMember("jobs", ReportJSON.number(p.jobs)), JSONMember("since", .string(p.since)),
                         JSONMember("summary", .string(p.description))])
            })),
        ])
    }
}

extension WhatIfReport {
    /// `+USD 12.00 (+4.2%)`.
    static func change(_ t: WhatIfTotals) -> String {
        let d = ReportText.signed(t.difference)
        guard t.past.nanos != 0 else { return d }
        // Tenths of a percent, rounded down, for people only.
        let tenths = MonthlyReportBuilder.mulDiv(abs(t.difference.nanos), 1000, t.past.nanos)
        let sign = t.difference.nanos < 0 ? "-" : "+"
        return "\(d) (\(sign)\(tenths / 10).\(tenths % 10)%)"
    }

    static func cell(_ m: Money, converted: Bool, jobs: Int, unpriced: Int) -> String {
        if jobs == 0 { return "-" }
        if unpriced > 0, jobs == unpriced { return "\(unpriced) unpriced" }
        return ReportText.usd(m, converted: converted) + (unpriced > 0 ? " + \(unpriced) unpriced" : "")
    }

    static func sliceRow(_ name: String, _ t: WhatIfTotals) -> [String] {
        [name, cell(t.past, converted: t.pastConverted, jobs: t.pastJobs, unpriced: t.pastUnpriced),
         cell(t.new, converted: t.newConverted, jobs: t.newJobs, unpriced: t.newUnpriced), change(t)]
    }

    var headline: String {
        "What if \(period.label) (\(period.timeZone.identifier)) ran under policy \(newPolicy): \(jobs) job\(jobs == 1 ? "" : "s") replayed (month's policy: \(pastPolicies.isEmpty ? "-" : pastPolicies.joined(separator: ", ")))"
    }

    var sliceRows: [[String]] {
        [WhatIfReport.sliceRow("total", total)] + byProvider.map { WhatIfReport.sliceRow("provider \($0.provider)", $0.totals) }
            + byTag.map { WhatIfReport.sliceRow("tag \($0.tag)", $0.totals) }
    }

    static func changeRow(_ c: RouteChange) -> [String] {
        [c.id, c.past?.description ?? "refused", ReportText.money(c.pastCost), c.new?.description ?? "refused",
         c.new == nil ? "-" : (c.newCost?.description ?? "price unknown"), c.refusal ?? ""]
    }

    var gateLine: String? {
        guard let threshold else { return nil }
        return gateFailure.map { "FAIL: \($0)" } ?? "pass: the change is within \(threshold)"
    }

    /// Aligned text.
    public var tableText: String {
        var out = headline + "\n\n" + ReportText.columns([["", "PAST (USD)", "NEW (USD)", "CHANGE"]] + sliceRows)
        for (title, list) in [("Route changed", changed), ("Refused under the replay", refused), ("Cannot be priced under the replay", unpriceable)] where !list.isEmpty {
            out += "\n\(title) (\(list.count)):\n" + ReportText.columns([["JOB", "PAST", "PAST COST", "NEW", "NEW COST", "REFUSAL"]] + list.map(WhatIfReport.changeRow))
        }
        if let g = gateLine { out += "\n" + g + "\n" }
        if !notes.isEmpty { out += notes.map { $0 + "\n" }.joined() }
        return out
    }

    var notes: [String] {
        var out: [String] = []
        if total.pastConverted { out.append("~ past: estimates in other currencies, in USD as recorded when each job was decided") }
        if total.newConverted { out.append("~ new: converted to USD at the price tables' exchange rates") }
        if total.pastConvertedToday > 0 {
            let n = total.pastConvertedToday
            out.append("\(n) past estimate\(n == 1 ? "" : "s") had no recorded USD figure (an older ledger) and \(n == 1 ? "was" : "were") converted at the price tables' current rates")
        }
        if total.pastUnpriced + total.newUnpriced > 0 { out.append("unpriced jobs are counted, never added as zero") }
        return out
    }

    /// Jobs listed per list in ``markdownText``: a pull-request comment holds at most 65,536
    /// characters, and a month can move a million jobs.
    static let markdownListLimit = 50

    /// Markdown fit for a pull-request comment: the verdict first, then totals, then the lists
    /// (folded in `<details>`, the first ``markdownListLimit`` jobs of each).
    public var markdownText: String {
        var out = "### wanroute whatif: \(period.label) under `\(newPolicy)`\n\n"
        if let g = gateLine { out += (gateFailure == nil ? "✅ " : "❌ ") + g + "\n\n" }
        out += "\(jobs) job\(jobs == 1 ? "" : "s") replayed; \(changed.count) route\(changed.count == 1 ? "" : "s") changed, \(refused.count) refused, \(unpriceable.count) unpriceable.\n\n"
        out += ReportText.markdownTable(["", "past (USD)", "new (USD)", "change"], sliceRows, rightAligned: [1, 2, 3])
        for (title, list) in [("Route changed", changed), ("Refused under the replay", refused), ("Cannot be priced under the replay", unpriceable)] where !list.isEmpty {
            out += "\n<details><summary>\(title) (\(list.count))</summary>\n\n"
            out += ReportText.markdownTable(["job", "past", "past cost", "new", "new cost", "refusal"],
                                            list.prefix(Self.markdownListLimit).map(WhatIfReport.changeRow))
            if list.count > Self.markdownListLimit {
                out += "\n… and \(list.count - Self.markdownListLimit) more (`--format json` lists every job)\n"
            }
            out += "\n</details>\n"
        }
        if !notes.isEmpty { out += "\n" + notes.map { "_\($0)_" }.joined(separator: "\n") + "\n" }
        return out
    }

    static func totalsJSON(_ t: WhatIfTotals) -> JSONValue {
        .object([
            JSONMember("past_usd", ReportJSON.usd(t.past, converted: t.pastConverted)), JSONMember("new_usd", ReportJSON.usd(t.new, converted: t.newConverted)),
            JSONMember("difference_usd", ReportJSON.money(t.difference)),
            JSONMember("past_jobs", ReportJSON.number(t.pastJobs)), JSONMember("new_jobs", ReportJSON.number(t.newJobs)),
            JSONMember("past_unpriced_jobs", ReportJSON.number(t.pastUnpriced)), JSONMember("new_unpriced_jobs", ReportJSON.number(t.newUnpriced)),
        ])
    }

    static func changeJSON(_ c: RouteChange) -> JSONValue {
        func offer(_ o: OfferRef?) -> JSONValue {
            o.map { .object([JSONMember("provider", .string($0.provider.rawValue)), JSONMember("mode", .string($0.mode.rawValue)), JSONMember("resolution", .string($0.resolution.rawValue))]) } ?? .null
        }
        return .object([JSONMember("id", .string(c.id)), JSONMember("past", offer(c.past)), JSONMember("past_cost", ReportJSON.money(c.pastCost)),
                        JSONMember("new", offer(c.new)), JSONMember("new_cost", ReportJSON.money(c.newCost)), JSONMember("refusal", JSONValue.optional(c.refusal))])
    }

    /// The stable JSON form (README, "whatif JSON").
    public var json: JSONValue {
        .object([
            JSONMember("month", .string(period.label)),
            JSONMember("time_zone", .string(period.timeZone.identifier)),
            JSONMember("policy", .string(newPolicy)),
            JSONMember("past_policies", .array(pastPolicies.map(JSONValue.string))),
            JSONMember("jobs", ReportJSON.number(jobs)),
            JSONMember("total", WhatIfReport.totalsJSON(total)),
            JSONMember("past_converted_today_jobs", ReportJSON.number(total.pastConvertedToday)),
            JSONMember("by_provider", .object(byProvider.map { JSONMember($0.provider, WhatIfReport.totalsJSON($0.totals)) })),
            JSONMember("by_tag", .object(byTag.map { JSONMember($0.tag, WhatIfReport.totalsJSON($0.totals)) })),
            JSONMember("changed", .array(changed.map(WhatIfReport.changeJSON))),
            JSONMember("refused", .array(refused.map(WhatIfReport.changeJSON))),
            JSONMember("unpriceable", .array(unpriceable.map(WhatIfReport.changeJSON))),
            JSONMember("fail_above", JSONValue.optional(threshold?.description)),
            JSONMember("gate_failure", JSONValue.optional(gateFailure)),
        ])
    }
}
