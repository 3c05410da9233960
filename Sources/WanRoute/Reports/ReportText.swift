import Foundation

/// The formats a monthly report renders to.
public enum ReportFormat: String, Sendable, CaseIterable {
    /// Aligned text columns for a terminal.
    case table
    /// One stable JSON object (README, "report JSON").
    case json
    /// One row per group and a total row, RFC 4180.
    case csv
    /// Markdown tables, for a wiki or a pull request.
    case md
    /// One self-contained HTML page with inline SVG charts.
    case html
    /// A FinOps FOCUS 1.2 cost-and-usage CSV, one row per billed task.
    case focus
}

/// Small text helpers shared by every report renderer.
enum ReportText {
    /// `USD 1.20`, or `-` for nil.
    static func money(_ m: Money?) -> String { m?.description ?? "-" }

    /// `~USD 1.20` when converted.
    static func usd(_ m: Money, converted: Bool) -> String { (converted ? "~" : "") + m.description }

    /// `+USD 0.05`, `-USD 0.05`, `USD 0.00`.
    static func signed(_ m: Money) -> String {
        if m.nanos == 0 { return m.description }
        let magnitude = Money(nanos: m.nanos == .min ? .max : abs(m.nanos), currency: m.currency)
        return (m.nanos > 0 ? "+" : "-") + magnitude.description
    }

    /// Amounts per currency joined: `CNY 10.80 + USD 3.20`, or `-` when there are none.
    static func amounts(_ a: CurrencyAmounts) -> String {
        a.amounts.isEmpty ? "-" : a.amounts.map(\.description).joined(separator: " + ")
    }

    /// `12.5 s`.
    static func seconds(_ s: Seconds) -> String { "\(s.decimalString) s" }

    /// A time to result rounded to whole seconds for people: `154 s`.
    static func wholeSeconds(_ s: Seconds?) -> String {
        guard let s else { return "-" }
        return "\((s.micros + 500_000) / 1_000_000) s"
    }

    /// The sentence behind a `~`: `~ converted from CNY at 0.1406 USD per CNY (rate of 2026-11-20)`.
    static func conversionNote(_ r: ExchangeRates.Rate) -> String {
        "~ converted from \(r.currency) at \(FixedDecimal.format(r.usdPerUnitMicros, scale: 6)) USD per \(r.currency) (rate of \(r.readOn))"
    }

    /// The dimension names as column headers: `PROVIDER`, `TAG:CUSTOMER`.
    static func header(_ d: ReportDimension) -> String { d.description.uppercased() }

    /// Aligned columns separated by two spaces; trailing spaces trimmed.
    static func columns(_ rows: [[String]]) -> String {
        var widths: [Int] = []
        for row in rows {
            for (i, cell) in row.enumerated() {
                if i == widths.count { widths.append(0) }
                widths[i] = max(widths[i], cell.count)
            }
        }
        var out = ""
        for row in rows {
            var line = ""
            for (i, cell) in row.enumerated() {
                line += cell
                if i < row.count - 1 { line += String(repeating: " ", count: widths[i] - cell.count + 2) }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }

    /// A Markdown table; pipes in cells are escaped.
    static func markdownTable(_ header: [String], _ rows: [[String]], rightAligned: Set<Int> = []) -> String {
        func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
        var out = "| " + header.map(cell).joined(separator: " | ") + " |\n"
        out += "|" + header.indices.map { rightAligned.contains($0) ? "---:" : "---" }.joined(separator: "|") + "|\n"
        for r in rows { out += "| " + r.map(cell).joined(separator: " | ") + " |\n" }
        return out
    }
}

extension MonthlyReport {
    /// The report in one of the text formats (not FOCUS, which is written from the jobs: see ``FOCUSExport``).
    public func rendered(_ format: ReportFormat) -> String {
        switch format {
        case .table: return tableText
        case .json: return JSONWriter.pretty(json) + "\n"
        case .csv: return csvText
        case .md: return markdownText
        case .html: return ReportHTML(report: self).page
        case .focus: return ""
        }
    }

    /// The title line: `Spend report 2026-12 (Asia/Shanghai), grouped by provider, tag:customer`.
    var title: String {
        "Spend report \(period.label) (\(period.timeZone.identifier))"
            + (dimensions.isEmpty ? "" : ", grouped by " + dimensions.map(\.description).joined(separator: ", "))
    }

    static let figureHeaders = ["JOBS", "SUCCEEDED", "FAILED", "ATTENTION", "UNFINISHED", "REFUSED", "BILLED",
                                "ESTIMATED", "ESTIMATED USD", "ACTUAL", "ACTUAL USD", "UNKNOWN COST", "VARIANCE USD",
                                "RETRIES", "FAILOVERS", "P50", "P90"]

    /// `text`, `text + word` when some jobs are unknown, or `word` alone when all are.
    static func withUnknown(_ text: String, known: Int, unknown: Int, word: String) -> String {
        if unknown == 0 { return text }
        return known == 0 ? word : text + " + \(word)"
    }

    /// The estimated USD of a group for people: `~USD 1.20 + unpriced`, or `unpriced`.
    static func estimatedUSD(_ t: ReportTotals) -> String {
        withUnknown(ReportText.usd(t.estimatedUSD, converted: t.estimatedUSDConverted), known: t.jobs - t.refused - t.estimatedUnknownJobs,
                    unknown: t.estimatedUnknownJobs, word: "\(t.estimatedUnknownJobs) unpriced")
    }

    /// The actual USD of a group for people: `USD 9.96 + 1 unknown`, or `1 unknown`.
    static func actualUSD(_ t: ReportTotals) -> String {
        withUnknown(ReportText.usd(t.actualUSD, converted: t.actualUSDConverted), known: t.jobs - t.refused - t.actualUnknownJobs,
                    unknown: t.actualUnknownJobs, word: "\(t.actualUnknownJobs) unknown")
    }

    static func figures(_ t: ReportTotals) -> [String] {
        let priced = t.jobs - t.refused - t.estimatedUnknownJobs
        let billed = t.jobs - t.refused - t.actualUnknownJobs
        return [String(t.jobs), String(t.succeeded), String(t.failed), String(t.needsAttention), String(t.unfinished), String(t.refused),
                ReportText.seconds(t.billedSeconds),
                withUnknown(ReportText.amounts(t.estimated), known: priced, unknown: t.estimatedUnknownJobs, word: "\(t.estimatedUnknownJobs) unpriced"),
                MonthlyReport.estimatedUSD(t),
                withUnknown(ReportText.amounts(t.actual), known: billed, unknown: t.actualUnknownJobs, word: "unknown"),
                MonthlyReport.actualUSD(t),
                t.actualUnknownJobs == 0 ? "0" : "\(t.actualUnknownJobs) job\(t.actualUnknownJobs == 1 ? "" : "s")",
                t.varianceJobs == 0 ? "-" : ReportText.signed(t.varianceUSD),
                String(t.retries), String(t.failovers),
                ReportText.wholeSeconds(t.timeToResult?.p50), ReportText.wholeSeconds(t.timeToResult?.p90)]
    }

    var groupRows: [[String]] {
        var rows = groups.map { $0.key + Self.figures($0.totals) }
        rows.append((dimensions.isEmpty ? [] : ["total"] + Array(repeating: "", count: dimensions.count - 1)) + Self.figures(total))
        return rows
    }

    var dailyRows: (header: [String], rows: [[String]]) {
        let header = ["DATE", "JOBS", "ESTIMATED USD", "ACTUAL USD", "UNKNOWN COST"] + providers.map { $0.uppercased() }
        let rows = daily.filter { $0.jobs > 0 }.map { d in
            [d.date, String(d.jobs), d.estimatedUSD.description, d.actualUSD.description, String(d.unknownCostJobs)]
                + d.actualUSDByProvider.map(\.description)
        }
        return (header, rows)
    }

    var budgetRows: (header: [String], rows: [[String]]) {
        let header = ["BUDGET", "KEY", "LIMIT", "SETTLED", "RESERVED", "REMAINING", "PROJECTED MONTH END", "RUNS OUT"]
        let rows = budgets.map { b in
            [b.id, b.key.description, b.limit.description, b.settled.description, b.reserved.description, b.remaining.description,
             ReportText.money(b.projectedMonthEnd), b.runsOutOn ?? "not this month"]
        }
        return (header, rows)
    }

    var notes: [String] {
        var out = conversions.map(ReportText.conversionNote)
        if total.actualUnknownJobs > 0 {
            out.append("unknown cost: \(total.actualUnknownJobs) job\(total.actualUnknownJobs == 1 ? "" : "s") may have billed an amount nobody reported; they are counted, never added as zero (wanroute reconcile lists them)")
        }
        if total.estimatedUnknownJobs > 0 {
            out.append("unpriced: \(total.estimatedUnknownJobs) job\(total.estimatedUnknownJobs == 1 ? " was" : "s were") routed to offers whose price nobody publishes; they have no estimate")
        }
        out.append("variance is actual minus estimate over the \(total.varianceJobs) job\(total.varianceJobs == 1 ? "" : "s") where both are known; P50/P90: submission to result of succeeded jobs (nearest rank)")
        out.append("budgets as of \(UTCTimestamp.string(asOf)); projections extrapolate settled + reserved from the month so far")
        return out
    }

    var tableText: String {
        var out = title + "\n"
        out += ReportText.columns([dimensions.map(ReportText.header) + Self.figureHeaders] + groupRows)
        let daily = dailyRows
        out += "\nDaily (actual USD by provider, days with jobs):\n"
        out += daily.rows.isEmpty ? "(no jobs this month)\n" : ReportText.columns([daily.header] + daily.rows)
        if !budgets.isEmpty {
            let b = budgetRows
            out += "\nBudgets:\n" + ReportText.columns([b.header] + b.rows)
        }
        out += "\n" + notes.joined(separator: "\n") + "\n"
        return out
    }

    var markdownText: String {
        var out = "## \(title)\n\n"
        let right = Set((dimensions.count..<(dimensions.count + Self.figureHeaders.count)))
        out += ReportText.markdownTable(dimensions.map(\.description) + Self.figureHeaders.map { $0.lowercased() }, groupRows, rightAligned: right)
        let daily = dailyRows
        out += "\n### Daily\n\n"
        out += daily.rows.isEmpty ? "No jobs this month.\n" : ReportText.markdownTable(daily.header.map { $0.lowercased() }, daily.rows, rightAligned: Set(1..<daily.header.count))
        if !budgets.isEmpty {
            let b = budgetRows
            out += "\n### Budgets\n\n" + ReportText.markdownTable(b.header.map { $0.lowercased() }, b.rows, rightAligned: Set(2..<7))
        }
        out += "\n" + notes.map { "- " + $0 }.joined(separator: "\n") + "\n"
        return out
    }

    /// CSV columns: one per dimension, then the figures; money as plain decimals with its own
    /// currency column where several may occur.
    static let csvFigureHeaders = ["jobs", "succeeded", "failed", "needs_attention", "unfinished", "refused", "billed_seconds",
                                   "estimated", "estimated_usd", "estimated_usd_converted", "estimated_unknown_jobs",
                                   "actual", "actual_usd", "actual_usd_converted", "actual_unknown_jobs",
                                   "variance_usd", "variance_jobs", "retries", "failovers",
                                   "time_to_result_p50_seconds", "time_to_result_p90_seconds"]

    static func csvFigures(_ t: ReportTotals) -> [String] {
        func list(_ a: CurrencyAmounts) -> String { a.amounts.map { "\($0.currency.code) \($0.decimalString)" }.joined(separator: "; ") }
        return [String(t.jobs), String(t.succeeded), String(t.failed), String(t.needsAttention), String(t.unfinished), String(t.refused),
                t.billedSeconds.decimalString, list(t.estimated), t.estimatedUSD.decimalString, String(t.estimatedUSDConverted),
                String(t.estimatedUnknownJobs), list(t.actual), t.actualUSD.decimalString, String(t.actualUSDConverted),
                String(t.actualUnknownJobs), t.varianceUSD.decimalString, String(t.varianceJobs), String(t.retries), String(t.failovers),
                t.timeToResult?.p50.decimalString ?? "", t.timeToResult?.p90.decimalString ?? ""]
    }

    var csvText: String {
        var out = CSV.line(["month", "time_zone", "group"] + dimensions.map(\.description) + Self.csvFigureHeaders)
        let lead = [period.label, period.timeZone.identifier]
        for g in groups { out += CSV.line(lead + ["group"] + g.key + Self.csvFigures(g.totals)) }
        out += CSV.line(lead + ["total"] + Array(repeating: "", count: dimensions.count) + Self.csvFigures(total))
        return out
    }
}
