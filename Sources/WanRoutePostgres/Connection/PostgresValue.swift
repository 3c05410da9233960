/// A query parameter. Parameters travel apart from the SQL text (Bind, not string splicing), so no
/// value can change what a statement does.
public enum PostgresValue: Sendable, Equatable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByNilLiteral
{
    /// SQL NULL.
    case null
    /// Text, sent with type `unknown` so the server reads it as the column's type (text, jsonb, timestamptz, numeric, ...).
    case text(String)
    /// An integer, read by the server as the type the statement needs (int2, int4, int8, numeric).
    case int(Int64)
    /// A boolean.
    case bool(Bool)
    /// A double; not for money, which travels as decimal text.
    case double(Double)
    /// Bytes (`bytea`).
    case bytes([UInt8])

    /// `"text"` as a parameter.
    public init(stringLiteral value: String) { self = .text(value) }
    /// `42` as a parameter.
    public init(integerLiteral value: Int64) { self = .int(value) }
    /// `true` as a parameter.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// `nil` as a parameter.
    public init(nilLiteral: ()) { self = .null }

    /// The type OID announced in Parse. 0 lets the server infer the type from the statement, as it
    /// does for a quoted literal, so `pg_terminate_backend($1)` (int4) and `WHERE id = $1` (int8) both
    /// take `.int`; cast in SQL (`$1::int8`) where nothing fixes the type. Bytes are announced as
    /// bytea, so their hex text form can never land in a text column by inference.
    var typeOID: UInt32 {
        switch self {
        case .bytes: return 17
        case .null, .text, .int, .bool, .double: return 0
        }
    }

    /// The text-format bytes, or nil for NULL.
    func encoded(index: Int) throws(PostgresError) -> [UInt8]? {
        switch self {
        case .null: return nil
        case .text(let text):
            guard !text.utf8.contains(0) else { throw .invalidParameter(index: index, reason: "PostgreSQL text cannot contain a NUL character; send bytes instead") }
            return Array(text.utf8)
        case .int(let value): return Array(String(value).utf8)
        case .bool(let value): return Array((value ? "t" : "f").utf8)
        case .double(let value):
            if value.isNaN { return Array("NaN".utf8) }
            if value.isInfinite { return Array((value < 0 ? "-Infinity" : "Infinity").utf8) }
            return Array("\(value)".utf8)
        case .bytes(let bytes):
            let digits = Array("0123456789abcdef".utf8)
            var out: [UInt8] = [UInt8(ascii: "\\"), UInt8(ascii: "x")]
            out.reserveCapacity(2 + bytes.count * 2)
            for byte in bytes {
                out.append(digits[Int(byte >> 4)])
                out.append(digits[Int(byte & 15)])
            }
            return out
        }
    }
}

/// A result column as RowDescription describes it.
public struct PostgresColumn: Sendable, Equatable {
    /// The column's name (or alias).
    public var name: String
    /// The type's OID, such as 23 for int4, 25 for text.
    public var typeOID: UInt32
}

/// A type that can be read from a column's text form.
public protocol PostgresDecodable {
    /// Reads the value from its text form; nil when the text is not a valid value of this type.
    init?(postgresText: [UInt8], typeOID: UInt32)
    /// Called for SQL NULL; nil when this type cannot represent it (only Optional can).
    static var postgresNull: Self? { get }
}

extension PostgresDecodable {
    /// By default a type cannot hold NULL.
    public static var postgresNull: Self? { nil }
}

extension String: PostgresDecodable {
    /// Any column, as the server wrote it (must be UTF-8).
    public init?(postgresText: [UInt8], typeOID: UInt32) {
        guard let text = String(validating: postgresText, as: UTF8.self) else { return nil }
        self = text
    }
}

extension Int64: PostgresDecodable {
    /// int2, int4, int8 (and any column whose text is a whole number in range).
    public init?(postgresText: [UInt8], typeOID: UInt32) {
        guard let text = String(validating: postgresText, as: UTF8.self), let value = Int64(text) else { return nil }
        self = value
    }
}

extension Int: PostgresDecodable {
    /// As Int64.
    public init?(postgresText: [UInt8], typeOID: UInt32) {
        guard let value = Int64(postgresText: postgresText, typeOID: typeOID) else { return nil }
        self = Int(value)
    }
}

extension Int32: PostgresDecodable {
    /// As Int64, refused when out of range.
    public init?(postgresText: [UInt8], typeOID: UInt32) {
        guard let value = Int64(postgresText: postgresText, typeOID: typeOID), let narrow = Int32(exactly: value) else { return nil }
        self = narrow
    }
}

extension Bool: PostgresDecodable {
    /// `t` or `f`, as boolean columns print.
    public init?(postgresText: [UInt8], typeOID: UInt32) {
        switch postgresText {
        case [UInt8(ascii: "t")]: self = true
        case [UInt8(ascii: "f")]: self = false
        default: return nil
        }
    }
}

extension Double: PostgresDecodable {
    /// float4, float8 (including NaN and ±Infinity).
    public init?(postgresText: [UInt8], typeOID: UInt32) {
        guard let text = String(validating: postgresText, as: UTF8.self) else { return nil }
        switch text {
        case "NaN": self = .nan
        case "Infinity": self = .infinity
        case "-Infinity": self = -.infinity
        default:
            guard let value = Double(text) else { return nil }
            self = value
        }
    }
}

extension Array: PostgresDecodable where Element == UInt8 {
    /// bytea in hex output form (`\x...`, PostgreSQL's default since 9.0).
    public init?(postgresText: [UInt8], typeOID: UInt32) {
        guard postgresText.count >= 2, postgresText.count % 2 == 0,
              postgresText[0] == UInt8(ascii: "\\"), postgresText[1] == UInt8(ascii: "x")
        else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(postgresText.count / 2 - 1)
        var index = 2
        while index < postgresText.count {
            guard let high = hexDigit(postgresText[index]), let low = hexDigit(postgresText[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        self = out
    }
}

private func hexDigit(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
}

extension Optional: PostgresDecodable where Wrapped: PostgresDecodable {
    /// The wrapped type's reading; NULL becomes nil.
    public init?(postgresText: [UInt8], typeOID: UInt32) {
        guard let value = Wrapped(postgresText: postgresText, typeOID: typeOID) else { return nil }
        self = .some(value)
    }

    /// NULL is nil.
    public static var postgresNull: Self? { .some(.none) }
}

/// One result row: text-format values, read by column name or position as a typed value.
public struct PostgresRow: Sendable {
    /// The result's columns.
    public let columns: [PostgresColumn]
    /// The raw text of each column, nil for NULL.
    public let values: [[UInt8]?]

    /// Reads column `index` as `T`; NULL is an error unless `T` is Optional.
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, at index: Int) throws(PostgresError) -> T {
        guard index >= 0, index < values.count else { throw .decoding(column: "#\(index)", reason: "the result has \(values.count) columns") }
        let column = columns[index]
        guard let text = values[index] else {
            guard let null = T.postgresNull else { throw .decoding(column: column.name, reason: "is NULL; read it as an Optional") }
            return null
        }
        guard let value = T(postgresText: text, typeOID: column.typeOID) else {
            throw .decoding(column: column.name, reason: "'\(String(decoding: text.prefix(40), as: UTF8.self))' is not a valid \(T.self)")
        }
        return value
    }

    /// Reads the column named `name` as `T`.
    public func decode<T: PostgresDecodable>(_ type: T.Type = T.self, _ name: String) throws(PostgresError) -> T {
        guard let index = columns.firstIndex(where: { $0.name == name }) else {
            throw .decoding(column: name, reason: "no such column (have: \(columns.map(\.name).joined(separator: ", ")))")
        }
        return try decode(type, at: index)
    }
}

/// What one statement returned.
public struct PostgresQueryResult: Sendable {
    /// The result's columns (empty for statements that return no rows).
    public var columns: [PostgresColumn]
    /// The rows, in the order the server sent them.
    public var rows: [PostgresRow]
    /// The command tag, such as `INSERT 0 1` or `SELECT 3`.
    public var commandTag: String

    /// The count at the end of the command tag (rows inserted, updated, deleted or selected), when there is one.
    public var affectedRows: Int? {
        commandTag.split(separator: " ").last.flatMap { Int($0) }
    }
}
