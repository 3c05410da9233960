import Foundation

/// The monthly report as one self-contained HTML page: inline CSS and SVG, no scripts, no
/// network. Charts: daily spend stacked by provider, estimate vs actual per provider, and a
/// burn-down per budget. Chart geometry uses floating point; every figure printed is exact.
struct ReportHTML {
    let report: MonthlyReport

    static let palette = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f", "#ff9da7", "#bab0ac"]

    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    /// An amount as a chart coordinate in USD. Pixel geometry only: every figure the page prints
    /// (axis ticks included) is formatted from the exact nano-units.
    static func chartValue(_ m: Money) -> Double { Double(m.nanos) / 1_000_000_000 }

    /// A round axis step in nano-units (1, 2, 2.5 or 5 times a power of ten) for an axis from 0 to
    /// `maxNanos` with about `ticks` divisions. Integer arithmetic, so the tick labels are exact.
    static func niceStep(nanos maxNanos: Int64, ticks: Int64 = 4) -> Int64 {
        guard maxNanos > 0 else { return 1_000_000_000 }
        let raw = maxNanos / ticks + (maxNanos % ticks == 0 ? 0 : 1)
        var p: Int64 = 1
        while p <= raw / 10 { p *= 10 }  // the largest power of ten not above raw
        var candidates: [Int64] = [p, 2 * p]
        if p % 2 == 0 { candidates.append(p / 2 * 5) }
        candidates.append(5 * p)  // raw ≤ Int64.max / 4, so 5p cannot overflow
        return candidates.first { $0 >= raw } ?? (p <= Int64.max / 10 ? 10 * p : Int64.max)
    }

    /// An axis tick's label: the exact decimal amount, without trailing zeros.
    static func axisLabel(nanos: Int64) -> String { FixedDecimal.format(nanos, scale: Money.scale) }

    static func f(_ v: Double) -> String { String(format: "%.1f", v) }

    var page: String {
        let r = report
        let e = Self.escape
        var h = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>\(e(r.title))</title>
        <style>
        body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d2330; margin: 0; background: #f6f7f9; }
        main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
        h1 { font-size: 24px; margin: 0 0 4px; }
        h2 { font-size: 18px; margin: 32px 0 10px; }
        .sub { color: #5b6475; margin: 0 0 20px; }
        .cards { display: flex; flex-wrap: wrap; gap: 12px; }
        .card { background: #fff; border: 1px solid #dde1e8; border-radius: 8px; padding: 12px 16px; min-width: 150px; }
        .card .k { font-size: 12px; color: #5b6475; text-transform: uppercase; letter-spacing: .04em; }
        .card .v { font-size: 20px; font-weight: 600; margin-top: 4px; }
        .card .v.warn { color: #b3261e; }
        .panel { background: #fff; border: 1px solid #dde1e8; border-radius: 8px; padding: 14px 16px; overflow-x: auto; }
        .grid { display: flex; flex-wrap: wrap; gap: 12px; }
        table { border-collapse: collapse; font-size: 13px; width: 100%; }
        th, td { padding: 5px 8px; border-bottom: 1px solid #e6e9ee; text-align: right; white-space: nowrap; }
        th { background: #eef1f5; font-weight: 600; }
        th.l, td.l { text-align: left; }
        tr.total td { font-weight: 600; border-top: 2px solid #9aa3b2; }
        .legend { display: flex; flex-wrap: wrap; gap: 14px; font-size: 13px; margin: 6px 0 0; }
        .legend span.sw { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
        ul.notes { color: #5b6475; font-size: 13px; }
        svg text { font-family: inherit; }
        </style>
        </head>
        <body>
        <main>
        <h1>\(e(r.title))</h1>
        <p class="sub">\(e(UTCTimestamp.string(r.period.start))) to \(e(UTCTimestamp.string(r.period.end))) (end exclusive); budgets as of \(e(UTCTimestamp.string(r.asOf)))</p>

        """
        h += cards
        h += "<h2>Daily spend by provider</h2>\n<div class=\"panel\" id=\"chart-daily\">\n\(dailyChart)\(legend)</div>\n"
        h += "<h2>Estimate vs actual per provider</h2>\n<div class=\"panel\" id=\"chart-estimate-actual\">\n\(estimateChart)</div>\n"
        if !r.budgets.isEmpty {
            h += "<h2>Budget burn-down</h2>\n<div class=\"grid\" id=\"chart-budgets\">\n\(burnDownCharts)</div>\n"
        }
        h += "<h2>\(r.dimensions.isEmpty ? "Total" : "By " + e(r.dimensions.map(\.description).joined(separator: ", ")))</h2>\n"
        h += "<div class=\"panel\">\n" + table(r.dimensions.map(\.description) + MonthlyReport.figureHeaders.map { $0.lowercased() },
                                              r.groupRows, leftColumns: r.dimensions.count, id: "groups", totalLast: true) + "</div>\n"
        let daily = r.dailyRows
        h += "<h2>Daily</h2>\n<div class=\"panel\">\n"
        h += daily.rows.isEmpty ? "<p>No jobs this month.</p>\n" : table(daily.header.map { $0.lowercased() }, daily.rows, leftColumns: 1, id: "daily", totalLast: false)
        h += "</div>\n"
        if !r.budgets.isEmpty {
            let b = r.budgetRows
            h += "<h2>Budgets</h2>\n<div class=\"panel\">\n" + table(b.header.map { $0.lowercased() }, b.rows, leftColumns: 2, id: "budgets", totalLast: false) + "</div>\n"
        }
        h += "<ul class=\"notes\">\n" + r.notes.map { "<li>\(e($0))</li>" }.joined(separator: "\n") + "\n</ul>\n"
        h += "</main>\n</body>\n</html>\n"
        return h
    }

    var cards: String {
        let t = report.total
        func card(_ k: String, _ v: String, warn: Bool = false, id: String) -> String {
            "<div class=\"card\" id=\"\(id)\"><div class=\"k\">\(Self.escape(k))</div><div class=\"v\(warn ? " warn" : "")\">\(Self.escape(v))</div></div>\n"
        }
        var out = "<div class=\"cards\">\n"
        out += card("Jobs", "\(t.jobs) (\(t.succeeded) succeeded)", id: "card-jobs")
        out += card("Actual", ReportText.usd(t.actualUSD, converted: t.actualUSDConverted), id: "card-actual")
        out += card("Estimated", ReportText.usd(t.estimatedUSD, converted: t.estimatedUSDConverted), id: "card-estimated")
        out += card("Variance", ReportText.signed(t.varianceUSD), id: "card-variance")
        out += card("Unknown cost", t.actualUnknownJobs == 0 ? "none" : "\(t.actualUnknownJobs) job\(t.actualUnknownJobs == 1 ? "" : "s")", warn: t.actualUnknownJobs > 0, id: "card-unknown")
        out += card("Failed / attention", "\(t.failed) / \(t.needsAttention)", warn: t.needsAttention > 0, id: "card-failed")
        return out + "</div>\n"
    }

    var legend: String {
        "<div class=\"legend\">" + report.providers.enumerated().map { i, p in
            "<span><span class=\"sw\" style=\"background:\(Self.palette[i % Self.palette.count])\"></span>\(Self.escape(p))</span>"
        }.joined() + "<span><span style=\"color:#b3261e;font-weight:600;margin-right:5px\">?</span>jobs of unknown cost that day</span></div>\n"
    }

    var dailyChart: String {
        let r = report
        let width = 1080.0, height = 300.0, left = 64.0, right = 12.0, top = 14.0, bottom = 34.0
        let plotW = width - left - right, plotH = height - top - bottom
        let maxDay = r.daily.map { $0.actualUSD.nanos }.max() ?? 0
        let step = Self.niceStep(nanos: maxDay)
        // The first multiple of the step at or above the largest day (saturating near Int64.max).
        let (rounded, overflow) = (maxDay / step + (maxDay % step == 0 ? 0 : 1)).multipliedReportingOverflow(by: step)
        let axisTop = overflow ? maxDay : max(rounded, step)
        let n = Double(max(r.daily.count, 1))
        let slot = plotW / n
        let barW = max(slot * 0.7, 1)
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"Daily actual spend in USD, stacked by provider\">\n"
        s += "<title>Daily actual spend in USD, stacked by provider</title>\n"
        var tick: Int64 = 0
        while tick <= axisTop {
            let y = top + plotH - Double(tick) / Double(axisTop) * plotH
            s += "<line x1=\"\(Self.f(left))\" y1=\"\(Self.f(y))\" x2=\"\(Self.f(width - right))\" y2=\"\(Self.f(y))\" stroke=\"#e3e6eb\"/>"
            s += "<text x=\"\(Self.f(left - 6))\" y=\"\(Self.f(y + 4))\" font-size=\"11\" text-anchor=\"end\" fill=\"#5b6475\">$\(Self.axisLabel(nanos: tick))</text>\n"
            guard tick <= axisTop - step else { break }
            tick += step
        }
        for (i, d) in r.daily.enumerated() {
            let x = left + Double(i) * slot + (slot - barW) / 2
            var y = top + plotH
            for (p, amount) in d.actualUSDByProvider.enumerated() where amount.nanos > 0 {
                let hgt = Double(amount.nanos) / Double(axisTop) * plotH
                y -= hgt
                s += "<rect class=\"bar\" x=\"\(Self.f(x))\" y=\"\(Self.f(y))\" width=\"\(Self.f(barW))\" height=\"\(Self.f(max(hgt, 0.5)))\" fill=\"\(Self.palette[p % Self.palette.count])\"><title>\(Self.escape("\(d.date) \(r.providers[p]): \(amount)"))</title></rect>\n"
            }
            if d.unknownCostJobs > 0 {
                s += "<text x=\"\(Self.f(x + barW / 2))\" y=\"\(Self.f(y - 4))\" font-size=\"11\" text-anchor=\"middle\" fill=\"#b3261e\">?<title>\(d.unknownCostJobs) job(s) of unknown cost</title></text>\n"
            }
            if i % 5 == 0 || i == r.daily.count - 1 {
                s += "<text x=\"\(Self.f(left + Double(i) * slot + slot / 2))\" y=\"\(Self.f(height - 12))\" font-size=\"11\" text-anchor=\"middle\" fill=\"#5b6475\">\(Self.escape(String(d.date.suffix(5))))</text>\n"
            }
        }
        s += "<line x1=\"\(Self.f(left))\" y1=\"\(Self.f(top + plotH))\" x2=\"\(Self.f(width - right))\" y2=\"\(Self.f(top + plotH))\" stroke=\"#9aa3b2\"/>\n"
        return s + "</svg>\n"
    }

    var estimateChart: String {
        let r = report
        let rowH = 46.0, left = 150.0, right = 220.0, width = 1080.0, top = 24.0
        let height = top + rowH * Double(max(r.byProvider.count, 1)) + 10
        let maxV = r.byProvider.flatMap { [Self.chartValue($0.totals.estimatedUSD), Self.chartValue($0.totals.actualUSD)] }.max() ?? 0
        let scale = maxV > 0 ? (width - left - right) / maxV : 0
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"Estimated and actual USD per provider\">\n"
        s += "<title>Estimated and actual USD per provider</title>\n"
        s += "<rect x=\"\(Self.f(left))\" y=\"4\" width=\"12\" height=\"12\" fill=\"#b8c4d6\"/><text x=\"\(Self.f(left + 18))\" y=\"14\" font-size=\"12\">estimated</text>"
        s += "<rect x=\"\(Self.f(left + 100))\" y=\"4\" width=\"12\" height=\"12\" fill=\"#2f5d8a\"/><text x=\"\(Self.f(left + 118))\" y=\"14\" font-size=\"12\">actual</text>\n"
        for (i, g) in r.byProvider.enumerated() {
            let y = top + Double(i) * rowH
            let t = g.totals
            let ew = Self.chartValue(t.estimatedUSD) * scale, aw = Self.chartValue(t.actualUSD) * scale
            s += "<text x=\"\(Self.f(left - 8))\" y=\"\(Self.f(y + 20))\" font-size=\"13\" text-anchor=\"end\">\(Self.escape(g.key[0]))</text>\n"
            s += "<rect class=\"bar\" x=\"\(Self.f(left))\" y=\"\(Self.f(y + 4))\" width=\"\(Self.f(max(ew, 0.5)))\" height=\"14\" fill=\"#b8c4d6\"/>"
            s += "<text x=\"\(Self.f(left + ew + 6))\" y=\"\(Self.f(y + 15))\" font-size=\"11\" fill=\"#5b6475\">\(Self.escape("estimated " + MonthlyReport.estimatedUSD(t)))</text>\n"
            s += "<rect class=\"bar\" x=\"\(Self.f(left))\" y=\"\(Self.f(y + 21))\" width=\"\(Self.f(max(aw, 0.5)))\" height=\"14\" fill=\"#2f5d8a\"/>"
            s += "<text x=\"\(Self.f(left + aw + 6))\" y=\"\(Self.f(y + 32))\" font-size=\"11\" fill=\"\(t.actualUnknownJobs == 0 ? "#1d2330" : "#b3261e")\">\(Self.escape("actual " + MonthlyReport.actualUSD(t)))</text>\n"
        }
        return s + "</svg>\n"
    }

    var burnDownCharts: String {
        let r = report
        var out = ""
        for (k, b) in r.budgets.enumerated() {
            let width = 350.0, height = 214.0, left = 56.0, right = 10.0, top = 28.0, bottom = 40.0
            let plotW = width - left - right, plotH = height - top - bottom
            let limit = Self.chartValue(b.limit)
            let spent = b.cumulativeByDay.map(Self.chartValue)
            let projected = b.projectedMonthEnd.map(Self.chartValue) ?? 0
            let maxV = max(limit, spent.last ?? 0, projected, 0.01)
            let days = Double(max(r.period.dayCount, 1))
            func x(_ day: Double) -> Double { left + day / days * plotW }
            func y(_ v: Double) -> Double { top + plotH - min(v, maxV) / maxV * plotH }
            let label = "Budget \(b.id) (\(b.key)): remaining of \(b.limit)"
            var s = "<div class=\"panel\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(Self.escape(label))\" id=\"budget-\(k)\">\n"
            s += "<title>\(Self.escape(label))</title>\n"
            s += "<text x=\"\(Self.f(left))\" y=\"16\" font-size=\"13\" font-weight=\"600\">\(Self.escape("\(b.id) · \(b.key)"))</text>\n"
            s += "<line x1=\"\(Self.f(left))\" y1=\"\(Self.f(y(0)))\" x2=\"\(Self.f(width - right))\" y2=\"\(Self.f(y(0)))\" stroke=\"#9aa3b2\"/>"
            s += "<text x=\"\(Self.f(left - 6))\" y=\"\(Self.f(y(limit) + 4))\" font-size=\"10\" text-anchor=\"end\" fill=\"#5b6475\">$\(Self.axisLabel(nanos: b.limit.nanos))</text>"
            s += "<text x=\"\(Self.f(left - 6))\" y=\"\(Self.f(y(0) + 4))\" font-size=\"10\" text-anchor=\"end\" fill=\"#5b6475\">$0</text>\n"
            // Remaining budget per day: the limit minus the report's cumulative actual spend.
            // Drawn up to the day of asOf: later days have no spend yet.
            let now = r.asOf.timeIntervalSince1970 - r.period.start.timeIntervalSince1970
            let elapsedDays = min(max(now / 86_400, 0), days)
            var points: [String] = ["\(Self.f(x(0))),\(Self.f(y(limit)))"]
            for (d, v) in spent.enumerated() where Double(d) < elapsedDays {
                points.append("\(Self.f(x(min(Double(d + 1), elapsedDays)))),\(Self.f(y(max(limit - v, 0))))")
            }
            s += "<polyline class=\"burn\" points=\"\(points.joined(separator: " "))\" fill=\"none\" stroke=\"#2f5d8a\" stroke-width=\"2\"/>\n"
            // Projection from now to the month's end at the current burn rate.
            if let p = b.projectedMonthEnd, elapsedDays > 0 {
                let committed = Self.chartValue(b.settled) + Self.chartValue(b.reserved)
                s += "<line class=\"projection\" x1=\"\(Self.f(x(elapsedDays)))\" y1=\"\(Self.f(y(max(limit - committed, 0))))\" x2=\"\(Self.f(x(days)))\" y2=\"\(Self.f(y(max(limit - Self.chartValue(p), 0))))\" stroke=\"#e15759\" stroke-width=\"2\" stroke-dasharray=\"6 4\"/>\n"
            }
            let color = b.runsOutOn == nil ? "#5b6475" : "#b3261e"
            s += "<text x=\"\(Self.f(left))\" y=\"\(Self.f(height - 22))\" font-size=\"11\" fill=\"\(color)\">\(Self.escape("left \(b.remaining) · runs out \(b.runsOutOn ?? "not this month")"))</text>\n"
            s += "<text x=\"\(Self.f(left))\" y=\"\(Self.f(height - 7))\" font-size=\"11\" fill=\"#5b6475\">\(Self.escape("projected month end \(ReportText.money(b.projectedMonthEnd))"))</text>\n"
            s += "</svg></div>\n"
            out += s
        }
        return out
    }

    func table(_ header: [String], _ rows: [[String]], leftColumns: Int, id: String, totalLast: Bool) -> String {
        var t = "<table id=\"table-\(id)\">\n<thead><tr>"
        for (i, h) in header.enumerated() { t += "<th\(i < leftColumns ? " class=\"l\"" : "")>\(Self.escape(h))</th>" }
        t += "</tr></thead>\n<tbody>\n"
        for (n, row) in rows.enumerated() {
            t += totalLast && n == rows.count - 1 ? "<tr class=\"total\">" : "<tr>"
            for (i, c) in row.enumerated() { t += "<td\(i < leftColumns ? " class=\"l\"" : "")>\(Self.escape(c))</td>" }
            t += "</tr>\n"
        }
        return t + "</tbody>\n</table>\n"
    }
}
