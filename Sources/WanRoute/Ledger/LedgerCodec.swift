import Foundation

/// Why one ledger line could not be read.
public enum LedgerLineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The line does not end in `,"crc":"…"}` or its checksum does not match its bytes.
    case badChecksum
    /// The line's schema version is one this wanroute does not know.
    case unsupportedVersion(String)
    /// The line is not a ledger record: what was wrong.
    case malformed(String)

    /// A phrase for messages.
    public var description: String {
        switch self {
        case .badChecksum: return "its checksum does not match (the line was cut short or changed)"
        case .unsupportedVersion(let v): return "it has schema version \(v), which this wanroute does not read; upgrade wanroute"
        case .malformed(let why): return "it is not a ledger record: \(why)"
        }
    }
}

/// The ledger's line format: one JSON object per line, keys in a fixed order, a CRC-32C of the line
/// before its `,"crc"` member written last. Written and read by purpose-built code (not
/// `JSONEncoder`/`JSONDecoder`), because reports read a month of millions of lines.
///
/// ```
/// {"v":1,"seq":7,"at":"2026-12-02T01:59:27.123Z","ev":"accepted","job":"j1","provider":"apixo","task":"t-9","crc":"5f3c2a10"}
/// ```
public enum LedgerCodec {
    /// The bytes of `,"crc":"` plus 8 hex digits plus `}`.
    static let trailerLength = 18

    // MARK: writing

    /// Appends the record's line, newline included, to `out`.
    public static func encode(_ record: LedgerRecord, into out: inout [UInt8]) {
        let start = out.count
        let e = record.event
        out.append(contentsOf: #"{"v":"#.utf8)
        appendInt(Int64(ledgerSchemaVersion), &out)
        out.append(contentsOf: #","seq":"#.utf8)
        appendInt(record.sequence, &out)
        out.append(contentsOf: #","at":""#.utf8)
        e.time.write(into: &out)
        out.append(contentsOf: #"","ev":""#.utf8)
        out.append(contentsOf: e.type.rawValue.utf8)
        out.append(UInt8(ascii: "\""))
        field("job", e.jobID, &out)
        if let r = e.runID { field("run", r, &out) }
        if let p = e.provider { field("provider", p.rawValue, &out) }
        if let t = e.taskID { field("task", t, &out) }
        switch e.body {
        case .decided(let d):
            field("behavior", d.behavior.rawValue, &out)
            field("duration", d.duration.decimalString, &out)
            if let r = d.requiredResolution { field("required_resolution", r.rawValue, &out) }
            if let m = d.requiredMode { field("required_mode", m.rawValue, &out) }
            if !d.tags.isEmpty {
                out.append(contentsOf: #","tags":{"#.utf8)
                for (i, (k, v)) in d.tags.sorted(by: { $0.key < $1.key }).enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    string(k, &out)
                    out.append(UInt8(ascii: ":"))
                    string(v, &out)
                }
                out.append(UInt8(ascii: "}"))
            }
            field("policy", d.policy, &out)
            if let x = d.policyDigest { field("policy_digest", x, &out) }
            if let x = d.pricingDigest { field("pricing_digest", x, &out) }
            if let m = d.mode { field("mode", m.rawValue, &out) }
            if let r = d.resolution { field("resolution", r.rawValue, &out) }
            money("estimate", d.estimate, &out)
            // The USD figure is written only where it says something the estimate does not.
            if let u = d.estimateUSD, u != d.estimate { field("estimate_usd", u.decimalString, &out) }
            if !d.alternates.isEmpty {
                out.append(contentsOf: #","alternates":["#.utf8)
                for (i, a) in d.alternates.enumerated() {
                    out.append(contentsOf: (i > 0 ? #",{"provider":"# : #"{"provider":"#).utf8)
                    string(a.provider.rawValue, &out)
                    field("mode", a.mode.rawValue, &out)
                    field("resolution", a.resolution.rawValue, &out)
                    money("estimate", a.estimate, &out)
                    out.append(UInt8(ascii: "}"))
                }
                out.append(UInt8(ascii: "]"))
            }
            if let r = d.refusal { field("refusal", r, &out) }
            if let b = d.reservation {
                // The keys a decision's reservation counts under are implied when they are the usual
                // ones (total, its provider, each of its tags): a million jobs a month, 60 bytes each.
                if let p = e.provider, b.budgets == BudgetKey.keys(provider: p, tags: d.tags) {
                    field("reserve_usd", b.amount.decimalString, &out)
                } else {
                    budget("reserve_usd", b, &out)
                }
            }
        case .reserved(let b):
            budget("usd", b, &out)
        case .settled(let m):
            field("usd", m.decimalString, &out)
        case .submitIntent(let mode, let resolution, let attempt):
            field("mode", mode.rawValue, &out)
            field("resolution", resolution.rawValue, &out)
            out.append(contentsOf: #","attempt":"#.utf8)
            appendInt(Int64(attempt), &out)
        case .accepted:
            break
        case .state(let s):
            field("state", s.rawValue, &out)
        case .succeeded(let s):
            if let u = s.resultURL { field("result_url", u, &out) }
            if let b = s.billedSeconds { field("billed_seconds", b.decimalString, &out) }
            if let c = s.billedCredits { field("billed_credits", c, &out) }
            money("cost", s.cost, &out)
            if let c = s.costSource { field("cost_source", c.rawValue, &out) }
            if let m = s.settlement { field("settle_usd", m.decimalString, &out) }
        case .failed(let f):
            field("class", f.failure.rawValue, &out)
            money("cost", f.cost, &out)
            if let c = f.costSource { field("cost_source", c.rawValue, &out) }
            out.append(contentsOf: (f.final ? #","final":true"# : #","final":false"#).utf8)
            if let d = f.detail { field("detail", d, &out) }
            if let m = f.settlement { field("settle_usd", m.decimalString, &out) }
        case .outcomeUnknown(let d), .unfinished(let d), .needsAttention(let d):
            field("detail", d, &out)
        case .released(let d):
            if let d { field("detail", d, &out) }
        case .note(let text):
            field("text", text, &out)
        }
        let crc = out.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        out.append(contentsOf: #","crc":""#.utf8)
        appendHex(crc, &out)
        out.append(contentsOf: "\"}\n".utf8)
    }

    /// The record's line, newline included.
    public static func encode(_ record: LedgerRecord) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        encode(record, into: &out)
        return out
    }

    @inline(__always)
    static func field(_ key: StaticString, _ value: String, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: ","))
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        out.append(contentsOf: "\":".utf8)
        string(value, &out)
    }

    /// `,"key":"1.50","currency":"USD"`; nothing at all for an unknown amount.
    static func money(_ key: StaticString, _ value: Money?, _ out: inout [UInt8]) {
        guard let value else { return }
        field(key, value.decimalString, &out)
        field("currency", value.currency.code, &out)
    }

    /// `,"key":"1.50","budgets":["total",…]`: a USD amount and the budget keys it counts under.
    static func budget(_ key: StaticString, _ b: LedgerBudgetAmount, _ out: inout [UInt8]) {
        field(key, b.amount.decimalString, &out)
        out.append(contentsOf: #","budgets":["#.utf8)
        for (i, k) in b.budgets.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            string(k.description, &out)
        }
        out.append(UInt8(ascii: "]"))
    }

    static let hexDigits = Array("0123456789abcdef".utf8)

    /// A JSON string: quotes, backslashes and control characters escaped; other UTF-8 as is.
    static func string(_ s: String, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        var text = s
        let plain = text.withUTF8 { u -> Bool in
            for b in u where b < 0x20 || b == UInt8(ascii: "\"") || b == UInt8(ascii: "\\") || b == 0x7F { return false }
            out.append(contentsOf: u)
            return true
        }
        if plain {
            out.append(UInt8(ascii: "\""))
            return
        }
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""): out.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): out.append(contentsOf: #"\\"#.utf8)
            case 0x0A: out.append(contentsOf: #"\n"#.utf8)
            case 0x0D: out.append(contentsOf: #"\r"#.utf8)
            case 0x09: out.append(contentsOf: #"\t"#.utf8)
            case 0..<0x20, 0x7F:
                out.append(contentsOf: #"\u00"#.utf8)
                out.append(hexDigits[Int(b >> 4)])
                out.append(hexDigits[Int(b & 15)])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func appendInt(_ v: Int64, _ out: inout [UInt8]) {
        if v < 0 { out.append(UInt8(ascii: "-")) }
        var m = v.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[n] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
                n += 1
            } while m > 0
            for i in stride(from: n - 1, through: 0, by: -1) { out.append(d[i]) }
        }
    }

    static func appendHex(_ v: UInt32, _ out: inout [UInt8]) {
        for shift in stride(from: 28, through: 0, by: -4) { out.append(hexDigits[Int((v >> UInt32(shift)) & 15)]) }
    }

    // MARK: reading

    /// Checks a line's checksum (without its newline) and returns its sequence number and event
    /// type without decoding the rest: the fast path for folds that need only a few kinds of event.
    public static func verify(_ line: UnsafeRawBufferPointer) -> Bool {
        let n = line.count
        guard n > trailerLength + 2, line[n - 1] == UInt8(ascii: "}"), line[n - 2] == UInt8(ascii: "\"") else { return false }
        let t = n - trailerLength
        let prefix: StaticString = #","crc":""#
        for i in 0..<8 where line[t + i] != prefix.utf8Start[i] { return false }
        var expected: UInt32 = 0
        for i in (t + 8)..<(t + 16) {
            let b = line[i]
            let v: UInt8
            switch b {
            case 0x30...0x39: v = b - 0x30
            case 0x61...0x66: v = b - 0x61 + 10
            default: return false
            }
            expected = expected << 4 | UInt32(v)
        }
        return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: line[..<t])) == expected
    }

    /// Decodes one line (without its newline), checksum first.
    public static func decode(_ line: UnsafeRawBufferPointer) throws(LedgerLineError) -> LedgerRecord {
        guard verify(line) else { throw .badChecksum }
        var p = LineParser(bytes: line, end: line.count - trailerLength)
        return try p.record()
    }

    /// Decodes one line given as bytes (without its newline).
    public static func decode(_ line: [UInt8]) throws(LedgerLineError) -> LedgerRecord {
        let result: Result<LedgerRecord, LedgerLineError> = line.withUnsafeBytes { b in
            do throws(LedgerLineError) { return .success(try decode(b)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// Reads the sequence number and event type of a verified line from its fixed-order envelope.
    static func envelope(_ line: UnsafeRawBufferPointer) -> (sequence: Int64, type: LedgerEventType)? {
        var p = LineParser(bytes: line, end: line.count - trailerLength)
        return try? p.envelope()
    }
}

/// A strict reader of the one JSON shape the codec writes (any key order is accepted; unknown keys
/// and duplicate keys are not). Bounded: it only moves forward through the line.
struct LineParser {
    let bytes: UnsafeRawBufferPointer
    let end: Int
    var i = 0

    init(bytes: UnsafeRawBufferPointer, end: Int) {
        self.bytes = bytes
        self.end = end
    }

    typealias Failure = LedgerLineError

    func fail(_ why: String) -> LedgerLineError { .malformed(why + " at byte \(i + 1)") }

    mutating func expect(_ b: UInt8) throws(Failure) {
        guard i < end, bytes[i] == b else { throw fail("expected '\(Character(Unicode.Scalar(b)))'") }
        i += 1
    }

    /// The raw bytes of a string without escapes, or nil when it has escapes (the caller decodes).
    mutating func rawString() throws(Failure) -> Range<Int> {
        try expect(UInt8(ascii: "\""))
        let start = i
        while i < end {
            let b = bytes[i]
            if b == UInt8(ascii: "\"") { i += 1; return start..<(i - 1) }
            if b == UInt8(ascii: "\\") { i += 2; continue }
            if b < 0x20 { throw fail("a control character inside a string") }
            i += 1
        }
        throw fail("an unterminated string")
    }

    mutating func string() throws(Failure) -> String {
        let r = try rawString()
        let slice = UnsafeRawBufferPointer(rebasing: bytes[r])
        var plainASCII = true
        for b in slice where b >= 0x80 || b == UInt8(ascii: "\\") { plainASCII = false; break }
        // The common case, ASCII without escapes, needs no validation (and no generic code).
        if plainASCII { return String(decoding: slice, as: UTF8.self) }
        if !slice.contains(UInt8(ascii: "\\")) {
            guard let s = String(validating: slice, as: UTF8.self) else { throw fail("a string that is not UTF-8") }
            return s
        }
        var out: [UInt8] = []
        out.reserveCapacity(slice.count)
        var j = 0
        while j < slice.count {
            let b = slice[j]
            if b != UInt8(ascii: "\\") { out.append(b); j += 1; continue }
            guard j + 1 < slice.count else { throw fail("a bad escape") }
            let e = slice[j + 1]
            j += 2
            switch e {
            case UInt8(ascii: "\""): out.append(e)
            case UInt8(ascii: "\\"): out.append(e)
            case UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "u"):
                guard j + 4 <= slice.count else { throw fail("a bad \\u escape") }
                var v: UInt32 = 0
                for k in j..<(j + 4) {
                    let h = slice[k]
                    let d: UInt32
                    switch h {
                    case 0x30...0x39: d = UInt32(h - 0x30)
                    case 0x61...0x66: d = UInt32(h - 0x61 + 10)
                    case 0x41...0x46: d = UInt32(h - 0x41 + 10)
                    default: throw fail("a bad \\u escape")
                    }
                    v = v << 4 | d
                }
                j += 4
                // The writer escapes only control characters; anything else (surrogates) is refused.
                guard v < 0xD800 || v > 0xDFFF, let scalar = Unicode.Scalar(v) else { throw fail("a \\u escape outside the BMP") }
                out.append(contentsOf: Array(String(Character(scalar)).utf8))
            default: throw fail("a bad escape")
            }
        }
        guard let s = String(validating: out, as: UTF8.self) else { throw fail("a string that is not UTF-8") }
        return s
    }

    mutating func integer() throws(Failure) -> Int64 {
        var negative = false
        if i < end, bytes[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        let start = i
        var v: Int64 = 0
        while i < end, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(Int64(bytes[i] - 0x30))
            if o1 || o2 { throw fail("a number too large") }
            v = s
            i += 1
        }
        if i == start || i - start > 19 { throw fail("expected a whole number") }
        return negative ? -v : v
    }

    mutating func bool() throws(Failure) -> Bool {
        if matches("true") { i += 4; return true }
        if matches("false") { i += 5; return false }
        throw fail("expected true or false")
    }

    func matches(_ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard i + n <= end else { return false }
        for k in 0..<n where bytes[i + k] != word.utf8Start[k] { return false }
        return true
    }

    func keyIs(_ r: Range<Int>, _ word: StaticString) -> Bool {
        let n = word.utf8CodeUnitCount
        guard r.count == n else { return false }
        for k in 0..<n where bytes[r.lowerBound + k] != word.utf8Start[k] { return false }
        return true
    }

    func text(_ r: Range<Int>) -> String { String(decoding: UnsafeRawBufferPointer(rebasing: bytes[r]), as: UTF8.self) }

    mutating func word<T: RawRepresentable & CaseIterable>(_ type: T.Type, _ what: String) throws(Failure) -> T where T.RawValue == String {
        let r = try rawString()
        // Compare bytes with each case's name: no String is made for the common, valid case.
        for c in T.allCases {
            var name = c.rawValue
            let same = name.withUTF8 { n in
                n.count == r.count && memcmp(n.baseAddress!, bytes.baseAddress! + r.lowerBound, n.count) == 0
            }
            if same { return c }
        }
        throw fail("\"\(text(r))\" is not a known \(what)")
    }

    mutating func decimal(scale: Int, _ what: String) throws(Failure) -> Int64 {
        let s = try string()
        guard case .success(let v) = FixedDecimal.parse(s, scale: scale) else { throw fail("\"\(s)\" is not a decimal \(what)") }
        // Bounded where read, so sums over a month's lines cannot overflow: amounts to 10^8 units
        // (a day at the highest price a table may hold is under 10^5), durations to a day.
        let most: Int64 = scale == Money.scale ? 100_000_000 * 1_000_000_000 : scale == Seconds.scale ? Seconds.longestJob.micros : .max
        guard v.magnitude <= most.magnitude else { throw fail("\"\(s)\" is larger than any \(what) wanroute writes") }
        return v
    }

    /// Reads `{"v":1,"seq":N,"at":"…","ev":"…"`, the fixed start of every line.
    mutating func envelope() throws(Failure) -> (sequence: Int64, type: LedgerEventType) {
        guard matches(#"{"v":"#) else { throw fail("a line must start with {\"v\":") }
        i += 5
        let vStart = i
        let version = try integer()
        guard version == Int64(ledgerSchemaVersion) else { throw .unsupportedVersion(text(vStart..<i)) }
        guard matches(#","seq":"#) else { throw fail("expected \"seq\" second") }
        i += 7
        let seq = try integer()
        guard matches(#","at":"#) else { throw fail("expected \"at\" third") }
        i += 6
        _ = try rawString()
        guard matches(#","ev":"#) else { throw fail("expected \"ev\" fourth") }
        i += 6
        let type = try word(LedgerEventType.self, "event type")
        return (seq, type)
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    mutating func record() throws(Failure) -> LedgerRecord {
        guard matches(#"{"v":"#) else { throw fail("a line must start with {\"v\":") }
        i += 5
        let vStart = i
        let version = try integer()
        guard version == Int64(ledgerSchemaVersion) else { throw .unsupportedVersion(text(vStart..<i)) }
        var seq: Int64?, at: LedgerTime?, type: LedgerEventType?, job: String?, run: String?, provider: ProviderID?, task: String?
        var behavior: Behavior?, duration: Int64?, reqRes: Resolution?, reqMode: Mode?, tags: [String: String]?
        var policy: String?, policyDigest: String?, pricingDigest: String?, mode: Mode?, resolution: Resolution?
        var estimate: Int64?, currency: Currency?, estimateUSD: Int64?, alternates: [LedgerAlternate]?, refusal: String?
        var amount: Int64?, reserveUSD: Int64?, settleUSD: Int64?, budgets: [BudgetKey]?, attempt: Int64?, state: TaskProgress?
        var resultURL: String?, billedSeconds: Int64?, billedCredits: String?, cost: Int64?, costSource: JobReport.CostSource?
        var failure: FailureClass?, final: Bool?, detail: String?, noteText: String?
        var seen: UInt64 = 0
        func once(_ id: Int) throws(Failure) {
            guard seen & (1 << UInt64(id)) == 0 else { throw fail("a key appears twice") }
            seen |= 1 << UInt64(id)
        }
        while i < end {
            try expect(UInt8(ascii: ","))
            let k = try rawString()
            try expect(UInt8(ascii: ":"))
            if keyIs(k, "seq") { try once(1); seq = try integer() }
            else if keyIs(k, "at") {
                try once(2)
                let r = try rawString()
                guard let t = LedgerTime.parse(UnsafeRawBufferPointer(rebasing: bytes[r])) else { throw fail("\"at\" is not a time such as 2026-12-02T01:59:27.123Z") }
                at = t
            }
            else if keyIs(k, "ev") { try once(3); type = try word(LedgerEventType.self, "event type") }
            else if keyIs(k, "job") { try once(4); job = try string() }
            else if keyIs(k, "run") { try once(5); run = try string() }
            else if keyIs(k, "provider") {
                try once(6)
                let s = try string()
                guard let p = ProviderID(s) else { throw fail("\"\(s)\" is not a provider id") }
                provider = p
            }
            else if keyIs(k, "task") { try once(7); task = try string() }
            else if keyIs(k, "behavior") { try once(8); behavior = try word(Behavior.self, "behavior") }
            else if keyIs(k, "duration") { try once(9); duration = try decimal(scale: Seconds.scale, "duration") }
            else if keyIs(k, "required_resolution") { try once(10); reqRes = try word(Resolution.self, "resolution") }
            else if keyIs(k, "required_mode") { try once(11); reqMode = try word(Mode.self, "mode") }
            else if keyIs(k, "tags") { try once(12); tags = try stringMap() }
            else if keyIs(k, "policy") { try once(13); policy = try string() }
            else if keyIs(k, "policy_digest") { try once(14); policyDigest = try string() }
            else if keyIs(k, "pricing_digest") { try once(15); pricingDigest = try string() }
            else if keyIs(k, "mode") { try once(16); mode = try word(Mode.self, "mode") }
            else if keyIs(k, "resolution") { try once(17); resolution = try word(Resolution.self, "resolution") }
            else if keyIs(k, "estimate") { try once(18); estimate = try decimal(scale: Money.scale, "amount") }
            else if keyIs(k, "currency") {
                try once(19)
                let s = try string()
                guard let c = Currency(code: s) else { throw fail("\"\(s)\" is not a known currency") }
                currency = c
            }
            else if keyIs(k, "estimate_usd") { try once(20); estimateUSD = try decimal(scale: Money.scale, "amount") }
            else if keyIs(k, "alternates") { try once(21); alternates = try alternateList() }
            else if keyIs(k, "refusal") { try once(22); refusal = try string() }
            else if keyIs(k, "usd") { try once(23); amount = try decimal(scale: Money.scale, "amount") }
            else if keyIs(k, "reserve_usd") { try once(36); reserveUSD = try decimal(scale: Money.scale, "amount") }
            else if keyIs(k, "settle_usd") { try once(37); settleUSD = try decimal(scale: Money.scale, "amount") }
            else if keyIs(k, "budgets") { try once(24); budgets = try budgetList() }
            else if keyIs(k, "attempt") { try once(25); attempt = try integer() }
            else if keyIs(k, "state") { try once(26); state = try word(TaskProgress.self, "task state") }
            else if keyIs(k, "result_url") { try once(27); resultURL = try string() }
            else if keyIs(k, "billed_seconds") { try once(28); billedSeconds = try decimal(scale: Seconds.scale, "number of seconds") }
            else if keyIs(k, "billed_credits") { try once(29); billedCredits = try string() }
            else if keyIs(k, "cost") { try once(30); cost = try decimal(scale: Money.scale, "amount") }
            else if keyIs(k, "cost_source") { try once(31); costSource = try word(JobReport.CostSource.self, "cost source") }
            else if keyIs(k, "class") { try once(32); failure = try word(FailureClass.self, "failure class") }
            else if keyIs(k, "final") { try once(33); final = try bool() }
            else if keyIs(k, "detail") { try once(34); detail = try string() }
            else if keyIs(k, "text") { try once(35); noteText = try string() }
            else { throw fail("unknown key \"\(text(k))\"") }
        }
        guard let seq, let at, let type, let job else { throw fail("\"seq\", \"at\", \"ev\" and \"job\" are required") }
        func need<T>(_ v: T?, _ key: String) throws(Failure) -> T {
            guard let v else { throw fail("a \(type.rawValue) event needs \"\(key)\"") }
            return v
        }
        func money(_ nanos: Int64?) throws(Failure) -> Money? {
            guard let nanos else { return nil }
            return Money(nanos: nanos, currency: try need(currency, "currency"))
        }
        func usd(_ nanos: Int64) -> Money { Money(nanos: nanos, currency: .usd) }
        func reservation(_ nanos: Int64?, implied: [BudgetKey]? = nil) throws(Failure) -> LedgerBudgetAmount? {
            guard let nanos else {
                if budgets != nil { throw fail("\"budgets\" goes with a reserved amount") }
                return nil
            }
            return LedgerBudgetAmount(amount: usd(nanos), budgets: try need(budgets ?? implied, "budgets"))
        }
        let body: LedgerEventBody
        switch type {
        case .decided:
            body = .decided(LedgerDecision(
                behavior: try need(behavior, "behavior"), duration: Seconds(micros: try need(duration, "duration")),
                requiredResolution: reqRes, requiredMode: reqMode, tags: tags ?? [:], policy: try need(policy, "policy"),
                policyDigest: policyDigest, pricingDigest: pricingDigest, mode: mode, resolution: resolution,
                estimate: try money(estimate), estimateUSD: estimateUSD.map { Money(nanos: $0, currency: .usd) },
                alternates: alternates ?? [], refusal: refusal,
                reservation: try reservation(reserveUSD, implied: provider.map { BudgetKey.keys(provider: $0, tags: tags ?? [:]) })))
        case .reserved:
            body = .reserved(try reservation(try need(amount, "usd"))!)
        case .settled:
            body = .settled(usd(try need(amount, "usd")))
        case .submitIntent:
            let a = try need(attempt, "attempt")
            guard a >= 1, a <= 1_000_000 else { throw fail("\"attempt\" must be 1 or more") }
            body = .submitIntent(mode: try need(mode, "mode"), resolution: try need(resolution, "resolution"), attempt: Int(a))
        case .accepted:
            body = .accepted
        case .state:
            body = .state(try need(state, "state"))
        case .succeeded:
            body = .succeeded(LedgerSuccess(resultURL: resultURL, billedSeconds: billedSeconds.map { Seconds(micros: $0) },
                                            billedCredits: billedCredits, cost: try money(cost), costSource: costSource,
                                            settlement: settleUSD.map(usd)))
        case .failed:
            body = .failed(LedgerFailure(failure: try need(failure, "class"), cost: try money(cost), costSource: costSource,
                                         final: try need(final, "final"), detail: detail, settlement: settleUSD.map(usd)))
        case .outcomeUnknown: body = .outcomeUnknown(detail: try need(detail, "detail"))
        case .unfinished: body = .unfinished(detail: try need(detail, "detail"))
        case .needsAttention: body = .needsAttention(detail: try need(detail, "detail"))
        case .released: body = .released(detail: detail)
        case .note: body = .note(text: try need(noteText, "text"))
        }
        // Refuse members that do not belong to the event type: the writer never produces them, so
        // they mean the line is not what it claims to be.
        guard seen & ~(LineParser.common | LineParser.allowed(type)) == 0 else {
            throw fail("members that do not belong to a \(type.rawValue) event")
        }
        let amounts: UInt64 = 1 << 18 | 1 << 30
        guard (seen & 1 << 19 != 0) == (seen & amounts != 0) else { throw fail("\"currency\" goes with an amount, and only with one") }
        let event = LedgerEvent(time: at, jobID: job, runID: run, provider: provider, taskID: task, body: body)
        return LedgerRecord(sequence: seq, event: event)
    }

    static let common: UInt64 = 0b1111_1110

    static func bits(_ ids: Int...) -> UInt64 { ids.reduce(0) { $0 | 1 << UInt64($1) } }

    /// The members each event type may carry besides the common ones (by the ids in ``record()``).
    static func allowed(_ type: LedgerEventType) -> UInt64 {
        switch type {
        case .decided: return bits(8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 24, 36)
        case .reserved: return bits(23, 24)
        case .settled: return bits(23)
        case .submitIntent: return bits(16, 17, 25)
        case .accepted: return 0
        case .state: return bits(26)
        case .succeeded: return bits(19, 27, 28, 29, 30, 31, 37)
        case .failed: return bits(19, 30, 31, 32, 33, 34, 37)
        case .outcomeUnknown, .unfinished, .needsAttention, .released: return bits(34)
        case .note: return bits(35)
        }
    }

    mutating func stringMap() throws(Failure) -> [String: String] {
        try expect(UInt8(ascii: "{"))
        var map: [String: String] = [:]
        if i < end, bytes[i] == UInt8(ascii: "}") { i += 1; return map }
        while true {
            let k = try string()
            try expect(UInt8(ascii: ":"))
            let v = try string()
            guard map.updateValue(v, forKey: k) == nil else { throw fail("tag \"\(k)\" appears twice") }
            if i < end, bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            try expect(UInt8(ascii: "}"))
            return map
        }
    }

    mutating func budgetList() throws(Failure) -> [BudgetKey] {
        try expect(UInt8(ascii: "["))
        var list: [BudgetKey] = []
        if i < end, bytes[i] == UInt8(ascii: "]") { i += 1; return list }
        while true {
            let s = try string()
            guard let k = BudgetKey(s) else { throw fail("\"\(s)\" is not a budget key") }
            list.append(k)
            if i < end, bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            try expect(UInt8(ascii: "]"))
            return list
        }
    }

    mutating func alternateList() throws(Failure) -> [LedgerAlternate] {
        try expect(UInt8(ascii: "["))
        var list: [LedgerAlternate] = []
        if i < end, bytes[i] == UInt8(ascii: "]") { i += 1; return list }
        while true {
            try expect(UInt8(ascii: "{"))
            var provider: ProviderID?, mode: Mode?, resolution: Resolution?, estimate: Int64?, currency: Currency?
            var first = true
            while !(i < end && bytes[i] == UInt8(ascii: "}")) {
                if !first { try expect(UInt8(ascii: ",")) }
                first = false
                let k = try rawString()
                try expect(UInt8(ascii: ":"))
                if keyIs(k, "provider"), provider == nil {
                    let s = try string()
                    guard let p = ProviderID(s) else { throw fail("\"\(s)\" is not a provider id") }
                    provider = p
                } else if keyIs(k, "mode"), mode == nil { mode = try word(Mode.self, "mode") }
                else if keyIs(k, "resolution"), resolution == nil { resolution = try word(Resolution.self, "resolution") }
                else if keyIs(k, "estimate"), estimate == nil { estimate = try decimal(scale: Money.scale, "amount") }
                else if keyIs(k, "currency"), currency == nil {
                    let s = try string()
                    guard let c = Currency(code: s) else { throw fail("\"\(s)\" is not a known currency") }
                    currency = c
                } else { throw fail("unknown or repeated key \"\(text(k))\" in an alternate") }
            }
            i += 1
            guard let provider, let mode, let resolution, (estimate == nil) == (currency == nil) else {
                throw fail("an alternate needs provider, mode, resolution, and a currency with its estimate")
            }
            list.append(LedgerAlternate(provider: provider, mode: mode, resolution: resolution,
                                        estimate: estimate.map { Money(nanos: $0, currency: currency!) }))
            if i < end, bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            try expect(UInt8(ascii: "]"))
            return list
        }
    }
}
