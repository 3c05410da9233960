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

/// Left-aligned text columns separated by two spaces; the last column is not padded, and
/// wrapped onto indented continuation lines when longer than ``lastColumnWidth``.
struct TextTable {
    var header: [String]
    var rows: [[String]] = []
    /// Where long text in the last column (reasons) wraps, at a space; nil: never.
    var lastColumnWidth: Int? = 64

    init(_ header: [String]) { self.header = header }

    var rendered: String {
        let all = [header] + rows
        var widths = [Int](repeating: 0, count: header.count)
        for row in all {
            for (i, cell) in row.enumerated() where i < row.count - 1 { widths[i] = max(widths[i], cell.count) }
        }
        let indent = widths.dropLast().reduce(0) { $0 + $1 + 2 }
        var out = ""
        for row in all {
            var line = ""
            for (i, cell) in row.enumerated() {
                if i < row.count - 1 {
                    line += cell + String(repeating: " ", count: widths[i] - cell.count + 2)
                } else {
                    let pieces = Self.wrap(cell, width: lastColumnWidth)
                    line += pieces[0]
                    for piece in pieces.dropFirst() {
                        while line.hasSuffix(" ") { line.removeLast() }
                        line += "\n" + String(repeating: " ", count: indent) + piece
                    }
                }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }

    /// `text` cut at spaces into pieces of at most `width` characters (a longer word stays whole).
    static func wrap(_ text: String, width: Int?) -> [String] {
        guard let width, text.count > width else { return [text] }
        var pieces: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if !current.isEmpty, current.count + 1 + word.count > width {
                pieces.append(current)
                current = String(word)
            } else {
                current += (current.isEmpty ? "" : " ") + word
            }
        }
        pieces.append(current)
        return pieces
    }
}

/// A byte count for people: `850 B`, `9.1 kB`, `212.5 MB`, `1.2 GB` (decimal units, as providers
/// write their limits), one decimal, rounded half up.
func humanBytes(_ bytes: Int64) -> String {
    if bytes < 1000 { return "\(bytes) B" }
    for (unit, scale) in [("kB", Int64(1_000)), ("MB", 1_000_000), ("GB", 1_000_000_000)] where bytes < scale * 1000 || unit == "GB" {
        let tenth = scale / 10
        let tenths = bytes / tenth + (bytes % tenth * 2 >= tenth ? 1 : 0)  // no overflow near Int64.max
        return "\(tenths / 10).\(tenths % 10) \(unit)"
    }
    return "\(bytes) B"
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
