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
