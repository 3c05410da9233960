/// Removes secrets from text: every occurrence of a secret and of any 8-byte piece of it
/// (ASCII letters compared without case), so a truncated, masked or partial echo of an API key
/// is caught as surely as a whole one.
///
/// Use it on anything that came from a party who saw a key (a provider's answer) before it is
/// cut, stored or shown: redact first, then truncate.
public struct SecretRedactor: Sendable {
    /// The shortest piece of a secret that is redacted on its own.
    public static let pieceLength = 8
    /// What a redacted run of text becomes.
    public static let replacement = "[redacted]"

    private let pieces: Set<UInt64>
    private let shortSecrets: [[UInt8]]

    /// A redactor for `secrets`; empty strings are ignored.
    public init(secrets: [String]) {
        var pieces = Set<UInt64>()
        var short: [[UInt8]] = []
        for secret in secrets where !secret.isEmpty {
            let bytes = Array(secret.utf8)
            if bytes.count < Self.pieceLength { short.append(bytes.map(Self.fold)); continue }
            for i in 0...(bytes.count - Self.pieceLength) { pieces.insert(Self.pack(bytes, i)) }
        }
        self.pieces = pieces
        self.shortSecrets = short
    }

    /// A redactor for one secret.
    public init(secret: String) { self.init(secrets: [secret]) }

    /// Whether there is nothing to redact.
    public var isEmpty: Bool { pieces.isEmpty && shortSecrets.isEmpty }

    /// `text` with every run that overlaps a secret or an 8-byte piece of one replaced by
    /// ``replacement``. Linear in the text's length.
    public func redact(_ text: String) -> String {
        if isEmpty { return text }
        let bytes = Array(text.utf8)
        var marked = [Bool](repeating: false, count: bytes.count)
        var any = false
        if !pieces.isEmpty, bytes.count >= Self.pieceLength {
            for i in 0...(bytes.count - Self.pieceLength) where pieces.contains(Self.pack(bytes, i)) {
                for j in i..<(i + Self.pieceLength) { marked[j] = true }
                any = true
            }
        }
        for secret in shortSecrets where bytes.count >= secret.count {
            for i in 0...(bytes.count - secret.count) where (0..<secret.count).allSatisfy({ Self.fold(bytes[i + $0]) == secret[$0] }) {
                for j in i..<(i + secret.count) { marked[j] = true }
                any = true
            }
        }
        guard any else { return text }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if marked[i] {
                out += Self.replacement.utf8
                while i < bytes.count, marked[i] { i += 1 }
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Every string (and member name) inside a JSON value, redacted: decoding `\u` escapes
    /// first means an escaped echo of a key is caught too.
    public func redact(_ value: JSONValue) -> JSONValue {
        if isEmpty { return value }
        switch value {
        case .string(let s): return .string(redact(s))
        case .number(let n): return .number(redact(n) == n ? n : "0")
        case .array(let items): return .array(items.map(redact))
        case .object(let members): return .object(members.map { JSONMember(redact($0.key), redact($0.value)) })
        default: return value
        }
    }

    @inline(__always)
    private static func fold(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b | 0x20 : b }

    @inline(__always)
    private static func pack(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        var v: UInt64 = 0
        for k in 0..<pieceLength { v = v << 8 | UInt64(fold(bytes[at + k])) }
        return v
    }
}
