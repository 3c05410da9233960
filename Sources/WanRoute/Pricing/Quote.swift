/// What is known about one input file of a job (from a probe, or stated by the caller).
public struct MediaFacts: Sendable, Equatable {
    /// The detected format in lower case: `mp4`, `mov`, `m4v`, `avi`, `jpeg`, `png`, `bmp`, `webp`.
    public var format: String?
    /// The width as displayed (after rotation), in pixels.
    public var width: Int64?
    /// The height as displayed (after rotation), in pixels.
    public var height: Int64?
    /// The file's size in bytes.
    public var sizeBytes: Int64?
    /// The URL the provider will fetch, when the input is remote.
    public var url: String?

    /// Creates facts; any may be unknown.
    public init(format: String? = nil, width: Int64? = nil, height: Int64? = nil, sizeBytes: Int64? = nil, url: String? = nil) {
        self.format = format
        self.width = width
        self.height = height
        self.sizeBytes = sizeBytes
        self.url = url
    }
}

/// A Wan 2.2 Animate job to price or route.
public struct Job: Sendable, Equatable {
    /// What to generate: `animate` (the default) or `replace`.
    public var behavior: Behavior
    /// The reference video's duration: what providers bill by.
    public var duration: Seconds
    /// A required output resolution, or nil for any.
    public var resolution: Resolution?
    /// A required mode, or nil for any.
    public var mode: Mode?
    /// The reference video, when known, for the providers' input checks.
    public var video: MediaFacts?
    /// The character image, when known.
    public var image: MediaFacts?
    /// Free labels for routing policies and reports (`project`, `customer`).
    public var tags: [String: String]

    /// Why `key` cannot name a tag, or nil when it can: 1 to 64 letters, digits, `-`, `_` or `.`.
    /// One rule for every reader of tags (command line, jobs files, policy tests), so `customer`
    /// and `customer ` can never be two different keys.
    public static func tagKeyProblem(_ key: String) -> String? {
        guard !key.isEmpty, key.utf8.count <= 64 else { return "a tag name has 1 to 64 characters" }
        let ok = key.utf8.allSatisfy { b in
            (b >= UInt8(ascii: "a") && b <= UInt8(ascii: "z")) || (b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z"))
                || (b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9")) || b == UInt8(ascii: "-") || b == UInt8(ascii: "_") || b == UInt8(ascii: ".")
        }
        return ok ? nil : "a tag name uses only letters, digits, '-', '_' and '.' (no spaces)"
    }

    /// Creates a job.
    public init(behavior: Behavior = .animate, duration: Seconds, resolution: Resolution? = nil, mode: Mode? = nil,
                video: MediaFacts? = nil, image: MediaFacts? = nil, tags: [String: String] = [:]) {
        self.behavior = behavior
        self.duration = duration
        self.resolution = resolution
        self.mode = mode
        self.video = video
        self.image = image
        self.tags = tags
    }
}

/// Why a provider would refuse a job's inputs. Each renders as a plain sentence.
public enum IneligibilityReason: Sendable, Equatable, CustomStringConvertible {
    /// The duration is not one any job can have (zero, negative, or beyond ``Seconds/longestJob``).
    case durationOutOfRange(Seconds)
    /// The duration is below the provider's minimum.
    case durationTooShort(Seconds, minimum: Seconds, provider: String)
    /// The duration is above the provider's maximum.
    case durationTooLong(Seconds, maximum: Seconds, provider: String)
    /// The provider does not take this video or image format.
    case formatNotAccepted(MediaKind, format: String, accepted: [String], provider: String)
    /// The shorter side is below the provider's minimum, in pixels.
    case sideTooSmall(MediaKind, width: Int64, height: Int64, minimum: Int64, provider: String)
    /// The longer side is above the provider's maximum, in pixels.
    case sideTooLarge(MediaKind, width: Int64, height: Int64, maximum: Int64, provider: String)
    /// The width:height is outside the provider's range (nil bound: none on that side).
    case aspectOutOfRange(MediaKind, width: Int64, height: Int64, minimum: AspectRatio?, maximum: AspectRatio?, provider: String)
    /// The file is larger than the provider accepts, in bytes.
    case fileTooLarge(MediaKind, bytes: Int64, maximum: Int64, provider: String)
    /// The URL's scheme is not one the provider fetches (`accepted`: `http`, `https`, `data`).
    case urlSchemeNotAccepted(MediaKind, scheme: String, accepted: [String], provider: String)
    /// The URL has non-ASCII characters, which the provider refuses.
    case urlNotASCII(MediaKind, provider: String)

    /// The reason as a plain sentence naming the provider.
    public var description: String {
        switch self {
        case .durationOutOfRange(let d):
            return "\(d) is not a job duration wanroute prices (more than 0 s, at most \(Seconds.longestJob))"
        case .durationTooShort(let d, let min, let p):
            return "\(d) is below \(p)'s \(min) minimum"
        case .durationTooLong(let d, let max, let p):
            return "\(d) is above \(p)'s \(max) limit"
        case .formatNotAccepted(let k, let f, let accepted, let p):
            return "\(p) does not accept \(f.uppercased()) \(k.rawValue)s (it takes \(accepted.map { $0.uppercased() }.joined(separator: ", ")))"
        case .sideTooSmall(let k, let w, let h, let min, let p):
            return "the \(k.rawValue) is \(w)x\(h) px; \(p) needs each side at least \(min) px"
        case .sideTooLarge(let k, let w, let h, let max, let p):
            return "the \(k.rawValue) is \(w)x\(h) px; \(p) allows each side at most \(max) px"
        case .aspectOutOfRange(let k, let w, let h, let min, let max, let p):
            let range = [min.map { "from \($0)" }, max.map { "to \($0)" }].compactMap { $0 }.joined(separator: " ")
            return "the \(k.rawValue)'s aspect \(w)x\(h) is outside \(p)'s range \(range)"
        case .fileTooLarge(let k, let bytes, let max, let p):
            return "the \(k.rawValue) is \(ByteCount(bytes)); \(p) accepts at most \(ByteCount(max))"
        case .urlSchemeNotAccepted(let k, let scheme, let accepted, let p):
            return "\(p) takes the \(k.rawValue) only as \(Self.schemes(accepted)), not \(scheme)"
        case .urlNotASCII(let k, let p):
            return "the \(k.rawValue) URL has non-ASCII characters, which \(p) refuses; percent-encode them"
        }
    }
}

extension IneligibilityReason {
    /// `HTTPS URLs or data URIs`, `HTTP or HTTPS URLs`: the accepted schemes as people say them.
    static func schemes(_ accepted: [String]) -> String {
        let web = accepted.filter { $0 != "data" }.map { $0.uppercased() }
        var parts: [String] = []
        if !web.isEmpty { parts.append(web.joined(separator: " or ") + " URLs") }
        if accepted.contains("data") { parts.append("data URIs") }
        return parts.joined(separator: " or ")
    }
}

/// A provider limit that could not be checked because the fact it needs is unknown (a probe was
/// skipped, or the file could not be read): the offer is eligible as far as wanroute can tell.
public enum UncheckedLimit: Sendable, Equatable, CustomStringConvertible {
    /// The accepted formats.
    case format(MediaKind)
    /// The smallest and largest side in pixels.
    case pixelSize(MediaKind)
    /// The aspect ratio range.
    case aspectRatio(MediaKind)
    /// The largest file.
    case fileSize(MediaKind)

    /// Every unchecked limit, in the order they are listed.
    public static let all: [UncheckedLimit] = [MediaKind.video, .image].flatMap { [.format($0), .pixelSize($0), .aspectRatio($0), .fileSize($0)] }

    /// `video format`, `image pixel size`, ...
    public var description: String {
        switch self {
        case .format(let k): return "\(k.rawValue) format"
        case .pixelSize(let k): return "\(k.rawValue) pixel size"
        case .aspectRatio(let k): return "\(k.rawValue) aspect ratio"
        case .fileSize(let k): return "\(k.rawValue) file size"
        }
    }
}

/// A byte count for people in decimal megabytes, as providers write their limits ("5 MB").
struct ByteCount: CustomStringConvertible {
    let bytes: Int64
    init(_ bytes: Int64) { self.bytes = bytes }
    var description: String {
        bytes >= 1_000_000 ? "\(FixedDecimal.format(bytes, scale: 6)) MB" : "\(bytes) bytes"
    }
}

/// One offer priced for one job.
public struct Estimate: Sendable, Equatable {
    /// The offer's position in ``PriceCatalog/offers``.
    public let offerIndex: Int
    /// Billing units after rounding, minimum and cap; nil when the provider's basis is unknown.
    public let billableUnits: Int64?
    /// The seconds those units span; nil when unknown.
    public let billableSeconds: Seconds?
    /// The cost in the offer's own currency; nil when the price is unknown (never zero instead).
    public let cost: Money?
    /// The cost in US dollars, converted when the offer is priced in another currency.
    public let usd: Money?
    /// Whether ``usd`` was converted with an exchange rate rather than quoted in USD.
    public let usdIsConverted: Bool
    /// Why the provider would refuse this job; empty when eligible.
    public let reasons: [IneligibilityReason]
    /// Limits the provider publishes that could not be checked for lack of a fact, one bit per
    /// ``UncheckedLimit/all`` position: a plain integer keeps the estimate free of reference
    /// counts on the quoting hot path.
    let uncheckedBits: UInt8
    /// Limits the provider publishes that could not be checked for lack of a fact (the video was
    /// named but not probed, or a fact is unknown); empty when everything it limits was checked.
    public var unchecked: [UncheckedLimit] { UncheckedLimit.all.indices.filter { uncheckedBits & (1 << $0) != 0 }.map { UncheckedLimit.all[$0] } }
    /// Whether the provider publishes any input limits at all; an eligible offer of a provider
    /// that publishes none is eligible only in that nothing says otherwise ("limits not published").
    public let limitsPublished: Bool

    /// Whether the provider accepts the job's inputs.
    public var isEligible: Bool { reasons.isEmpty }
}

/// Every matching offer priced for one job, cheapest eligible first.
public struct Quote: Sendable, Equatable {
    /// The job priced.
    public let job: Job
    /// Eligible offers with a price by USD cost, then eligible offers with no price, then
    /// ineligible ones; ties by confidence, then provider, behaviour, mode and resolution.
    public let estimates: [Estimate]

    /// The cheapest eligible offer with a known price, if any.
    public var cheapest: Estimate? {
        guard let first = estimates.first, first.isEligible, first.usd != nil else { return nil }
        return first
    }
}

extension PriceCatalog {
    /// Prices one offer for a job and checks the job against the provider's input limits.
    ///
    /// A duration outside what any job may be (``Seconds/isValidJobDuration``) is priced nowhere:
    /// the estimate has no cost and says why, so no value of the library's input can overflow.
    public func estimate(offerAt index: Int, for job: Job) -> Estimate {
        let row = rows[index]
        guard job.duration.isValidJobDuration else {
            return Estimate(offerIndex: index, billableUnits: nil, billableSeconds: nil, cost: nil, usd: nil,
                            usdIsConverted: false, reasons: [.durationOutOfRange(job.duration)], uncheckedBits: 0,
                            limitsPublished: row.limitsPublished)
        }
        let units = billableUnits(row, job.duration)
        var cost: Money?
        var usd: Money?
        if let units, let amounts = amounts(row, units: units) {
            cost = Money(nanos: amounts.cost, currency: row.currency)
            usd = amounts.usd.map { Money(nanos: $0, currency: .usd) }
        }
        // Only the duration limits can fail a job with no media facts: skip the general check.
        let needsCheck = job.video != nil || job.image != nil
            || job.duration.micros < row.minimumDurationMicros || job.duration.micros > row.maximumDurationMicros
        var reasons: [IneligibilityReason] = []
        var unchecked: [UncheckedLimit] = []
        if needsCheck { (reasons, unchecked) = Self.check(job, providers[row.providerIndex]) }
        return Estimate(
            offerIndex: index,
            billableUnits: units,
            billableSeconds: units.map { BillingRule.seconds($0, unitMicros: row.unitMicros, unitDivisor: row.unitDivisor) },
            cost: cost,
            usd: usd,
            usdIsConverted: cost != nil && !row.isUSD,
            reasons: reasons,
            uncheckedBits: unchecked.reduce(0) { bits, limit in bits | UInt8(1 << UncheckedLimit.all.firstIndex(of: limit)!) },
            limitsPublished: row.limitsPublished
        )
    }

    /// An offer's cost for a duration in nano-dollars, or nil when it cannot be estimated (no
    /// price, no billing rule, no exchange rate). The router ranks by this; it is the same
    /// arithmetic as ``estimate(offerAt:for:)``.
    func usdNanos(offerAt index: Int, duration: Seconds) -> Int64? {
        let row = rows[index]
        guard let units = billableUnits(row, duration) else { return nil }
        return amounts(row, units: units)?.usd
    }

    /// Billing units for a duration under the offer's rule, or nil when the basis is unknown.
    private func billableUnits(_ row: PricingRow, _ duration: Seconds) -> Int64? {
        guard row.billable, duration.isValidJobDuration else { return nil }
        return BillingRule.units(duration.micros, unitMicros: row.unitMicros, unitDivisor: row.unitDivisor,
                                 rounding: row.rounding, minimumUnits: row.minimumUnits, capUnits: row.capUnits)
    }

    /// The cost of `units` in the offer's currency and in USD (nil without a rate); nil with no price.
    private func amounts(_ row: PricingRow, units: Int64) -> (cost: Int64, usd: Int64?)? {
        guard let unitPrice = row.pricePerUnitNanos else { return nil }
        // Bounded inputs keep this far inside Int64; checked anyway, so a bug is an unknown cost, not a trap.
        let (product, o1) = unitPrice.multipliedReportingOverflow(by: units)
        let (cost, o2) = product.addingReportingOverflow(row.flatFeeNanos)
        guard !o1, !o2 else { return nil }
        if row.isUSD { return (cost, cost) }
        return (cost, row.usdRateMicros.map { ExchangeRates.convert(cost, usdPerUnitMicros: $0) })
    }

    /// Whether an offer sells what the job asks for (behaviour, and resolution and mode when set).
    public func offer(at index: Int, matches job: Job) -> Bool {
        let row = rows[index]
        return row.behavior == job.behavior
            && (job.resolution == nil || job.resolution == row.resolution)
            && (job.mode == nil || job.mode == row.mode)
    }

    /// Prices every offer that sells what the job asks for, optionally only from some providers.
    ///
    /// Use it to answer "what will this cost, everywhere?"; routing picks among the same estimates.
    public func quote(_ job: Job, providers only: Set<ProviderID>? = nil) -> Quote {
        var estimates: [Estimate] = []
        estimates.reserveCapacity(rows.count)
        let allowed = only.map { ids in providers.map { ids.contains($0.id) } }
        for index in rows.indices where offer(at: index, matches: job) && (allowed?[rows[index].providerIndex] ?? true) {
            estimates.append(estimate(offerAt: index, for: job))
        }
        estimates.sort { quoteOrder($0, $1) }
        return Quote(job: job, estimates: estimates)
    }

    /// The quote's ordering: eligible before not, priced before unknown, cheaper USD first, then
    /// surer confidence, then the offer's identity (provider, behaviour, mode, resolution), so
    /// equal inputs always give equal output.
    public func quoteOrder(_ a: Estimate, _ b: Estimate) -> Bool {
        if a.isEligible != b.isEligible { return a.isEligible }
        switch (a.usd, b.usd) {
        case (.some(let x), .some(let y)) where x.nanos != y.nanos: return x.nanos < y.nanos
        case (.some, .none): return true
        case (.none, .some): return false
        default: break
        }
        let (ra, rb) = (rows[a.offerIndex], rows[b.offerIndex])
        if ra.confidenceRank != rb.confidenceRank { return ra.confidenceRank < rb.confidenceRank }
        return ra.identityRank < rb.identityRank
    }

    static func reasons(_ job: Job, _ provider: ProviderPricing) -> [IneligibilityReason] { check(job, provider).reasons }

    /// Every reason the provider would refuse the job, and the limits it publishes that the job's
    /// known facts could not check.
    static func check(_ job: Job, _ provider: ProviderPricing) -> (reasons: [IneligibilityReason], unchecked: [UncheckedLimit]) {
        var reasons: [IneligibilityReason] = []
        var unchecked: [UncheckedLimit] = []
        let limits = provider.limits
        let name = provider.name
        if let min = limits.video.minimumDuration, job.duration < min {
            reasons.append(.durationTooShort(job.duration, minimum: min, provider: name))
        }
        if let max = limits.video.maximumDuration, job.duration > max {
            reasons.append(.durationTooLong(job.duration, maximum: max, provider: name))
        }
        if let video = job.video { check(video, .video, limits.video, limits, name, into: &reasons, unchecked: &unchecked) }
        if let image = job.image { check(image, .image, limits.image, limits, name, into: &reasons, unchecked: &unchecked) }
        return (reasons, unchecked)
    }

    private static func check(_ facts: MediaFacts, _ kind: MediaKind, _ m: MediaLimits, _ limits: InputLimits,
                              _ name: String, into reasons: inout [IneligibilityReason], unchecked: inout [UncheckedLimit]) {
        if m.formats != nil, facts.format == nil { unchecked.append(.format(kind)) }
        if m.minimumSide != nil || m.maximumSide != nil, facts.width == nil || facts.height == nil { unchecked.append(.pixelSize(kind)) }
        if m.minimumAspect != nil || m.maximumAspect != nil, facts.width == nil || facts.height == nil { unchecked.append(.aspectRatio(kind)) }
        if m.maximumBytes != nil, facts.sizeBytes == nil { unchecked.append(.fileSize(kind)) }
        if let format = facts.format, let accepted = m.formats, !accepted.contains(format) {
            reasons.append(.formatNotAccepted(kind, format: format, accepted: accepted, provider: name))
        }
        if let w = facts.width, let h = facts.height {
            if let min = m.minimumSide, Swift.min(w, h) < min {
                reasons.append(.sideTooSmall(kind, width: w, height: h, minimum: min, provider: name))
            }
            if let max = m.maximumSide, Swift.max(w, h) > max {
                reasons.append(.sideTooLarge(kind, width: w, height: h, maximum: max, provider: name))
            }
            // w/h >= a/b  <=>  w*b >= a*h, exactly in integers.
            let tooNarrow = m.minimumAspect.map { w * $0.height < $0.width * h } ?? false
            let tooWide = m.maximumAspect.map { w * $0.height > $0.width * h } ?? false
            if tooNarrow || tooWide {
                reasons.append(.aspectOutOfRange(kind, width: w, height: h, minimum: m.minimumAspect, maximum: m.maximumAspect, provider: name))
            }
        }
        if let bytes = facts.sizeBytes, let max = m.maximumBytes, bytes > max {
            reasons.append(.fileTooLarge(kind, bytes: bytes, maximum: max, provider: name))
        }
        if let url = facts.url {
            let scheme = url.prefix { $0 != ":" }.lowercased()
            if let schemes = limits.urlSchemes, url.contains(":"), !schemes.contains(scheme) {
                reasons.append(.urlSchemeNotAccepted(kind, scheme: scheme, accepted: schemes, provider: name))
            }
            if limits.urlASCIIOnly, !url.utf8.allSatisfy({ $0 < 0x80 }) {
                reasons.append(.urlNotASCII(kind, provider: name))
            }
        }
    }
}

extension PriceCatalog {
    /// Why providers sell nothing the job asks for, one sentence each ("fal sells replace only",
    /// "apixo sells animate at 480p or 720p only"): for every provider in `only` (or in the
    /// catalog, when nil) that has no offer matching the job's behaviour, resolution and mode.
    public func unsold(_ job: Job, providers only: Set<ProviderID>? = nil) -> [String] {
        var sentences: [String] = []
        for (index, provider) in providers.enumerated() where only?.contains(provider.id) ?? true {
            let mine = offers.indices.filter { offers[$0].providerIndex == index }
            if mine.contains(where: { offer(at: $0, matches: job) }) { continue }
            func list<T: Comparable & Hashable>(_ values: [T], _ word: (T) -> String) -> String {
                Array(Set(values)).sorted().map(word).joined(separator: " or ")
            }
            let sameBehavior = mine.filter { offers[$0].behavior == job.behavior }
            let id = provider.id.rawValue
            if sameBehavior.isEmpty {
                sentences.append("\(id) sells \(list(mine.map { offers[$0].behavior }, \.rawValue)) only")
                continue
            }
            let sameResolution = sameBehavior.filter { job.resolution == nil || offers[$0].resolution == job.resolution }
            if sameResolution.isEmpty {
                sentences.append("\(id) sells \(job.behavior.rawValue) at \(list(sameBehavior.map { offers[$0].resolution }, \.rawValue)) only")
                continue
            }
            let at = job.resolution.map { " at \($0.rawValue)" } ?? ""
            sentences.append("\(id) sells \(job.behavior.rawValue)\(at) in \(list(sameResolution.map { offers[$0].mode }, \.rawValue)) mode only")
        }
        return sentences
    }
}
