/// The kinds of versioned JSON document wanroute reads; each one names its kind and the version of
/// its schema in its first keys: `{"kind": "pricing", "version": 1, ...}`.
///
/// A new kind of document (the ledger's records) is one more case here, with its own version.
public enum DocumentKind: String, Sendable, CaseIterable {
    /// A provider's prices, billing rule and limits (`pricing/*.json`).
    case pricing
    /// The rates that convert other currencies to US dollars (`pricing/exchange-rates.json`).
    case exchangeRates = "exchange-rates"
    /// A routing policy (`policies/*.json`).
    case policy
    /// A policy's test cases (`policies/*.tests.json`).
    case policyTests = "policy-tests"
    /// Negotiated prices laid over the pricing tables (`--contract FILE|DIR`).
    case contractPrices = "contract-prices"

    /// The version of this kind's schema that this build reads.
    public var currentVersion: Int64 { 1 }

    /// The kinds people write by hand and `wanroute validate` checks.
    public static let dataFiles: [DocumentKind] = [.pricing, .exchangeRates, .policy, .policyTests, .contractPrices]

    /// How messages name a document of this kind.
    var noun: String {
        switch self {
        case .pricing: return "pricing file"
        case .exchangeRates: return "exchange-rates file"
        case .policy: return "policy"
        case .policyTests: return "policy-tests file"
        case .contractPrices: return "contract-prices file"
        }
    }

    /// The kind `file` declares, or nil when it is not a JSON object whose `kind` is a known kind.
    public init?(of file: SourceFile) {
        guard let root = try? JSONParser.parse(file.text), case .string(let k)? = root["kind"] else { return nil }
        self.init(rawValue: k)
    }
}

/// What a versioned document says it is: its kind and the version of that kind's schema.
public struct DocumentHeader: Sendable, Equatable {
    /// What the document is.
    public var kind: DocumentKind
    /// The version of the kind's schema the document follows.
    public var version: Int64

    /// Creates a header.
    public init(kind: DocumentKind, version: Int64) {
        self.kind = kind
        self.version = version
    }

    /// Reads `kind` and `version` from a document's top level, already known to be of `kind`;
    /// reports a version this build does not read. Nil when the version is missing or unreadable.
    @discardableResult
    static func read(_ r: ObjectReader, as kind: DocumentKind) -> DocumentHeader? {
        _ = r.string("kind")
        guard let v = r.integer("version", in: 1...1_000) else { return nil }
        if v != kind.currentVersion {
            r.sink.error("$.version", "version \(v) is not supported by this wanroute (it reads version \(kind.currentVersion)); upgrade wanroute or rewrite the file")
        }
        return DocumentHeader(kind: kind, version: v)
    }
}

/// A source file parsed as JSON, with the kind it declares (as written: it may be one no reader knows).
struct ParsedDocument {
    var root: JSONValue
    var kind: String

    /// Parses `file` and reads its declared kind; nil, with diagnostics in `sink`, when the text is
    /// not JSON, not an object, or has no string `kind`.
    static func parse(_ file: SourceFile, sink: DiagnosticSink) -> ParsedDocument? {
        guard let root = sink.parseJSON(file.text) else { return nil }
        guard case .object = root else {
            sink.error("$", "expected a JSON object at the top level, found \(root.typeName)")
            return nil
        }
        guard let kind = root["kind"] else {
            let kinds = DocumentKind.dataFiles.map { "\"\($0.rawValue)\"" }
            sink.error("$", "missing the required key \"kind\" (\(kinds.dropLast().joined(separator: ", ")) or \(kinds.last!))")
            return nil
        }
        guard case .string(let s) = kind else {
            sink.error("$.kind", "expected a string, found \(kind.typeName)")
            return nil
        }
        return ParsedDocument(root: root, kind: s)
    }

    /// Parses `file`, which must be of `kind`; nil, with diagnostics in `sink`, otherwise.
    static func parse(_ file: SourceFile, as kind: DocumentKind, sink: DiagnosticSink) -> JSONValue? {
        guard let document = parse(file, sink: sink) else { return nil }
        guard document.kind == kind.rawValue else {
            sink.error("$.kind", "\"\(document.kind)\" is not a \(kind.noun); a \(kind.noun) says \"kind\": \"\(kind.rawValue)\"")
            return nil
        }
        return document.root
    }
}
