import Foundation

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

    /// The lists in the order every format shows them, with their titles.
    static let listTitles: [(list: WhatIfList, title: String)] = [
        (.changed, "Route changed"), (.refused, "Refused under the replay"), (.unpriceable, "Cannot be priced under the replay"),
    ]

    /// How many jobs of `list` are listed.
    func listedCount(_ list: WhatIfList, limit: Int? = nil) -> Int {
        min(count(list), min(listLimit ?? Int.max, limit ?? Int.max))
    }

    /// Text is handed on in pieces of about this many bytes.
    static let pieceBytes = 1 << 16

    /// Aligned text.
    public var tableText: String {
        var out = ""
        writeTable { out += $0 }
        return out
    }

    /// Writes ``tableText`` in pieces, the listed jobs made one at a time (two passes: the
    /// columns' widths first), so a full listing needs no more memory than a short one.
    public func writeTable(_ write: (String) -> Void) {
        write(headline + "\n\n" + ReportText.columns([["", "PAST (USD)", "NEW (USD)", "CHANGE"]] + sliceRows))
        let header = ["JOB", "PAST", "PAST COST", "NEW", "NEW COST", "REFUSAL"]
        for (list, title) in Self.listTitles where count(list) > 0 {
            write("\n\(title) (\(count(list))):\n")
            var widths = header.map(\.count)
            forEachListed(list) { c in
                for (i, cell) in Self.changeRow(c).enumerated() { widths[i] = max(widths[i], ReportText.width(cell)) }
            }
            var piece = ReportText.columnLine(header, widths: widths)
            forEachListed(list) { c in
                piece += ReportText.columnLine(Self.changeRow(c), widths: widths)
                if piece.utf8.count >= Self.pieceBytes {
                    write(piece)
                    piece = ""
                }
            }
            write(piece)
            let more = count(list) - listedCount(list)
            if more > 0 { write("… and \(more) more (--list all lists every job)\n") }
        }
        if let g = gateLine { write("\n" + g + "\n") }
        if !notes.isEmpty { write(notes.map { $0 + "\n" }.joined()) }
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

    /// Jobs listed per list in ``markdownText`` at most (fewer under a smaller ``listLimit``): a
    /// pull-request comment holds at most 65,536 characters, and a month can move a million jobs.
    static let markdownListLimit = 50

    /// Markdown fit for a pull-request comment: the verdict first, then totals, then the lists
    /// (folded in `<details>`, the first ``markdownListLimit`` jobs of each).
    public var markdownText: String {
        let changed = count(.changed), refused = count(.refused), unpriceable = count(.unpriceable)
        var out = "### wanroute whatif: \(period.label) under `\(newPolicy)`\n\n"
        if let g = gateLine { out += (gateFailure == nil ? "✅ " : "❌ ") + g + "\n\n" }
        out += "\(jobs) job\(jobs == 1 ? "" : "s") replayed; \(changed) route\(changed == 1 ? "" : "s") changed, \(refused) refused, \(unpriceable) unpriceable.\n\n"
        out += ReportText.markdownTable(["", "past (USD)", "new (USD)", "change"], sliceRows, rightAligned: [1, 2, 3])
        for (list, title) in Self.listTitles where count(list) > 0 {
            out += "\n<details><summary>\(title) (\(count(list)))</summary>\n\n"
            var rows: [[String]] = []
            lists.forEach(list, limit: listedCount(list, limit: Self.markdownListLimit)) { rows.append(WhatIfReport.changeRow($0)) }
            out += ReportText.markdownTable(["job", "past", "past cost", "new", "new cost", "refusal"], rows)
            if count(list) > rows.count {
                out += "\n… and \(count(list) - rows.count) more (`--format json --list all` lists every job)\n"
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

    /// A member of the JSON form: a value, or one of the lists.
    enum JSONPart {
        case value(JSONMember)
        case list(String, WhatIfList)
    }

    /// The JSON form's members in order.
    var jsonParts: [JSONPart] {
        [
            .value(JSONMember("month", .string(period.label))),
            .value(JSONMember("time_zone", .string(period.timeZone.identifier))),
            .value(JSONMember("policy", .string(newPolicy))),
            .value(JSONMember("past_policies", .array(pastPolicies.map(JSONValue.string)))),
            .value(JSONMember("jobs", ReportJSON.number(jobs))),
            .value(JSONMember("total", WhatIfReport.totalsJSON(total))),
            .value(JSONMember("past_converted_today_jobs", ReportJSON.number(total.pastConvertedToday))),
            .value(JSONMember("by_provider", .object(byProvider.map { JSONMember($0.provider, WhatIfReport.totalsJSON($0.totals)) }))),
            .value(JSONMember("by_tag", .object(byTag.map { JSONMember($0.tag, WhatIfReport.totalsJSON($0.totals)) }))),
            .value(JSONMember("list_limit", listLimit.map(ReportJSON.number) ?? .null)),
            .value(JSONMember("changed_jobs", ReportJSON.number(count(.changed)))),
            .list("changed", .changed),
            .value(JSONMember("refused_jobs", ReportJSON.number(count(.refused)))),
            .list("refused", .refused),
            .value(JSONMember("unpriceable_jobs", ReportJSON.number(count(.unpriceable)))),
            .list("unpriceable", .unpriceable),
            .value(JSONMember("fail_above", JSONValue.optional(threshold?.description))),
            .value(JSONMember("gate_failure", JSONValue.optional(gateFailure))),
        ]
    }

    /// The stable JSON form (README, "whatif JSON").
    public var json: JSONValue {
        .object(jsonParts.map { part in
            switch part {
            case .value(let m): return m
            case .list(let key, let list): return JSONMember(key, .array(listed(list).map(WhatIfReport.changeJSON)))
            }
        })
    }

    /// Writes `JSONWriter.pretty(json)` and a newline in pieces, the listed jobs made one at a time.
    public func writeJSON(_ write: (String) -> Void) {
        var piece = "{"
        for (i, part) in jsonParts.enumerated() {
            if i > 0 { piece += "," }
            switch part {
            case .value(let m):
                piece += "\n  " + JSONWriter.pretty(.string(m.key)) + ": " + JSONWriter.pretty(m.value, level: 1)
            case .list(let key, let list):
                piece += "\n  " + JSONWriter.pretty(.string(key)) + ": "
                if listedCount(list) == 0 {
                    piece += "[]"
                    continue
                }
                piece += "["
                var first = true
                forEachListed(list) { c in
                    piece += (first ? "\n    " : ",\n    ") + JSONWriter.pretty(WhatIfReport.changeJSON(c), level: 2)
                    first = false
                    if piece.utf8.count >= Self.pieceBytes {
                        write(piece)
                        piece = ""
                    }
                }
                piece += "\n  ]"
            }
        }
        write(piece + "\n}\n")
    }
}

extension ReportText {
    /// One line of ``columns(_:)`` with the widths given (the widest cell of each column).
    static func columnLine(_ row: [String], widths: [Int]) -> String {
        var line = ""
        for (i, cell) in row.enumerated() {
            line += cell
            if i < row.count - 1 { line += String(repeating: " ", count: widths[i] - width(cell) + 2) }
        }
        while line.hasSuffix(" ") { line.removeLast() }
        return line + "\n"
    }

    /// `s.count` (the characters a column is as wide as), from the byte count where that is the
    /// same: ASCII without a carriage return, as ids and amounts are.
    static func width(_ s: String) -> Int {
        let ascii = s.utf8.withContiguousStorageIfAvailable { b in !b.contains { $0 >= 0x80 || $0 == 0x0D } } ?? false
        return ascii ? s.utf8.count : s.count
    }
}
