import Foundation

/// Where in a document something was found: the file, a line and column when known, and a JSONPath.
///
/// A problem in a JSON file has a path (`$.offers[2].price`); a problem in one line of a JSON
/// Lines file (a `--jobs` file, a ledger) also has the line; a text that is not JSON at all has
/// the line and column where reading stopped and no path.
public struct Location: Sendable, Hashable, CustomStringConvertible {
    /// The file, as the user named it (or `built-in:NAME` for the embedded defaults).
    public var file: String
    /// The 1-based line, or nil when the problem is not tied to one line.
    public var line: Int?
    /// The 1-based column (in Unicode scalars) on ``line``, or nil.
    public var column: Int?
    /// A JSONPath to the value at fault, such as `$.offers[2].price`; `$` for the whole document;
    /// nil when the text could not be read as JSON.
    public var path: String?

    /// Creates a location.
    public init(file: String, line: Int? = nil, column: Int? = nil, path: String? = "$") {
        self.file = file
        self.line = line
        self.column = column
        self.path = path
    }

    /// `file:line:column: $.path`, leaving out what is unknown (`jobs.jsonl:3: $.duration`,
    /// `pricing/apixo.json: $.offers[0]`, `broken.json:1:34`): the form compilers print, which
    /// editors and terminals turn into links.
    public var description: String {
        var text = file
        if let line {
            text += ":\(line)"
            if let column { text += ":\(column)" }
        }
        if let path { text += ": \(path)" }
        return text
    }
}

/// One problem found in a data file: where it is and what to do about it.
///
/// Validation collects every diagnostic of a file before reporting, so a user fixes all problems
/// in one pass rather than one per run.
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
    /// Whether the problem stops the file from being used.
    public enum Severity: String, Sendable, Equatable {
        /// The file cannot be used until it is fixed.
        case error
        /// The file can be used, but something is probably wrong.
        case warning
    }

    /// Whether the problem stops the file from being used.
    public var severity: Severity
    /// Where the problem is.
    public var location: Location
    /// A plain sentence saying what is wrong and, where it helps, what to write instead.
    public var message: String

    /// Creates a diagnostic at a location.
    public init(_ severity: Severity = .error, at location: Location, message: String) {
        self.severity = severity
        self.location = location
        self.message = message
    }

    /// Creates a diagnostic about the value at `path` in `file`.
    public init(_ severity: Severity = .error, file: String, path: String, message: String) {
        self.init(severity, at: Location(file: file, path: path), message: message)
    }

    /// The file the problem is in (``Location/file``).
    public var file: String { location.file }
    /// The JSONPath of the value at fault (``Location/path``), or nil when the text is not JSON.
    public var path: String? { location.path }

    /// `file[:line[:column]]: $.path: error: message`, the form the CLI prints.
    public var description: String { "\(location): \(severity.rawValue): \(message)" }
}
