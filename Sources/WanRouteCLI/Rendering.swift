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
