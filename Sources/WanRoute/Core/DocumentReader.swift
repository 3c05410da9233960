/// Collects every diagnostic found while reading one document, so validation reports them all at once.
final class DiagnosticSink {
    let file: String
    /// The line the document sits on when it is one line of a larger file (a JSON Lines record).
    let line: Int?
    private(set) var diagnostics: [Diagnostic] = []

    /// A sink for a whole file, or for the document on `line` of it.
    init(file: String, line: Int? = nil) {
        self.file = file
        self.line = line
    }

    var hasErrors: Bool { diagnostics.contains { $0.severity == .error } }

    func error(_ path: String, _ message: String) {
        diagnostics.append(Diagnostic(.error, at: Location(file: file, line: line, path: path), message: message))
    }

    func warning(_ path: String, _ message: String) {
        diagnostics.append(Diagnostic(.warning, at: Location(file: file, line: line, path: path), message: message))
    }

    /// `text` parsed as JSON, or nil with a "not valid JSON" error at the line and column where
    /// reading stopped (counted from ``line`` for a document that is one line of a file).
    func parseJSON(_ text: String) -> JSONValue? {
        do {
            return try JSONParser.parse(text)
        } catch {
            let at = Location(file: file, line: (line ?? 1) + error.line - 1, column: error.column, path: nil)
            diagnostics.append(Diagnostic(.error, at: at, message: "not valid JSON: \(error.message)"))
            return nil
        }
    }

    /// The largest value a decimal field may hold unless it says otherwise: money (scale 9) up to
    /// ``Money/largestNanos``, seconds (scale 6) up to ``Seconds/longestJob``. Bounding every
    /// value where it is read is what keeps every product of money and time inside Int64.
    static func defaultMaximum(scale: Int) -> Int64 {
        switch scale {
        case Money.scale: return Money.largestNanos
        case Seconds.scale: return Seconds.longestJob.micros
        default: return Int64.max
        }
    }

    /// A value that must be an exact decimal string, as a count of 10^-scale units; nil (with a
    /// diagnostic) otherwise. `example` and `numberReason` word the messages for the field's kind;
    /// `maximum` (default: ``defaultMaximum(scale:)``) bounds its magnitude.
    func decimal(_ v: JSONValue, path p: String, scale: Int, allowNegative: Bool = false, maximum: Int64? = nil,
                 example: String = "\"0.04\"",
                 numberReason: String = "numbers are read as binary floating point by many tools and may not be exact") -> Int64? {
        switch v {
        case .number(let text):
            error(p, "write this as a decimal string (\"\(text)\"), not a JSON number: \(numberReason)")
            return nil
        case .string(let text):
            switch FixedDecimal.parse(text, scale: scale) {
            case .success(let n):
                if n < 0, !allowNegative {
                    error(p, "\"\(text)\" is negative; it must be zero or more")
                    return nil
                }
                let most = maximum ?? Self.defaultMaximum(scale: scale)
                if n.magnitude > most.magnitude {
                    error(p, "\"\(text)\" is larger than the most accepted here, \(FixedDecimal.format(most, scale: scale)); check the value")
                    return nil
                }
                return n
            case .failure(let why):
                error(p, "\"\(text)\" \(why)")
                return nil
            }
        default:
            error(p, "expected a decimal string such as \(example), found \(v.typeName)")
            return nil
        }
    }
}

/// Reads one JSON object of a configuration document key by key.
///
/// Every accessor records what was read; ``finish()`` then reports each key that nobody read as
/// unknown (with the closest known key as a suggestion), so the list of allowed keys is the code
/// itself and cannot drift from it. A typo in a price or policy file is an error, never ignored.
final class ObjectReader {
    let path: String
    let sink: DiagnosticSink
    private let members: [JSONMember]
    private var read: Set<String> = []

    /// A reader over `value`, or nil (with a diagnostic) when it is not an object.
    init?(_ value: JSONValue, path: String, sink: DiagnosticSink) {
        guard case .object(let members) = value else {
            sink.error(path, "expected an object, found \(value.typeName)")
            return nil
        }
        self.members = members
        self.path = path
        self.sink = sink
    }

    func childPath(_ key: String) -> String { "\(path).\(key)" }

    /// The raw value of `key`, marking it read; reports a missing required key.
    func value(_ key: String, required: Bool) -> JSONValue? {
        read.insert(key)
        guard let v = members.first(where: { $0.key == key })?.value else {
            if required { sink.error(path, "missing the required key \"\(key)\"") }
            return nil
        }
        return v
    }

    /// Whether the object has `key` at all (without marking it read).
    func has(_ key: String) -> Bool { members.contains { $0.key == key } }

    func string(_ key: String, required: Bool = true) -> String? {
        guard let v = value(key, required: required) else { return nil }
        if case .null = v, !required { return nil }
        guard case .string(let s) = v else {
            sink.error(childPath(key), "expected a string, found \(v.typeName)")
            return nil
        }
        return s
    }

    /// A string that must be one of the cases of `E`; reports the allowed words otherwise.
    func word<E: RawRepresentable & CaseIterable>(_ key: String, as: E.Type, required: Bool = true) -> E? where E.RawValue == String {
        guard let s = string(key, required: required) else { return nil }
        guard let e = E(rawValue: s) else {
            let allowed = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            sink.error(childPath(key), "\"\(s)\" is not one of \(allowed)")
            return nil
        }
        return e
    }

    func bool(_ key: String, required: Bool = true) -> Bool? {
        guard let v = value(key, required: required) else { return nil }
        guard case .bool(let b) = v else {
            sink.error(childPath(key), "expected true or false, found \(v.typeName)")
            return nil
        }
        return b
    }

    /// A whole JSON number within `range`.
    func integer(_ key: String, in range: ClosedRange<Int64>, required: Bool = true) -> Int64? {
        guard let v = value(key, required: required) else { return nil }
        guard case .number(let text) = v else {
            sink.error(childPath(key), "expected a whole number, found \(v.typeName)")
            return nil
        }
        guard let n = Int64(text) else {
            let digits = text.utf8.filter { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }.count
            let why: String
            if text.contains(where: { $0 == "e" || $0 == "E" }) {
                why = "found \(Self.excerpt(text)), a number with an exponent; write it as plain digits such as \(range.lowerBound)"
            } else if text.contains(".") {
                why = "found a fraction, \(Self.excerpt(text))"
            } else {
                why = "found a \(digits)-digit number, outside \(range.lowerBound)...\(range.upperBound)"
            }
            sink.error(childPath(key), "expected a whole number, \(why)")
            return nil
        }
        guard range.contains(n) else {
            sink.error(childPath(key), "\(n) is outside \(range.lowerBound)...\(range.upperBound)")
            return nil
        }
        return n
    }

    /// A non-negative JSON number for a non-money quantity (a score, a latency); at most 6 decimals.
    func quantity(_ key: String, required: Bool = true) -> Double? {
        guard let v = value(key, required: required) else { return nil }
        guard case .number(let text) = v, case .success(let micros) = FixedDecimal.parse(text, scale: 6) else {
            sink.error(childPath(key), "expected a plain number such as 15 or 2.5, found \(v.typeName)")
            return nil
        }
        guard micros >= 0 else {
            sink.error(childPath(key), "must not be negative")
            return nil
        }
        // A million (seconds, or seconds per second) is beyond any real figure and keeps every
        // latency estimate for a day-long job well inside Int64 when shown in whole seconds.
        guard micros <= 1_000_000 * 1_000_000 else {
            sink.error(childPath(key), "\(text) is larger than the most accepted here, 1000000; check the value")
            return nil
        }
        return Double(micros) / 1_000_000
    }

    /// An exact decimal written as a JSON string ("0.04"), as a count of 10^-scale units.
    /// A JSON number is refused: it reads as a binary float in most tools and may not be exact.
    func decimal(_ key: String, scale: Int, required: Bool = true, allowNegative: Bool = false, maximum: Int64? = nil) -> Int64? {
        guard let v = value(key, required: required) else { return nil }
        return sink.decimal(v, path: childPath(key), scale: scale, allowNegative: allowNegative, maximum: maximum)
    }

    /// An object of string values, such as a job's `tags`; empty when absent.
    func stringMap(_ key: String) -> [String: String] {
        guard let v = value(key, required: false) else { return [:] }
        guard case .object(let members) = v else {
            sink.error(childPath(key), "expected an object of string values such as {\"customer\": \"film\"}, found \(v.typeName)")
            return [:]
        }
        var map: [String: String] = [:]
        for m in members {
            let path = "\(childPath(key)).\(ObjectReader.excerpt(m.key))"
            if let problem = Job.tagKeyProblem(m.key) { sink.error(path, problem); continue }
            if let s = m.value.stringValue { map[m.key] = s } else { sink.error(path, "expected a string, found \(m.value.typeName)") }
        }
        return map
    }

    func object(_ key: String, required: Bool = true) -> ObjectReader? {
        guard let v = value(key, required: required) else { return nil }
        if case .null = v, !required { return nil }
        return ObjectReader(v, path: childPath(key), sink: sink)
    }

    /// The items of an array with each one's path (`$.offers[3]`).
    func array(_ key: String, required: Bool = true) -> [(value: JSONValue, path: String)]? {
        guard let v = value(key, required: required) else { return nil }
        guard case .array(let items) = v else {
            sink.error(childPath(key), "expected an array, found \(v.typeName)")
            return nil
        }
        return items.enumerated().map { ($0.element, "\(childPath(key))[\($0.offset)]") }
    }

    /// A value quoted in a message: at most 40 characters, so a hostile file cannot flood the output.
    static func excerpt(_ text: String) -> String {
        text.count <= 40 ? text : String(text.prefix(37)) + "..."
    }

    /// Reports every key that no accessor asked for.
    /// Suggestions are worked out for the first ``suggestedKeys`` unknown keys only: a hostile
    /// file with 50,000 of them is reported in linear time (and people read the first few).
    func finish() {
        let known = read.sorted()
        var unknown = 0
        for m in members where !read.contains(m.key) {
            unknown += 1
            let shown = Self.excerpt(m.key)
            var message = "unknown key \"\(shown)\""
            if unknown <= Self.suggestedKeys, m.key.utf8.count <= 64, let guess = Spelling.closest(to: m.key, among: known) {
                message += "; did you mean \"\(guess)\"?"
            }
            sink.error(childPath(shown), message)
        }
    }

    /// Unknown keys per object that get a "did you mean".
    static let suggestedKeys = 100
}

/// "Did you mean" suggestions for misspelt keys, options and names.
public enum Spelling {
    /// The candidate within edit distance 2 of `word` (the nearest; ties by sort order), or nil.
    public static func closest(to word: String, among candidates: [String]) -> String? {
        var best: (String, Int)?
        for c in candidates.sorted() {
            let d = editDistance(Array(word.utf8), Array(c.utf8))
            if d <= 2, d < (best?.1 ?? Int.max) { best = (c, d) }
        }
        return best?.0
    }

    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        if a.isEmpty || b.isEmpty { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
