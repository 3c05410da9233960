/// A parsed JSON document that keeps what Foundation's JSONSerialization loses: the exact text of
/// every number (so a price is never rounded through a Double), the order of object members, and
/// duplicate keys (reported as errors, since a duplicated key silently overrides the first).
///
/// Use it to read configuration, provider responses and ledger lines; use ``JSONWriter`` to emit.
public enum JSONValue: Sendable, Equatable {
    /// `null`.
    case null
    /// `true` or `false`.
    case bool(Bool)
    /// A number, as the literal text that appeared in the document (for example `0.04` or `1e3`).
    case number(String)
    /// A string, with its escapes decoded.
    case string(String)
    /// An array, in document order.
    case array([JSONValue])
    /// An object's members in document order, duplicates kept.
    case object([JSONMember])

    /// The member named `key` of an object, or nil.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first(where: { $0.key == key })?.value
    }

    /// The string payload, or nil when this is not a string.
    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    /// A plain word for the JSON type, for messages such as "expected a string, found a number".
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

extension JSONValue {
    /// A string, or null.
    public static func optional(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
}

/// One `"key": value` member of a JSON object, in document order.
public struct JSONMember: Sendable, Equatable {
    /// The member's name, unescaped.
    public var key: String
    /// The member's value.
    public var value: JSONValue
    /// Creates a member.
    public init(_ key: String, _ value: JSONValue) {
        self.key = key
        self.value = value
    }
}

/// Why a document is not JSON, with the 1-based line and column where reading stopped.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, as a plain sentence.
    public var message: String
    /// The 1-based line where reading stopped.
    public var line: Int
    /// The 1-based column where reading stopped, counted in Unicode scalars.
    public var column: Int
    /// `line L, column C: message`.
    public var description: String { "line \(line), column \(column): \(message)" }
}

/// A strict RFC 8259 parser with bounded nesting, for untrusted bytes.
public enum JSONParser {
    /// Nesting deeper than this is refused rather than risking the stack.
    public static let maximumDepth = 256

    /// Parses one JSON document from UTF-8 text.
    public static func parse(_ text: String) throws(JSONParseError) -> JSONValue {
        var bytes = Array(text.utf8)
        return try parse(bytes: &bytes)
    }

    /// Parses one JSON document from UTF-8 bytes.
    public static func parse(bytes input: [UInt8]) throws(JSONParseError) -> JSONValue {
        var bytes = input
        return try parse(bytes: &bytes)
    }

    private static func parse(bytes: inout [UInt8]) throws(JSONParseError) -> JSONValue {
        // Swift arrays are copy-on-write; taking `inout` avoids a second copy of the input.
        var reader = Reader(bytes: bytes)
        reader.skipWhitespace()
        let value = try reader.readValue(depth: 0)
        reader.skipWhitespace()
        if reader.index < reader.bytes.count {
            throw reader.error("unexpected text after the end of the document")
        }
        return value
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        func error(_ message: String) -> JSONParseError {
            var line = 1
            var column = 1
            for b in bytes[..<min(index, bytes.count)] {
                if b == UInt8(ascii: "\n") { line += 1; column = 1 } else if b & 0xC0 != 0x80 { column += 1 }
            }
            return JSONParseError(message: message, line: line, column: column)
        }

        mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func readValue(depth: Int) throws(JSONParseError) -> JSONValue {
            guard depth < JSONParser.maximumDepth else { throw error("nesting is deeper than \(JSONParser.maximumDepth) levels") }
            guard index < bytes.count else { throw error("the document ends where a value was expected") }
            switch bytes[index] {
            case UInt8(ascii: "{"): return try readObject(depth: depth)
            case UInt8(ascii: "["): return try readArray(depth: depth)
            case UInt8(ascii: "\""): return .string(try readString())
            case UInt8(ascii: "t"): try expectWord("true"); return .bool(true)
            case UInt8(ascii: "f"): try expectWord("false"); return .bool(false)
            case UInt8(ascii: "n"): try expectWord("null"); return .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try readNumber())
            default: throw error("unexpected character where a value was expected")
            }
        }

        mutating func expectWord(_ word: String) throws(JSONParseError) {
            for b in word.utf8 {
                guard index < bytes.count, bytes[index] == b else {
                    throw error("unexpected character where a value was expected")
                }
                index += 1
            }
        }

        mutating func readObject(depth: Int) throws(JSONParseError) -> JSONValue {
            index += 1
            var members: [JSONMember] = []
            var seen = Set<String>()
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
            while true {
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("expected a quoted key") }
                let keyStart = index
                let key = try readString()
                if !seen.insert(key).inserted {
                    index = keyStart
                    throw error("the key \"\(key)\" appears twice in one object")
                }
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("expected ':' after a key") }
                index += 1
                skipWhitespace()
                members.append(JSONMember(key, try readValue(depth: depth + 1)))
                skipWhitespace()
                guard index < bytes.count else { throw error("the document ends inside an object") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                throw error("expected ',' or '}' in an object")
            }
        }

        mutating func readArray(depth: Int) throws(JSONParseError) -> JSONValue {
            index += 1
            var items: [JSONValue] = []
            skipWhitespace()
            if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
            while true {
                skipWhitespace()
                items.append(try readValue(depth: depth + 1))
                skipWhitespace()
                guard index < bytes.count else { throw error("the document ends inside an array") }
                if bytes[index] == UInt8(ascii: ",") { index += 1; continue }
                if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(items) }
                throw error("expected ',' or ']' in an array")
            }
        }

        mutating func readNumber() throws(JSONParseError) -> String {
            let start = index
            if bytes[index] == UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, isDigit(bytes[index]) else { throw error("a number needs digits") }
            if bytes[index] == UInt8(ascii: "0") {
                index += 1
                if index < bytes.count, isDigit(bytes[index]) { throw error("a number may not have leading zeros") }
            } else {
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
                index += 1
                guard index < bytes.count, isDigit(bytes[index]) else { throw error("a number needs digits after '.'") }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") { index += 1 }
                guard index < bytes.count, isDigit(bytes[index]) else { throw error("a number needs digits in its exponent") }
                while index < bytes.count, isDigit(bytes[index]) { index += 1 }
            }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

        mutating func readString() throws(JSONParseError) -> String {
            index += 1
            var out: [UInt8] = []
            while true {
                guard index < bytes.count else { throw error("the document ends inside a string") }
                let b = bytes[index]
                switch b {
                case UInt8(ascii: "\""):
                    index += 1
                    guard let s = String(validating: out, as: UTF8.self) else { throw error("a string is not valid UTF-8") }
                    return s
                case UInt8(ascii: "\\"):
                    index += 1
                    guard index < bytes.count else { throw error("the document ends inside a string") }
                    let e = bytes[index]
                    index += 1
                    switch e {
                    case UInt8(ascii: "\""): out.append(0x22)
                    case UInt8(ascii: "\\"): out.append(0x5C)
                    case UInt8(ascii: "/"): out.append(0x2F)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        var scalar = try readHex4()
                        if (0xD800...0xDBFF).contains(scalar) {
                            guard index + 1 < bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u") else {
                                throw error("a \\u escape holds an unpaired surrogate")
                            }
                            index += 2
                            let low = try readHex4()
                            guard (0xDC00...0xDFFF).contains(low) else { throw error("a \\u escape holds an unpaired surrogate") }
                            scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                        } else if (0xDC00...0xDFFF).contains(scalar) {
                            throw error("a \\u escape holds an unpaired surrogate")
                        }
                        guard let u = Unicode.Scalar(scalar) else { throw error("a \\u escape is not a character") }
                        out.append(contentsOf: Array(String(Character(u)).utf8))
                    default:
                        index -= 1
                        throw error("unknown escape in a string")
                    }
                default:
                    if b < 0x20 { throw error("a control character must be escaped inside a string") }
                    out.append(b)
                    index += 1
                }
            }
        }

        mutating func readHex4() throws(JSONParseError) -> UInt32 {
            guard index + 4 <= bytes.count else { throw error("a \\u escape needs four hex digits") }
            var v: UInt32 = 0
            for _ in 0..<4 {
                let b = bytes[index]
                let d: UInt32
                switch b {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(b - UInt8(ascii: "0"))
                case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(b - UInt8(ascii: "a") + 10)
                case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(b - UInt8(ascii: "A") + 10)
                default: throw error("a \\u escape needs four hex digits")
                }
                v = v << 4 | d
                index += 1
            }
            return v
        }
    }
}

/// Serialises ``JSONValue`` with members in the order given, so output schemas stay stable.
public enum JSONWriter {
    /// Compact single-line JSON (for JSON Lines and machine output).
    public static func compact(_ value: JSONValue) -> String {
        var out = ""
        write(value, into: &out, indent: nil, level: 0)
        return out
    }

    /// Two-space indented JSON, ending without a newline.
    public static func pretty(_ value: JSONValue) -> String {
        var out = ""
        write(value, into: &out, indent: "  ", level: 0)
        return out
    }

    /// Two-space indented JSON of a value nested `level` deep in another (its inner lines indented
    /// to match), ending without a newline: a large document written in pieces.
    static func pretty(_ value: JSONValue, level: Int) -> String {
        var out = ""
        write(value, into: &out, indent: "  ", level: level)
        return out
    }

    private static func write(_ value: JSONValue, into out: inout String, indent: String?, level: Int) {
        switch value {
        case .null: out += "null"
        case .bool(let b): out += b ? "true" : "false"
        case .number(let n): out += n
        case .string(let s): writeString(s, into: &out)
        case .array(let items):
            if items.isEmpty { out += "[]"; return }
            out += "["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                newline(&out, indent, level + 1)
                write(item, into: &out, indent: indent, level: level + 1)
            }
            newline(&out, indent, level)
            out += "]"
        case .object(let members):
            if members.isEmpty { out += "{}"; return }
            out += "{"
            for (i, member) in members.enumerated() {
                if i > 0 { out += "," }
                newline(&out, indent, level + 1)
                writeString(member.key, into: &out)
                out += indent == nil ? ":" : ": "
                write(member.value, into: &out, indent: indent, level: level + 1)
            }
            newline(&out, indent, level)
            out += "}"
        }
    }

    private static func newline(_ out: inout String, _ indent: String?, _ level: Int) {
        guard let indent else { return }
        out += "\n"
        for _ in 0..<level { out += indent }
    }

    private static func writeString(_ s: String, into out: inout String) {
        out += "\""
        if isPlain(s) {
            out += s
            out += "\""
            return
        }
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                // Control characters (C0, DEL, C1) and bidirectional overrides are escaped, so a
                // value a provider or a file chose can never drive the terminal that shows the JSON.
                if TerminalText.mustEscape(u) {
                    let hex = String(u.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(u)
                }
            }
        }
        out += "\""
    }

    /// Whether `s` goes into a JSON string as it is: no quote, backslash, control character
    /// (C0, DEL, C1) or bidirectional override, read from its UTF-8 bytes. Most strings are, and
    /// a full listing writes millions.
    static func isPlain(_ s: String) -> Bool {
        s.utf8.withContiguousStorageIfAvailable { b -> Bool in
            let n = b.count
            var i = 0
            while i < n {
                let c = b[i]
                if c < 0x20 || c == 0x22 || c == 0x5C || c == 0x7F { return false }
                if c == 0xC2, i + 1 < n, b[i + 1] <= 0x9F { return false }
                if c == 0xE2, i + 2 < n {
                    let (c1, c2) = (b[i + 1], b[i + 2])
                    if (c1 == 0x80 && (0xAA...0xAE).contains(c2)) || (c1 == 0x81 && (0xA6...0xA9).contains(c2)) { return false }
                }
                i += 1
            }
            return true
        } ?? false
    }
}
