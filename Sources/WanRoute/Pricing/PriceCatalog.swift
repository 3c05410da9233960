import Foundation

/// Why pricing data could not be used.
public enum PricingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The files hold mistakes; every one is listed.
    case invalid([Diagnostic])
    /// A file or directory could not be read.
    case unreadable(path: String, reason: String)
    /// A directory held no pricing files.
    case noPricingFiles(directory: String)

    /// The problem as text for people; invalid files list one diagnostic per line.
    public var description: String {
        switch self {
        case .invalid(let diagnostics):
            return diagnostics.map(\.description).joined(separator: "\n")
        case .unreadable(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .noPricingFiles(let directory):
            return "\(directory) holds no pricing files (*.json with \"kind\": \"pricing\"); name a directory such as ./pricing"
        }
    }
}

/// Every offer wanroute can price: the providers' pricing files and the exchange rates, resolved
/// and validated.
///
/// Load it once (``builtIn()``, ``load(directory:)``), then quote any number of jobs against it;
/// it is an immutable value, safe to share across threads.
public struct PriceCatalog: Sendable {
    /// Providers in file-name order.
    public let providers: [ProviderPricing]
    /// Every offer, grouped by provider in file order.
    public let offers: [Offer]
    /// The rates that convert non-USD prices to US dollars.
    public let exchangeRates: ExchangeRates
    /// Warnings found while loading (errors make loading fail instead).
    public let warnings: [Diagnostic]
    /// Per offer, everything pricing and ordering need as plain integers (see ``PricingRow``).
    let rows: [PricingRow]

    init(providers: [ProviderPricing], offers: [Offer], exchangeRates: ExchangeRates, warnings: [Diagnostic]) {
        self.providers = providers
        self.offers = offers
        self.exchangeRates = exchangeRates
        self.warnings = warnings
        let identity = offers.indices.sorted {
            let (a, b) = (offers[$0], offers[$1])
            return (a.provider.rawValue, a.behavior.rawValue, a.mode.rawValue, a.resolution.shortSide)
                < (b.provider.rawValue, b.behavior.rawValue, b.mode.rawValue, b.resolution.shortSide)
        }
        var rank = [Int32](repeating: 0, count: offers.count)
        for (position, index) in identity.enumerated() { rank[index] = Int32(position) }
        self.rows = offers.indices.map { PricingRow(offers[$0], providers[offers[$0].providerIndex], exchangeRates, identityRank: rank[$0]) }
    }

    /// The provider with an id, or nil.
    public func provider(_ id: ProviderID) -> ProviderPricing? { providers.first { $0.id == id } }

    /// The catalog built into the binary: a copy of the repository's `pricing/` directory.
    public static func builtIn() throws(PricingError) -> PriceCatalog {
        try builtInResult.get()
    }

    private static let builtInResult: Result<PriceCatalog, PricingError> = {
        do throws(PricingError) {
            return .success(try load(files: BuiltInDefaults.pricing))
        } catch {
            return .failure(error)
        }
    }()

    /// Loads every pricing and exchange-rate file in a directory.
    public static func load(directory: URL) throws(PricingError) -> PriceCatalog {
        let files: [SourceFile]
        do throws(SourceFileError) {
            files = try SourceFile.jsonFiles(in: directory)
        } catch {
            switch error { case .unreadable(let path, let reason): throw .unreadable(path: path, reason: reason) }
        }
        if files.isEmpty { throw .noPricingFiles(directory: directory.path) }
        return try load(files: files)
    }

    /// Loads a catalog from named texts: any number of `"kind": "pricing"` files and exactly one
    /// `"kind": "exchange-rates"` file. Throws ``PricingError/invalid(_:)`` with every problem.
    public static func load(files: [SourceFile]) throws(PricingError) -> PriceCatalog {
        var diagnostics: [Diagnostic] = []
        var documents: [(SourceFile, ProviderDocument)] = []
        var rates: [(SourceFile, ExchangeRates)] = []
        for file in files {
            let result = PricingFile.read(file)
            diagnostics += result.diagnostics
            switch result.content {
            case .provider(let doc): documents.append((file, doc))
            case .exchangeRates(let r): rates.append((file, r))
            case .other, .none: break
            }
        }
        if rates.count > 1 {
            for (file, _) in rates.dropFirst() {
                diagnostics.append(Diagnostic(file: file.name, path: "$", message: "a second exchange-rates file; keep exactly one"))
            }
        }
        if rates.isEmpty, !documents.isEmpty {
            diagnostics.append(Diagnostic(file: documents[0].0.name, path: "$", message: "no exchange-rates file was found beside the pricing files, so nothing can be converted to USD; add exchange-rates.json"))
        }
        if documents.isEmpty, diagnostics.isEmpty {
            diagnostics.append(Diagnostic(file: files.first?.name ?? "(no files)", path: "$", message: "no pricing files (\"kind\": \"pricing\") were found"))
        }
        let exchange = rates.first?.1 ?? ExchangeRates(rates: [])
        var seen: [ProviderID: String] = [:]
        var providers: [ProviderPricing] = []
        var offers: [Offer] = []
        for (file, doc) in documents {
            if let other = seen[doc.provider.id] {
                diagnostics.append(Diagnostic(file: file.name, path: "$.provider.id", message: "provider \"\(doc.provider.id)\" is also defined in \(other); each provider has one file"))
                continue
            }
            seen[doc.provider.id] = file.name
            for (i, offer) in doc.offers.enumerated() {
                if let c = offer.pricePerSecond?.currency, c != .usd, exchange.rate(for: c) == nil {
                    diagnostics.append(Diagnostic(file: file.name, path: "$.offers[\(i)].price_per_second.currency", message: "no exchange rate for \(c) in the exchange-rates file, so this offer cannot be compared in USD; add a rate"))
                }
            }
            let index = providers.count
            providers.append(doc.provider)
            offers += doc.offers.map { $0.placed(at: index) }
        }
        if diagnostics.contains(where: { $0.severity == .error }) { throw .invalid(diagnostics) }
        return PriceCatalog(providers: providers, offers: offers, exchangeRates: exchange, warnings: diagnostics)
    }
}

/// One offer flattened for the quoting hot path: only trivially copyable fields, so pricing a job
/// touches no reference counts. Built once per catalog; strings stay in ``Offer`` and
/// ``ProviderPricing`` and are read only to word a reason.
struct PricingRow {
    let behavior: Behavior
    let mode: Mode
    let resolution: Resolution
    let providerIndex: Int
    let billable: Bool
    let rounding: BillingRule.Rounding
    let unitMicros: Int64
    let unitDivisor: Int64
    let minimumUnits: Int64
    let capUnits: Int64
    let pricePerUnitNanos: Int64?
    let flatFeeNanos: Int64
    /// USD per unit of the offer's currency in micro-units; nil for USD (no conversion).
    let usdRateMicros: Int64?
    let isUSD: Bool
    /// The offer's currency as a position in ``Currency/known``: an integer keeps the row free of
    /// reference-counted fields, so reading it costs no retain and release.
    let currencyIndex: Int8
    var currency: Currency { Currency.known[Int(currencyIndex)] }
    let minimumDurationMicros: Int64
    let maximumDurationMicros: Int64
    let limitsPublished: Bool
    let confidenceRank: Int8
    /// The offer's position when ordered by provider, behaviour, mode and resolution: the last
    /// tie-break of every ranking, precomputed so comparing two offers compares two integers.
    let identityRank: Int32

    init(_ offer: Offer, _ provider: ProviderPricing, _ rates: ExchangeRates, identityRank: Int32) {
        let billing = provider.billing
        behavior = offer.behavior
        mode = offer.mode
        resolution = offer.resolution
        providerIndex = offer.providerIndex
        billable = billing.basis != .unknown
        rounding = billing.rounding
        unitMicros = billing.unitMicros
        unitDivisor = billing.unitDivisor
        minimumUnits = billing.minimumUnits
        capUnits = billing.capUnits
        pricePerUnitNanos = offer.pricePerUnit?.nanos
        flatFeeNanos = billing.flatFee?.nanos ?? 0
        let currency = offer.pricePerSecond?.currency ?? .usd
        currencyIndex = Int8(Currency.known.firstIndex(of: currency)!)
        isUSD = currency == .usd
        usdRateMicros = isUSD ? nil : rates.rate(for: currency)?.usdPerUnitMicros
        minimumDurationMicros = provider.limits.video.minimumDuration?.micros ?? .min
        maximumDurationMicros = provider.limits.video.maximumDuration?.micros ?? .max
        limitsPublished = provider.limits.isPublished
        confidenceRank = Int8(offer.source.confidence.rank)
        self.identityRank = identityRank
    }

    /// Whether a cost in USD can be estimated for any duration: a price, a billing rule and,
    /// for another currency, an exchange rate.
    var isPriced: Bool { billable && pricePerUnitNanos != nil && (isUSD || usdRateMicros != nil) }
}

/// A pricing file's provider and offers, resolved but not yet placed in a catalog.
struct ProviderDocument {
    var provider: ProviderPricing
    var offers: [Offer]
}

extension Offer {
    /// The same offer, pointing at its provider's position in a catalog.
    func placed(at index: Int) -> Offer {
        Offer(providerIndex: index, provider: provider, behavior: behavior, mode: mode, resolution: resolution,
              pricePerSecond: pricePerSecond, pricePerUnit: pricePerUnit, quality: quality, latency: latency, source: source)
    }
}
