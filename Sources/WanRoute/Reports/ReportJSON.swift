import Foundation

/// The JSON shapes report, reconcile and what-if output add to Money's own.
enum ReportJSON {
    /// Money's one JSON form (``Money/json``), or null when unknown.
    static func money(_ m: Money?) -> JSONValue { m?.json ?? .null }

    /// `{"amount", "currency": "USD", "converted": bool}`.
    static func usd(_ m: Money, converted: Bool) -> JSONValue {
        .object([JSONMember("amount", .string(m.decimalString)), JSONMember("currency", .string("USD")), JSONMember("converted", .bool(converted))])
    }

    static func number(_ n: Int) -> JSONValue { .number(String(n)) }
}

extension MonthlyReport {
    /// The stable JSON form (README, "report JSON").
    public var json: JSONValue {
        .object([
            JSONMember("month", .string(period.label)),
            JSONMember("time_zone", .string(period.timeZone.identifier)),
            JSONMember("start", .string(UTCTimestamp.string(period.start))),
            JSONMember("end", .string(UTCTimestamp.string(period.end))),
            JSONMember("as_of", .string(UTCTimestamp.string(asOf))),
            JSONMember("group_by", .array(dimensions.map { .string($0.description) })),
            JSONMember("groups", .array(groups.map { g in
                .object([JSONMember("key", .object(zip(dimensions, g.key).map { JSONMember($0.description, .string($1)) }))] + Self.totalsMembers(g.totals))
            })),
            JSONMember("total", .object(Self.totalsMembers(total))),
            JSONMember("providers", .array(providers.map(JSONValue.string))),
            JSONMember("daily", .array(daily.map { d in
                .object([
                    JSONMember("date", .string(d.date)),
                    JSONMember("jobs", ReportJSON.number(d.jobs)),
                    JSONMember("estimated_usd", ReportJSON.money(d.estimatedUSD)),
                    JSONMember("actual_usd", ReportJSON.money(d.actualUSD)),
                    JSONMember("unknown_cost_jobs", ReportJSON.number(d.unknownCostJobs)),
                    JSONMember("actual_usd_by_provider", .object(zip(providers, d.actualUSDByProvider).map { JSONMember($0, .string($1.decimalString)) })),
                ])
            })),
            JSONMember("budgets", .array(budgets.map { b in
                .object([
                    JSONMember("id", .string(b.id)),
                    JSONMember("key", .string(b.key.description)),
                    JSONMember("limit", ReportJSON.money(b.limit)),
                    JSONMember("settled", ReportJSON.money(b.settled)),
                    JSONMember("reserved", ReportJSON.money(b.reserved)),
                    JSONMember("remaining", ReportJSON.money(b.remaining)),
                    JSONMember("projected_month_end", ReportJSON.money(b.projectedMonthEnd)),
                    JSONMember("runs_out_on", JSONValue.optional(b.runsOutOn)),
                ])
            })),
            JSONMember("exchange_rates", .array(conversions.map { r in
                .object([JSONMember("currency", .string(r.currency.code)),
                         JSONMember("usd_per_unit", .string(FixedDecimal.format(r.usdPerUnitMicros, scale: 6))),
                         JSONMember("read_on", .string(r.readOn))])
            })),
        ])
    }

    static func totalsMembers(_ t: ReportTotals) -> [JSONMember] {
        [
            JSONMember("jobs", ReportJSON.number(t.jobs)),
            JSONMember("succeeded", ReportJSON.number(t.succeeded)),
            JSONMember("failed", ReportJSON.number(t.failed)),
            JSONMember("needs_attention", ReportJSON.number(t.needsAttention)),
            JSONMember("unfinished", ReportJSON.number(t.unfinished)),
            JSONMember("refused", ReportJSON.number(t.refused)),
            JSONMember("billed_seconds", .string(t.billedSeconds.decimalString)),
            JSONMember("estimated", .array(t.estimated.amounts.map { ReportJSON.money($0) })),
            JSONMember("estimated_usd", ReportJSON.usd(t.estimatedUSD, converted: t.estimatedUSDConverted)),
            JSONMember("estimated_unknown_jobs", ReportJSON.number(t.estimatedUnknownJobs)),
            JSONMember("actual", .array(t.actual.amounts.map { ReportJSON.money($0) })),
            JSONMember("actual_usd", ReportJSON.usd(t.actualUSD, converted: t.actualUSDConverted)),
            JSONMember("actual_unknown_jobs", ReportJSON.number(t.actualUnknownJobs)),
            JSONMember("variance_usd", ReportJSON.money(t.varianceUSD)),
            JSONMember("variance_jobs", ReportJSON.number(t.varianceJobs)),
            JSONMember("retries", ReportJSON.number(t.retries)),
            JSONMember("failovers", ReportJSON.number(t.failovers)),
            JSONMember("time_to_result", t.timeToResult.map { r in
                .object([JSONMember("p50_seconds", .string(r.p50.decimalString)), JSONMember("p90_seconds", .string(r.p90.decimalString))])
            } ?? .null),
        ]
    }
}
