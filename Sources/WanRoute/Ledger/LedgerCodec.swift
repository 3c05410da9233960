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
/// before its checksum member written last. Written and read by purpose-built code (not
/// `JSONEncoder`/`JSONDecoder`), because reports read a month of millions of lines.
///
/// Version 2 is compact (short keys, epoch-millisecond times, seconds as numbers, `USD` implied,
/// alternates as one string each); version 3 is version 2 with short cost sources
/// (`"src":"provider"`) and a `submit-intent` that may leave out the offer its job's `decided` line
/// chose; version 4, written now, also lets an `accepted` leave out its intent's provider and a
/// `decided` line take its run, policy and digests from an earlier one (`"ctx":N`) (read with
/// ``LedgerLineReader``). Older lines stay readable:
///
/// ```
/// {"v":4,"n":7,"t":1796176767123,"e":"accepted","j":"j1","p":"apixo","task":"t-9","c":"73199b85"}
/// {"v":1,"seq":7,"at":"2026-12-02T01:59:27.123Z","ev":"accepted","job":"j1","provider":"apixo","task":"t-9","crc":"b0325e10"}
/// ```
public enum LedgerCodec {
    /// The bytes of a version 1 line's `,"crc":"` plus 8 hex digits plus `}`.
    static let trailerLength = 18
    /// The same for version 2: `,"c":"` plus 8 hex digits plus `}`.
    static let compactTrailerLength = 16

    // MARK: writing

    /// Appends the record's line in the current schema version, newline included, to `out`.
    public static func encode(_ record: LedgerRecord, into out: inout [UInt8]) {
        encode(record, version: ledgerSchemaVersion, into: &out)
    }

    /// The record's line in the current schema version, newline included.
    public static func encode(_ record: LedgerRecord) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        encode(record, version: ledgerSchemaVersion, into: &out)
        return out
    }

    /// Appends the record's line in schema `version` (1 to 4), newline included, to `out`.
    /// Stores write the current version; older ones are for tests and benchmarks (old ledgers must
    /// still read). `gaps` leaves out what a reader takes from earlier lines of the file (only
    /// ``LedgerLineWriter`` knows when a reader can find it; a version 3 line can leave out only an
    /// intent's offer, older ones nothing).
    public static func encode(_ record: LedgerRecord, version: Int, gaps: LineGaps = LineGaps(), into out: inout [UInt8]) {
        let start = out.count
        let e = record.event
        let compact = version >= 2
        let k = version >= 4 ? LedgerKeys.compact4 : version >= 3 ? LedgerKeys.compact3 : compact ? LedgerKeys.compact : LedgerKeys.original
        // A submit-intent's offer (provider, mode, resolution) is its job's decided choice.
        let inherit: Bool
        if case .submitIntent = e.body { inherit = gaps.offer && version >= 3 } else { inherit = false }
        // An accepted task's provider is that of its job's latest submit-intent.
        let inheritProvider: Bool
        if case .accepted = e.body { inheritProvider = gaps.provider && version >= 4 } else { inheritProvider = false }
        // A decision's run, policy and digests are those of line `ctx` of the file.
        var context: Int64?
        if case .decided = e.body, version >= 4 { context = gaps.context }
        out.append(contentsOf: #"{"v":"#.utf8)
        appendInt(Int64(version), &out)
        key(k[.seq], &out)
        appendInt(record.sequence, &out)
        key(k[.at], &out)
        if compact {
            appendInt(e.time.milliseconds, &out)
        } else {
            out.append(UInt8(ascii: "\""))
            e.time.write(into: &out)
            out.append(UInt8(ascii: "\""))
        }
        field(k[.ev], e.type.rawValue, &out)
        field(k[.job], e.jobID, &out)
        if let r = e.runID, context == nil { field(k[.run], r, &out) }
        if let p = e.provider, !inherit, !inheritProvider { field(k[.provider], p.rawValue, &out) }
        if let t = e.taskID { field(k[.task], t, &out) }
        switch e.body {
        case .decided(let d):
            field(k[.behavior], d.behavior.rawValue, &out)
            seconds(k[.duration], d.duration, compact, &out)
            if let r = d.requiredResolution { field(k[.requiredResolution], r.rawValue, &out) }
            if let m = d.requiredMode { field(k[.requiredMode], m.rawValue, &out) }
            if !d.tags.isEmpty {
                key(k[.tags], &out)
                out.append(UInt8(ascii: "{"))
                for (i, (k, v)) in d.tags.sorted(by: { $0.key < $1.key }).enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    string(k, &out)
                    out.append(UInt8(ascii: ":"))
                    string(v, &out)
                }
                out.append(UInt8(ascii: "}"))
            }
            if let context {
                key(k[.context], &out)
                appendInt(context, &out)
            } else {
                field(k[.policy], d.policy, &out)
                if let x = d.policyDigest { field(k[.policyDigest], x, &out) }
                if let x = d.pricingDigest { field(k[.pricingDigest], x, &out) }
            }
            if let m = d.mode { field(k[.mode], m.rawValue, &out) }
            if let r = d.resolution { field(k[.resolution], r.rawValue, &out) }
            money(k[.estimate], d.estimate, k, &out)
            // The USD figure is written only where it says something the estimate does not.
            if let u = d.estimateUSD, u != d.estimate { field(k[.estimateUSD], u.decimalString, &out) }
            if !d.alternates.isEmpty {
                key(k[.alternates], &out)
                out.append(UInt8(ascii: "["))
                for (i, a) in d.alternates.enumerated() {
                    if i > 0 { out.append(UInt8(ascii: ",")) }
                    if compact {
                        // One string, "provider mode resolution [estimate [currency]]": a third of the bytes.
                        var text = a.provider.rawValue + " " + a.mode.rawValue + " " + a.resolution.rawValue
                        if let m = a.estimate { text += " " + m.decimalString + (m.currency == .usd ? "" : " " + m.currency.code) }
                        string(text, &out)
                    } else {
                        out.append(contentsOf: #"{"provider":"#.utf8)
                        string(a.provider.rawValue, &out)
                        field("mode", a.mode.rawValue, &out)
                        field("resolution", a.resolution.rawValue, &out)
                        money("estimate", a.estimate, k, &out)
                        out.append(UInt8(ascii: "}"))
                    }
                }
                out.append(UInt8(ascii: "]"))
            }
            if let r = d.refusal { field(k[.refusal], r, &out) }
            if let b = d.reservation {
                // The keys a decision's reservation counts under are implied when they are the usual
                // ones (total, its provider, each of its tags): a million jobs a month, 60 bytes each.
                if let p = e.provider, b.budgets == BudgetKey.keys(provider: p, tags: d.tags) {
                    field(k[.reserveUSD], b.amount.decimalString, &out)
                } else {
                    budget(k[.reserveUSD], b, k, &out)
                }
            }
        case .reserved(let b):
            budget(k[.usd], b, k, &out)
        case .settled(let m):
            field(k[.usd], m.decimalString, &out)
        case .submitIntent(let mode, let resolution, let attempt):
            if !inherit {
                field(k[.mode], mode.rawValue, &out)
                field(k[.resolution], resolution.rawValue, &out)
            }
            key(k[.attempt], &out)
            appendInt(Int64(attempt), &out)
        case .accepted:
            break
        case .state(let s):
            field(k[.state], s.rawValue, &out)
        case .succeeded(let s):
            if let u = s.resultURL { field(k[.resultURL], u, &out) }
            if let b = s.billedSeconds { seconds(k[.billedSeconds], b, compact, &out) }
            if let c = s.billedCredits { field(k[.billedCredits], c, &out) }
            money(k[.cost], s.cost, k, &out)
            if let c = s.costSource { field(k[.costSource], k.costSource(c), &out) }
            if let m = s.settlement { field(k[.settleUSD], m.decimalString, &out) }
        case .failed(let f):
            field(k[.failureClass], f.failure.rawValue, &out)
            money(k[.cost], f.cost, k, &out)
            if let c = f.costSource { field(k[.costSource], k.costSource(c), &out) }
            key(k[.final], &out)
            out.append(contentsOf: (f.final ? "true" : "false").utf8)
            if let d = f.detail { field(k[.detail], d, &out) }
            if let m = f.settlement { field(k[.settleUSD], m.decimalString, &out) }
        case .outcomeUnknown(let d), .unfinished(let d), .needsAttention(let d):
            field(k[.detail], d, &out)
        case .released(let d):
            if let d { field(k[.detail], d, &out) }
        case .note(let text):
            field(k[.text], text, &out)
        }
        let crc = out.withUnsafeBytes { CRC32C.checksum(UnsafeRawBufferPointer(rebasing: $0[start...])) }
        out.append(contentsOf: (compact ? #","c":""# : #","crc":""#).utf8)
        appendHex(crc, &out)
        out.append(contentsOf: "\"}\n".utf8)
    }

    /// `,"key":`.
    @inline(__always)
    static func key(_ key: StaticString, _ out: inout [UInt8]) {
        out.append(UInt8(ascii: ","))
        out.append(UInt8(ascii: "\""))
        out.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        out.append(contentsOf: "\":".utf8)
    }

    /// Seconds: a JSON number in version 2 (`12`, `12.5`), a decimal string in version 1.
    static func seconds(_ name: StaticString, _ value: Seconds, _ compact: Bool, _ out: inout [UInt8]) {
        if compact {
            key(name, &out)
            out.append(contentsOf: value.decimalString.utf8)
        } else {
            field(name, value.decimalString, &out)
        }
    }

    @inline(__always)
    static func field(_ name: StaticString, _ value: String, _ out: inout [UInt8]) {
        key(name, &out)
        string(value, &out)
    }

    /// `,"key":"1.50","currency":"CNY"`; nothing at all for an unknown amount. Version 2 leaves the
    /// currency out when it is USD.
    static func money(_ name: StaticString, _ value: Money?, _ k: LedgerKeys, _ out: inout [UInt8]) {
        guard let value else { return }
        field(name, value.decimalString, &out)
        if k.impliesUSD, value.currency == .usd { return }
        field(k[.currency], value.currency.code, &out)
    }

    /// `,"key":"1.50","budgets":["total",…]`: a USD amount and the budget keys it counts under.
    static func budget(_ name: StaticString, _ b: LedgerBudgetAmount, _ k: LedgerKeys, _ out: inout [UInt8]) {
        field(name, b.amount.decimalString, &out)
        key(k[.budgets], &out)
        out.append(UInt8(ascii: "["))
        for (i, key) in b.budgets.enumerated() {
            if i > 0 { out.append(UInt8(ascii: ",")) }
            string(key.description, &out)
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

    /// The length of a line's checksum trailer: `,"c":"…"}` (version 2) or `,"crc":"…"}` (version 1);
    /// nil when the line ends in neither.
    static func trailer(_ line: UnsafeRawBufferPointer) -> Int? {
        let n = line.count
        guard n > trailerLength + 2, line[n - 1] == UInt8(ascii: "}"), line[n - 2] == UInt8(ascii: "\"") else { return nil }
        func at(_ t: Int, _ prefix: StaticString) -> Bool {
            for i in 0..<prefix.utf8CodeUnitCount where line[t + i] != prefix.utf8Start[i] { return false }
            return true
        }
        if at(n - compactTrailerLength, #","c":""#) { return compactTrailerLength }
        if at(n - trailerLength, #","crc":""#) { return trailerLength }
        return nil
    }

    /// Checks a line's checksum (without its newline): cheap, and enough for the scanner to tell a
    /// torn line from a whole one.
    public static func verify(_ line: UnsafeRawBufferPointer) -> Bool {
        guard let trailer = trailer(line) else { return false }
        let n = line.count
        var expected: UInt32 = 0
        // Both trailers end in 8 hex digits and `"}`.
        for i in (n - 10)..<(n - 2) {
            let b = line[i]
            let v: UInt8
            switch b {
            case 0x30...0x39: v = b - 0x30
            case 0x61...0x66: v = b - 0x61 + 10
            default: return false
            }
            expected = expected << 4 | UInt32(v)
        }
        return CRC32C.checksum(UnsafeRawBufferPointer(rebasing: line[..<(n - trailer)])) == expected
    }

    /// Decodes one line (without its newline) of any schema version, checksum first. A line that
    /// leaves something to earlier lines of its file (a version 3 or 4 `submit-intent` without its
    /// offer, a version 4 `accepted` without its provider or `decided` with `ctx`) is refused here:
    /// read a file's lines in order with ``LedgerLineReader``, which fills them in.
    public static func decode(_ line: UnsafeRawBufferPointer) throws(LedgerLineError) -> LedgerRecord {
        let (record, gaps) = try decodeLine(line)
        if let why = gaps.refusal { throw .malformed(why) }
        return record
    }

    /// Decodes one line for a reader that does not use a decision's run, policy or digests (the
    /// budget fold): a `decided` line with `ctx` reads with those left empty.
    static func decodeIgnoringContext(_ line: UnsafeRawBufferPointer) throws(LedgerLineError) -> LedgerRecord {
        var (record, gaps) = try decodeLine(line)
        gaps.context = nil
        if let why = gaps.refusal { throw .malformed(why) }
        return record
    }

    /// Decodes one line, with what it left to earlier lines of its file (the record's members
    /// for those are then placeholders).
    static func decodeLine(_ line: UnsafeRawBufferPointer) throws(LedgerLineError) -> (LedgerRecord, LineGaps) {
        guard verify(line), let trailer = trailer(line) else { throw .badChecksum }
        var p = LineParser(bytes: line, end: line.count - trailer)
        let record = try p.record()
        return (record, p.gaps)
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
        guard let trailer = trailer(line) else { return nil }
        var p = LineParser(bytes: line, end: line.count - trailer)
        return try? p.envelope()
    }
}

/// A line's members, by the numbers ``LineParser`` keeps in its bit set of members seen.
enum LedgerMember: Int, CaseIterable {
    case seq = 1
    case at, ev, job, run, provider, task, behavior, duration, requiredResolution, requiredMode, tags, policy
    case policyDigest, pricingDigest, mode, resolution, estimate, currency, estimateUSD, alternates, refusal, usd, budgets
    case attempt, state, resultURL, billedSeconds, billedCredits, cost, costSource, failureClass, final, detail, text
    case reserveUSD, settleUSD, context

    var bit: UInt64 { 1 << UInt64(rawValue) }
}

/// The member names of one schema version. Version 2 shortens the members of the five lines every
/// job writes (decided, submit-intent, accepted, state, succeeded) and keeps the rarer ones' names.
struct LedgerKeys: Sendable {
    let names: [StaticString]
    /// Whether an amount without a currency member is in USD (versions 2 and 3).
    let impliesUSD: Bool
    /// The schema version these names belong to.
    var version = 2

    /// A cost source as this version writes it: version 3's short codes (`provider`, `rule`,
    /// `free`, `no-task`), else its full name.
    func costSource(_ c: JobReport.CostSource) -> String {
        guard version >= 3 else { return c.rawValue }
        switch c {
        case .providerReported: return "provider"
        case .billingRule: return "rule"
        case .failedTaskFree: return "free"
        case .noTask: return "no-task"
        }
    }

    subscript(_ m: LedgerMember) -> StaticString { names[m.rawValue] }

    /// The checksum member, always last (not among the members a line's parser reads).
    var checksum: StaticString { impliesUSD ? "c" : "crc" }

    static let original = LedgerKeys(names: [
        "v", "seq", "at", "ev", "job", "run", "provider", "task", "behavior", "duration", "required_resolution", "required_mode",
        "tags", "policy", "policy_digest", "pricing_digest", "mode", "resolution", "estimate", "currency", "estimate_usd",
        "alternates", "refusal", "usd", "budgets", "attempt", "state", "result_url", "billed_seconds", "billed_credits", "cost",
        "cost_source", "class", "final", "detail", "text", "reserve_usd", "settle_usd", "ctx",
    ], impliesUSD: false)

    static let compact = LedgerKeys(names: [
        "v", "n", "t", "e", "j", "r", "p", "task", "b", "d", "rres", "rmode",
        "tags", "pol", "pd", "td", "m", "res", "est", "cur", "eu",
        "alt", "refusal", "usd", "budgets", "a", "s", "url", "bs", "bc", "cost",
        "src", "class", "final", "detail", "text", "rsv", "stl", "ctx",
    ], impliesUSD: true)

    /// Version 3: version 2's names.
    static let compact3 = LedgerKeys(names: compact.names, impliesUSD: true, version: 3)

    /// Version 4: version 2's names, and `ctx` (read only in version 4).
    static let compact4 = LedgerKeys(names: compact.names, impliesUSD: true, version: 4)

    /// The member a key names, if any.
    func member(_ key: UnsafeRawBufferPointer) -> LedgerMember? {
        // By index, not `allCases`: no array is made per key.
        for index in 1..<names.count {
            let name = names[index]
            if name.utf8CodeUnitCount == key.count, memcmp(name.utf8Start, key.baseAddress!, key.count) == 0 { return LedgerMember(rawValue: index) }
        }
        return nil
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
        try bounded(try string(), scale: scale, what)
    }

    func bounded(_ s: String, scale: Int, _ what: String) throws(Failure) -> Int64 {
        guard case .success(let v) = FixedDecimal.parse(s, scale: scale) else { throw fail("\"\(s)\" is not a decimal \(what)") }
        // Bounded where read, so sums over a month's lines cannot overflow: amounts to 10^8 units
        // (a day at the highest price a table may hold is under 10^5), durations to a day.
        let most: Int64 = scale == Money.scale ? 100_000_000 * 1_000_000_000 : scale == Seconds.scale ? Seconds.longestJob.micros : .max
        guard v.magnitude <= most.magnitude else { throw fail("\"\(s)\" is larger than any \(what) wanroute writes") }
        return v
    }

    /// Reads the schema version: `{"v":1` or `{"v":2`, the start of every line.
    mutating func version() throws(Failure) -> LedgerKeys {
        guard matches(#"{"v":"#) else { throw fail("a line must start with {\"v\":") }
        i += 5
        let vStart = i
        let keys: LedgerKeys
        switch try integer() {
        case 1: keys = .original
        case 2: keys = .compact
        case 3: keys = .compact3
        case 4: keys = .compact4
        default: throw .unsupportedVersion(text(vStart..<i))
        }
        // Each version spells its checksum member one way: `"c"` in version 2, `"crc"` in version 1.
        guard keys.impliesUSD == (bytes.count - end == LedgerCodec.compactTrailerLength) else {
            throw fail("a version \(text(vStart..<i)) line must end in its \"\(keys.checksum)\" member")
        }
        return keys
    }

    /// Reads the fixed start of every line: version, sequence, time and event type.
    mutating func envelope() throws(Failure) -> (sequence: Int64, type: LedgerEventType) {
        let k = try version()
        try expectKey(k[.seq])
        let seq = try integer()
        try expectKey(k[.at])
        if k.impliesUSD { _ = try integer() } else { _ = try rawString() }
        try expectKey(k[.ev])
        let type = try word(LedgerEventType.self, "event type")
        return (seq, type)
    }

    /// `,"key":` next, else an error.
    mutating func expectKey(_ key: StaticString) throws(Failure) {
        let n = key.utf8CodeUnitCount
        guard i + n + 4 <= end, bytes[i] == UInt8(ascii: ","), bytes[i + 1] == UInt8(ascii: "\""),
              memcmp(bytes.baseAddress! + i + 2, key.utf8Start, n) == 0,
              bytes[i + n + 2] == UInt8(ascii: "\""), bytes[i + n + 3] == UInt8(ascii: ":") else {
            throw fail("expected \"\(key)\" in the line's fixed start")
        }
        i += n + 4
    }

    /// What ``record()`` found the line left to earlier lines of its file.
    var gaps = LineGaps()

    /// Reads a short cost source of version 3 (``LedgerKeys/costSource(_:)``).
    mutating func shortCostSource() throws(Failure) -> JobReport.CostSource {
        let r = try rawString()
        let t = text(r)
        for c in JobReport.CostSource.allCases where t == LedgerKeys.compact3.costSource(c) { return c }
        throw fail("\"\(text(r))\" is not a cost source (provider, rule, free, no-task)")
    }

    // swiftlint:disable:next cyclomatic_complexity function_body_length
    mutating func record() throws(Failure) -> LedgerRecord {
        let k = try version()
        let compact = k.impliesUSD
        var seq: Int64?, at: LedgerTime?, type: LedgerEventType?, job: String?, run: String?, provider: ProviderID?, task: String?
        var behavior: Behavior?, duration: Int64?, reqRes: Resolution?, reqMode: Mode?, tags: [String: String]?
        var policy: String?, policyDigest: String?, pricingDigest: String?, mode: Mode?, resolution: Resolution?
        var estimate: Int64?, currency: Currency?, estimateUSD: Int64?, alternates: [LedgerAlternate]?, refusal: String?
        var amount: Int64?, reserveUSD: Int64?, settleUSD: Int64?, budgets: [BudgetKey]?, attempt: Int64?, state: TaskProgress?
        var resultURL: String?, billedSeconds: Int64?, billedCredits: String?, cost: Int64?, costSource: JobReport.CostSource?
        var failure: FailureClass?, final: Bool?, detail: String?, noteText: String?, context: Int64?
        var seen: UInt64 = 0
        while i < end {
            try expect(UInt8(ascii: ","))
            let r = try rawString()
            try expect(UInt8(ascii: ":"))
            guard let m = k.member(UnsafeRawBufferPointer(rebasing: bytes[r])) else { throw fail("unknown key \"\(text(r))\"") }
            guard seen & m.bit == 0 else { throw fail("a key appears twice") }
            seen |= m.bit
            switch m {
            case .seq: seq = try integer()
            case .at: at = try compact ? epochTime() : isoTime()
            case .ev: type = try word(LedgerEventType.self, "event type")
            case .job: job = try string()
            case .run: run = try string()
            case .provider: provider = try providerID()
            case .task: task = try string()
            case .behavior: behavior = try word(Behavior.self, "behavior")
            case .duration: duration = try compact ? number(scale: Seconds.scale, "duration") : decimal(scale: Seconds.scale, "duration")
            case .requiredResolution: reqRes = try word(Resolution.self, "resolution")
            case .requiredMode: reqMode = try word(Mode.self, "mode")
            case .tags: tags = try stringMap()
            case .policy: policy = try string()
            case .policyDigest: policyDigest = try string()
            case .pricingDigest: pricingDigest = try string()
            case .mode: mode = try word(Mode.self, "mode")
            case .resolution: resolution = try word(Resolution.self, "resolution")
            case .estimate: estimate = try decimal(scale: Money.scale, "amount")
            case .currency:
                currency = try currencyCode()
                // One way to write USD in version 2: by leaving the currency out.
                if compact, currency == .usd { throw fail("\"cur\" is left out for USD") }
            case .estimateUSD: estimateUSD = try decimal(scale: Money.scale, "amount")
            case .alternates: alternates = try compact ? alternateStrings() : alternateList()
            case .refusal: refusal = try string()
            case .usd: amount = try decimal(scale: Money.scale, "amount")
            case .reserveUSD: reserveUSD = try decimal(scale: Money.scale, "amount")
            case .settleUSD: settleUSD = try decimal(scale: Money.scale, "amount")
            case .budgets: budgets = try budgetList()
            case .attempt: attempt = try integer()
            case .state: state = try word(TaskProgress.self, "task state")
            case .resultURL: resultURL = try string()
            case .billedSeconds:
                billedSeconds = try compact ? number(scale: Seconds.scale, "number of seconds") : decimal(scale: Seconds.scale, "number of seconds")
            case .billedCredits: billedCredits = try string()
            case .cost: cost = try decimal(scale: Money.scale, "amount")
            case .costSource: costSource = try k.version >= 3 ? shortCostSource() : word(JobReport.CostSource.self, "cost source")
            case .failureClass: failure = try word(FailureClass.self, "failure class")
            case .final: final = try bool()
            case .detail: detail = try string()
            case .text: noteText = try string()
            case .context:
                guard k.version >= 4 else { throw fail("unknown key \"ctx\" before version 4") }
                context = try integer()
            }
        }
        guard let seq, let at, let type, let job else {
            throw fail("\"\(k[.seq])\", \"\(k[.at])\", \"\(k[.ev])\" and \"\(k[.job])\" are required")
        }
        func need<T>(_ v: T?, _ m: LedgerMember) throws(Failure) -> T {
            guard let v else { throw fail("a \(type.rawValue) event needs \"\(k[m])\"") }
            return v
        }
        func money(_ nanos: Int64?) throws(Failure) -> Money? {
            guard let nanos else { return nil }
            return Money(nanos: nanos, currency: compact ? currency ?? .usd : try need(currency, .currency))
        }
        func usd(_ nanos: Int64) -> Money { Money(nanos: nanos, currency: .usd) }
        func reservation(_ nanos: Int64?, implied: [BudgetKey]? = nil) throws(Failure) -> LedgerBudgetAmount? {
            guard let nanos else {
                if budgets != nil { throw fail("\"budgets\" goes with a reserved amount") }
                return nil
            }
            return LedgerBudgetAmount(amount: usd(nanos), budgets: try need(budgets ?? implied, .budgets))
        }
        let body: LedgerEventBody
        switch type {
        case .decided:
            if let context {
                // Version 4: the run, policy and digests are those of line `ctx` before it in the file.
                guard seen & LineParser.bits(.run, .policy, .policyDigest, .pricingDigest) == 0 else {
                    throw fail("a decided line takes its run, policy and digests from line \"ctx\" or names them, not both")
                }
                guard context >= 1, context < seq else { throw fail("\"ctx\" must name an earlier line") }
                gaps.context = context
            } else {
                gaps.namesContext = k.version >= 4
            }
            body = .decided(LedgerDecision(
                behavior: try need(behavior, .behavior), duration: Seconds(micros: try need(duration, .duration)),
                requiredResolution: reqRes, requiredMode: reqMode, tags: tags ?? [:], policy: context != nil ? "" : try need(policy, .policy),
                policyDigest: policyDigest, pricingDigest: pricingDigest, mode: mode, resolution: resolution,
                estimate: try money(estimate), estimateUSD: estimateUSD.map { Money(nanos: $0, currency: .usd) },
                alternates: alternates ?? [], refusal: refusal,
                reservation: try reservation(reserveUSD, implied: provider.map { BudgetKey.keys(provider: $0, tags: tags ?? [:]) })))
        case .reserved:
            body = .reserved(try reservation(try need(amount, .usd))!)
        case .settled:
            body = .settled(usd(try need(amount, .usd)))
        case .submitIntent:
            let a = try need(attempt, .attempt)
            guard a >= 1, a <= 1_000_000 else { throw fail("\"\(k[.attempt])\" must be 1 or more") }
            if k.version >= 3, mode == nil, resolution == nil {
                // Version 3: no offer means the job's decided choice; ``LedgerLineReader`` fills it in.
                guard provider == nil else { throw fail("a submit-intent names its whole offer (p, m, res) or none of it") }
                gaps.offer = true
                body = .submitIntent(mode: Mode.allCases[0], resolution: Resolution.allCases[0], attempt: Int(a))
            } else {
                body = .submitIntent(mode: try need(mode, .mode), resolution: try need(resolution, .resolution), attempt: Int(a))
            }
        case .accepted:
            // Version 4: no provider means that of the job's latest submit-intent.
            if k.version >= 4, provider == nil { gaps.provider = true }
            body = .accepted
        case .state:
            body = .state(try need(state, .state))
        case .succeeded:
            body = .succeeded(LedgerSuccess(resultURL: resultURL, billedSeconds: billedSeconds.map { Seconds(micros: $0) },
                                            billedCredits: billedCredits, cost: try money(cost), costSource: costSource,
                                            settlement: settleUSD.map(usd)))
        case .failed:
            body = .failed(LedgerFailure(failure: try need(failure, .failureClass), cost: try money(cost), costSource: costSource,
                                         final: try need(final, .final), detail: detail, settlement: settleUSD.map(usd)))
        case .outcomeUnknown: body = .outcomeUnknown(detail: try need(detail, .detail))
        case .unfinished: body = .unfinished(detail: try need(detail, .detail))
        case .needsAttention: body = .needsAttention(detail: try need(detail, .detail))
        case .released: body = .released(detail: detail)
        case .note: body = .note(text: try need(noteText, .text))
        }
        // Refuse members that do not belong to the event type: the writer never produces them, so
        // they mean the line is not what it claims to be.
        guard seen & ~(LineParser.common | LineParser.allowed(type)) == 0 else {
            throw fail("members that do not belong to a \(type.rawValue) event")
        }
        let amounts = LedgerMember.estimate.bit | LedgerMember.cost.bit
        let hasCurrency = seen & LedgerMember.currency.bit != 0, hasAmount = seen & amounts != 0
        // Version 1 names the currency of every amount; version 2 only one that is not USD.
        guard compact ? !hasCurrency || hasAmount : hasCurrency == hasAmount else {
            throw fail("\"\(k[.currency])\" goes with an amount, and only with one")
        }
        let event = LedgerEvent(time: at, jobID: job, runID: run, provider: provider, taskID: task, body: body)
        return LedgerRecord(sequence: seq, event: event)
    }

    /// Version 1's time: `"2026-12-02T01:59:27.123Z"`.
    mutating func isoTime() throws(Failure) -> LedgerTime {
        let r = try rawString()
        guard let t = LedgerTime.parse(UnsafeRawBufferPointer(rebasing: bytes[r])) else {
            throw fail("\"at\" is not a time such as 2026-12-02T01:59:27.123Z")
        }
        return t
    }

    /// Version 2's time: milliseconds since 1970-01-01T00:00:00Z, within the years 1970 to 9999
    /// that version 1 allows.
    mutating func epochTime() throws(Failure) -> LedgerTime {
        let ms = try integer()
        guard ms >= 0, ms < LedgerTime.latestMilliseconds else { throw fail("\"t\" is not milliseconds since 1970 before the year 10000") }
        return LedgerTime(milliseconds: ms)
    }

    mutating func providerID() throws(Failure) -> ProviderID {
        let s = try string()
        guard let p = ProviderID(s) else { throw fail("\"\(s)\" is not a provider id") }
        return p
    }

    mutating func currencyCode() throws(Failure) -> Currency {
        let s = try string()
        guard let c = Currency(code: s) else { throw fail("\"\(s)\" is not a known currency") }
        return c
    }

    /// A JSON number read as a fixed-point decimal: `12`, `12.5`, `-0.25` (no exponent, no
    /// leading zeros), bounded as ``decimal(scale:_:)`` is.
    mutating func number(scale: Int, _ what: String) throws(Failure) -> Int64 {
        let start = i
        if i < end, bytes[i] == UInt8(ascii: "-") { i += 1 }
        let digits = i
        while i < end, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1 }
        guard i > digits, i - digits == 1 || bytes[digits] != 0x30 else { throw fail("expected a \(what)") }
        if i < end, bytes[i] == UInt8(ascii: ".") {
            i += 1
            let fraction = i
            while i < end, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1 }
            guard i > fraction else { throw fail("expected a \(what)") }
        }
        return try bounded(text(start..<i), scale: scale, what)
    }

    /// The members every event type may carry: sequence, time, type, job, run, provider, task.
    static let common = bits(.seq, .at, .ev, .job, .run, .provider, .task)

    static func bits(_ members: LedgerMember...) -> UInt64 { members.reduce(0) { $0 | $1.bit } }

    /// The members each event type may carry besides the common ones.
    static func allowed(_ type: LedgerEventType) -> UInt64 {
        switch type {
        case .decided:
            return bits(.behavior, .duration, .requiredResolution, .requiredMode, .tags, .policy, .policyDigest, .pricingDigest, .context,
                        .mode, .resolution, .estimate, .currency, .estimateUSD, .alternates, .refusal, .budgets, .reserveUSD)
        case .reserved: return bits(.usd, .budgets)
        case .settled: return bits(.usd)
        case .submitIntent: return bits(.mode, .resolution, .attempt)
        case .accepted: return 0
        case .state: return bits(.state)
        case .succeeded: return bits(.currency, .resultURL, .billedSeconds, .billedCredits, .cost, .costSource, .settleUSD)
        case .failed: return bits(.currency, .cost, .costSource, .failureClass, .final, .detail, .settleUSD)
        case .outcomeUnknown, .unfinished, .needsAttention, .released: return bits(.detail)
        case .note: return bits(.text)
        }
    }

    /// Version 2's alternates: `["apixo standard 720p 0.72", "kie pro 1080p 9.5 CNY", "fal standard 480p"]`,
    /// each "provider mode resolution", then the estimate when known, then its currency when not USD.
    mutating func alternateStrings() throws(Failure) -> [LedgerAlternate] {
        try expect(UInt8(ascii: "["))
        var list: [LedgerAlternate] = []
        if i < end, bytes[i] == UInt8(ascii: "]") { i += 1; return list }
        while true {
            let s = try string()
            let parts = s.split(separator: " ", omittingEmptySubsequences: false)
            guard (3...5).contains(parts.count), let provider = ProviderID(String(parts[0])),
                  let mode = Mode(rawValue: String(parts[1])), let resolution = Resolution(rawValue: String(parts[2])) else {
                throw fail("an alternate is \"provider mode resolution [estimate [currency]]\", not \"\(s)\"")
            }
            var estimate: Money?
            if parts.count > 3 {
                let nanos = try bounded(String(parts[3]), scale: Money.scale, "amount")
                var currency = Currency.usd
                if parts.count == 5 {
                    guard let c = Currency(code: String(parts[4])), c != .usd else { throw fail("\"\(parts[4])\" is not a currency other than USD") }
                    currency = c
                }
                estimate = Money(nanos: nanos, currency: currency)
            }
            list.append(LedgerAlternate(provider: provider, mode: mode, resolution: resolution, estimate: estimate))
            if i < end, bytes[i] == UInt8(ascii: ",") { i += 1; continue }
            try expect(UInt8(ascii: "]"))
            return list
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

/// What a line leaves to earlier lines of its ledger file (``LedgerLineReader`` fills it in;
/// ``LedgerLineWriter`` decides what to leave out).
public struct LineGaps: Sendable, Equatable {
    /// A `submit-intent` without its offer: the choice of its job's latest `decided` line (version 3 and later).
    public var offer = false
    /// An `accepted` without its provider: that of its job's latest `submit-intent` (version 4).
    public var provider = false
    /// A `decided` line's run, policy and digests: those of the line with this sequence number (version 4).
    public var context: Int64?
    /// Not a gap: a version 4 `decided` line that names its policy, which a later `ctx` may name.
    var namesContext = false

    /// Nothing left out.
    public init() {}

    /// Why a line with these gaps cannot be read alone; nil when it has none.
    var refusal: String? {
        if offer { return "a submit-intent without its offer takes it from its job's decided line, so it is read with the lines before it" }
        if provider { return "an accepted line without its provider takes it from its job's submit-intent, so it is read with the lines before it" }
        if let c = context { return "a decided line with \"ctx\":\(c) takes its run, policy and digests from line \(c) of its file, so it is read with that line" }
        return nil
    }
}
