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
    /// A digest of the files the catalog was loaded from, tables and overlays
    /// (``SourceDigest/pricing(files:overlays:)``): the ledger records it with every decision.
    public let sourceDigest: String?
    /// Per offer, everything pricing and ordering need as plain integers (see ``PricingRow``).
    let rows: [PricingRow]

    init(providers: [ProviderPricing], offers: [Offer], exchangeRates: ExchangeRates, warnings: [Diagnostic], sourceDigest: String? = nil) {
        self.sourceDigest = sourceDigest
        self.providers = providers
        self.offers = offers
        self.exchangeRates = exchangeRates
        self.warnings = warnings
        // Modes rank by the cheapest known USD price per second of their behaviour and mode at any
        // provider, so a provider whose prices are all unknown still offers wan-std before wan-pro,
        // as the providers that publish prices do; a mode priced nowhere comes last, then by name.
        var cheapestMode: [String: Int64] = [:]
        for o in offers {
            guard let price = o.pricePerSecond, let usd = exchangeRates.usd(price) else { continue }
            let key = "\(o.behavior.rawValue) \(o.mode.rawValue)"
            cheapestMode[key] = min(cheapestMode[key] ?? .max, usd.nanos)
        }
        let modeRank = { (o: Offer) in cheapestMode["\(o.behavior.rawValue) \(o.mode.rawValue)"] ?? .max }
        let identity = offers.indices.sorted {
            let (a, b) = (offers[$0], offers[$1])
            return (a.provider.rawValue, a.behavior.rawValue, modeRank(a), a.mode.rawValue, a.resolution.shortSide)
                < (b.provider.rawValue, b.behavior.rawValue, modeRank(b), b.mode.rawValue, b.resolution.shortSide)
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

    /// The built-in catalog with `overlays` laid over it (see ``load(files:overlays:)``).
    public static func builtIn(overlays: [SourceFile]) throws(PricingError) -> PriceCatalog {
        overlays.isEmpty ? try builtIn() : try load(files: BuiltInDefaults.pricing, overlays: overlays)
    }

    /// Loads a catalog from named texts: any number of `"kind": "pricing"` files and at most one
    /// `"kind": "exchange-rates"` file (needed only when a price is not in USD). Throws
    /// ``PricingError/invalid(_:)`` with every problem.
    ///
    /// `overlays` are laid over `files`, so a negotiated price needs no copy of the tables: a
    /// pricing file there replaces (or adds) its provider, an exchange-rates file replaces the
    /// rates, and a `"kind": "contract-prices"` file sets the price of matching offers, shown with
    /// confidence `contract` (README, "Contract prices"). Overlays are validated like the tables.
    public static func load(files: [SourceFile], overlays: [SourceFile] = []) throws(PricingError) -> PriceCatalog {
        var diagnostics: [Diagnostic] = []
        var documents: [(SourceFile, ProviderDocument)] = []
        var rates: [(SourceFile, ExchangeRates)] = []
        var contracts: [ContractPrices] = []
        for file in files {
            let result = PricingFile.read(file)
            diagnostics += result.diagnostics
            switch result.content {
            case .provider(let doc): documents.append((file, doc))
            case .exchangeRates(let r): rates.append((file, r))
            case .contract:
                diagnostics.append(Diagnostic(file: file.name, path: "$.kind", message: "contract prices are laid over the tables, not mixed into them; pass the file with --contract"))
            case .other, .none: break
            }
        }
        for file in overlays {
            let result = PricingFile.read(file)
            diagnostics += result.diagnostics
            switch result.content {
            case .provider(let doc):
                documents.removeAll { $0.1.provider.id == doc.provider.id }
                documents.append((file, doc))
            case .exchangeRates(let r):
                rates = [(file, r)]
            case .contract(let c):
                contracts.append(c)
            case .other(let kind):
                diagnostics.append(Diagnostic(file: file.name, path: "$.kind", message: "an overlay holds \"contract-prices\", \"pricing\" or \"exchange-rates\" files, not \"\(kind)\""))
            case .none: break
            }
        }
        for contract in contracts { apply(contract, to: &documents, diagnostics: &diagnostics) }
        if rates.count > 1 {
            for (file, _) in rates.dropFirst() {
                diagnostics.append(Diagnostic(file: file.name, path: "$", message: "a second exchange-rates file; keep exactly one"))
            }
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
                    let message = rates.isEmpty
                        ? "priced in \(c), but there is no exchange-rates file to convert it to USD; add exchange-rates.json (it may be left out only when every price is in USD)"
                        : "no exchange rate for \(c) in the exchange-rates file, so this offer cannot be compared in USD; add a rate"
                    diagnostics.append(Diagnostic(file: file.name, path: "$.offers[\(i)].price_per_second.currency", message: message))
                }
            }
            let index = providers.count
            providers.append(doc.provider)
            offers += doc.offers.map { $0.placed(at: index) }
        }
        if diagnostics.contains(where: { $0.severity == .error }) { throw .invalid(diagnostics) }
        return PriceCatalog(providers: providers, offers: offers, exchangeRates: exchange, warnings: diagnostics,
                            sourceDigest: SourceDigest.pricing(files: files, overlays: overlays))
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
    /// The offer's position when ordered by provider, behaviour, mode (by the cheapest known price of
    /// the mode anywhere, then name) and resolution: the last
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

extension PriceCatalog {
    /// Sets the prices a contract names on the matching offers, with confidence `contract`;
    /// every entry must match at least one offer, and a provider whose billing rule is unknown
    /// needs one in the contract, since a price alone cannot be turned into a cost.
    static func apply(_ contract: ContractPrices, to documents: inout [(SourceFile, ProviderDocument)], diagnostics: inout [Diagnostic]) {
        let sink = DiagnosticSink(file: contract.file)
        defer { diagnostics += sink.diagnostics }
        for entry in contract.providers {
            guard let d = documents.firstIndex(where: { $0.1.provider.id == entry.id }) else {
                let known = documents.map(\.1.provider.id.rawValue)
                let guess = Spelling.closest(to: entry.id.rawValue, among: known).map { "; did you mean \"\($0)\"?" } ?? ""
                sink.error("\(entry.path).id", "no pricing table for provider \"\(entry.id)\"\(guess) (known: \(known.joined(separator: ", ")))")
                continue
            }
            var doc = documents[d].1
            if let billing = entry.billing {
                let p = doc.provider
                doc.provider = ProviderPricing(id: p.id, name: p.name, region: p.region, hasAdapter: p.hasAdapter, docs: p.docs, billing: billing, limits: p.limits)
            }
            let billing = doc.provider.billing
            if billing.basis == .unknown, !entry.prices.isEmpty {
                sink.error("\(entry.path).billing", "\(entry.id)'s billing rule is unknown, so a price alone gives no cost; add the contract's \"billing\" rule (basis, increment_seconds, rounding)")
                continue
            }
            for price in entry.prices {
                let matching = doc.offers.indices.filter { i in
                    let o = doc.offers[i]
                    return (price.behavior ?? o.behavior) == o.behavior && (price.mode ?? o.mode) == o.mode
                        && (price.resolution ?? o.resolution) == o.resolution
                }
                if matching.isEmpty {
                    let what = [price.behavior?.rawValue, price.mode?.rawValue, price.resolution?.rawValue].compactMap { $0 }.joined(separator: " ")
                    sink.error(price.path, "\(entry.id) sells no \(what) offer; a contract can only price what the tables list")
                    continue
                }
                guard let unit = PricingFile.unitPrice(price.price, billing, path: "\(price.path).price_per_second", sink: sink) else { continue }
                for i in matching {
                    let o = doc.offers[i]
                    let source = Provenance(url: "contract: \(contract.file)", confidence: .contract, readOn: price.readOn, note: price.note)
                    doc.offers[i] = Offer(providerIndex: o.providerIndex, provider: o.provider, behavior: o.behavior, mode: o.mode,
                                          resolution: o.resolution, pricePerSecond: price.price, pricePerUnit: unit,
                                          quality: o.quality, latency: o.latency, source: source)
                }
            }
            // Prices the contract does not name keep the table's unit price, recomputed under a new rule.
            if entry.billing != nil {
                for i in doc.offers.indices where doc.offers[i].source.confidence != .contract {
                    let o = doc.offers[i]
                    let unit = o.pricePerSecond.flatMap { PricingFile.unitPrice($0, billing, path: "\(entry.path).billing", sink: sink) }
                    doc.offers[i] = Offer(providerIndex: o.providerIndex, provider: o.provider, behavior: o.behavior, mode: o.mode,
                                          resolution: o.resolution, pricePerSecond: o.pricePerSecond, pricePerUnit: unit,
                                          quality: o.quality, latency: o.latency, source: o.source)
                }
            }
            documents[d].1 = doc
        }
    }
}

/// A `contract-prices` file, read but not yet laid over a catalog.
struct ContractPrices {
    struct Price {
        var behavior: Behavior?
        var mode: Mode?
        var resolution: Resolution?
        var price: Money
        var readOn: String
        var note: String?
        var path: String
    }

    struct Provider {
        var id: ProviderID
        var billing: BillingRule?
        var prices: [Price]
        var path: String
    }

    var file: String
    var providers: [Provider] = []
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
