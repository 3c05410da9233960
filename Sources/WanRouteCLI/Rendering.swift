import Foundation
import WanRoute

/// Output formats a command may offer.
enum OutputFormat: String, CaseIterable {
    case table
    case json
    case csv

    /// Parses `--format`, accepting only the formats a command offers.
    static func parse(_ text: String?, allowed: [OutputFormat]) throws(CLIError) -> OutputFormat {
        guard let text else { return allowed[0] }
        guard let f = OutputFormat(rawValue: text), allowed.contains(f) else {
            throw .usage("'\(text)' is not an output format (\(allowed.map(\.rawValue).joined(separator: ", ")))")
        }
        return f
    }
}

/// Left-aligned text columns separated by two spaces; the last column is not padded.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []

    init(_ header: [String]) { self.header = header }

    var rendered: String {
        let all = [header] + rows
        var widths = [Int](repeating: 0, count: header.count)
        for row in all { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        var out = ""
        for row in all {
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
}

/// RFC 4180 CSV: fields with commas, quotes or line breaks are quoted, quotes doubled.
enum CSV {
    static func line(_ fields: [String]) -> String {
        fields.map { f in
            f.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                ? "\"" + f.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : f
        }.joined(separator: ",") + "\r\n"
    }
}

extension Money {
    /// `{"amount": "0.20", "currency": "USD"}`: the JSON form of money in every output.
    var json: JSONValue {
        .object([JSONMember("amount", .string(decimalString)), JSONMember("currency", .string(currency.code))])
    }
}

extension JSONValue {
    /// A string, or null.
    static func optional(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
}

/// Diagnostics for people: the first ``shown`` in full, then how many more, so a hostile file
/// with 200,000 unknown keys prints a screenful rather than megabytes.
enum DiagnosticList {
    static let shown = 100

    /// Writes the list, one diagnostic a line, capped.
    static func write(_ diagnostics: [Diagnostic], to output: TextOutput) {
        var text = ""
        for d in diagnostics.prefix(shown) { text += "\(d)\n" }
        if diagnostics.count > shown {
            text += "... and \(grouped(diagnostics.count - shown)) more\n"
        }
        output.write(text)
    }

    /// `199990` as `199,990`.
    static func grouped(_ n: Int) -> String {
        let digits = Array(String(n))
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0, (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return out
    }
}
