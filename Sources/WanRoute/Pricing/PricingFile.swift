/// Reads the two pricing document kinds (`pricing`, `exchange-rates`) into resolved values,
/// collecting every problem. The file format is documented in README.md ("Pricing files").
enum PricingFile {
    enum Content {
        case provider(ProviderDocument)
        case exchangeRates(ExchangeRates)
        case contract(ContractPrices)
        /// A valid JSON object of another kind (a policy); not ours to read.
        case other(kind: String)
    }

    struct Result {
        var content: Content?
        var diagnostics: [Diagnostic]
    }

    static func read(_ file: SourceFile) -> Result {
        let sink = DiagnosticSink(file: file.name)
        guard let document = ParsedDocument.parse(file, sink: sink) else { return Result(content: nil, diagnostics: sink.diagnostics) }
        let content: Content?
        switch DocumentKind(rawValue: document.kind) {
        case .pricing: content = readProvider(document.root, sink: sink).map(Content.provider)
        case .exchangeRates: content = readRates(document.root, sink: sink).map(Content.exchangeRates)
        case .contractPrices: content = readContract(document.root, sink: sink).map(Content.contract)
        default: content = .other(kind: document.kind)
        }
        // A contract with a bad entry is still laid over the tables, so the problems that only
        // the tables reveal (an unknown provider, an offer nobody sells) are reported at once too.
        if case .contract? = content { return Result(content: content, diagnostics: sink.diagnostics) }
        return Result(content: sink.hasErrors ? nil : content, diagnostics: sink.diagnostics)
    }

    // MARK: exchange rates

    private static func readRates(_ root: JSONValue, sink: DiagnosticSink) -> ExchangeRates? {
        guard let r = ObjectReader(root, path: "$", sink: sink) else { return nil }
        DocumentHeader.read(r, as: .exchangeRates)
        if let base = r.string("base"), base != "USD" {
            sink.error("$.base", "the base currency must be \"USD\": every offer is compared in US dollars")
        }
        var rates: [ExchangeRates.Rate] = []
        for (item, path) in r.array("rates") ?? [] {
            guard let o = ObjectReader(item, path: path, sink: sink) else { continue }
            let currency = readCurrency(o, key: "currency")
            // At most 100 USD per unit: with prices and durations bounded, every converted cost stays inside Int64.
            let micros = o.decimal("usd_per_unit", scale: 6, maximum: maximumUSDPerUnitMicros)
            let readOn = readDate(o, key: "read_on")
            let source = o.string("source")
            o.finish()
            if micros == 0 { sink.error("\(path).usd_per_unit", "a rate of zero would make every converted price free") }
            if let currency, currency == .usd { sink.error("\(path).currency", "USD needs no rate") }
            if let currency, rates.contains(where: { $0.currency == currency }) {
                sink.error("\(path).currency", "a second rate for \(currency)")
            }
            if let currency, let micros, micros > 0, let readOn, let source {
                rates.append(.init(currency: currency, usdPerUnitMicros: micros, readOn: readOn, source: source))
            }
        }
        r.finish()
        return ExchangeRates(rates: rates)
    }

    // MARK: provider pricing

    private static func readProvider(_ root: JSONValue, sink: DiagnosticSink) -> ProviderDocument? {
        guard let r = ObjectReader(root, path: "$", sink: sink) else { return nil }
        DocumentHeader.read(r, as: .pricing)
        var id: ProviderID?
        var name: String?
        var region: String?
        var hasAdapter: Bool?
        var docs: String?
        if let p = r.object("provider") {
            if let raw = p.string("id") {
                id = ProviderID(raw)
                if id == nil { sink.error("$.provider.id", "\"\(raw)\" is not a provider id: use lower-case letters, digits and dashes, such as \"dashscope-intl\"") }
            }
            name = p.string("name")
            region = p.string("region", required: false)
            hasAdapter = p.bool("adapter")
            docs = p.string("docs")
            p.finish()
        }
        let billing = r.object("billing").flatMap { readBilling($0) }
        let limits = r.object("limits").flatMap { readLimits($0) }
        var offers: [Offer] = []
        var keys: Set<String> = []
        let offerItems = r.array("offers") ?? []
        if offerItems.isEmpty, r.has("offers") { sink.error("$.offers", "a provider needs at least one offer") }
        for (item, path) in offerItems {
            guard let o = ObjectReader(item, path: path, sink: sink) else { continue }
            if let offer = readOffer(o, provider: id, billing: billing) {
                if !keys.insert(offer.key).inserted {
                    sink.error(path, "a second offer for \(offer.behavior.rawValue) \(offer.mode.rawValue) \(offer.resolution.rawValue); each combination is priced once")
                }
                offers.append(offer)
            }
        }
        r.finish()
        guard let id, let name, let hasAdapter, let docs, let billing, let limits else { return nil }
        let provider = ProviderPricing(id: id, name: name, region: region, hasAdapter: hasAdapter, docs: docs, billing: billing, limits: limits)
        return ProviderDocument(provider: provider, offers: offers)
    }

    /// The most US dollars one unit of another currency may be worth (100), in micro-dollars.
    static let maximumUSDPerUnitMicros: Int64 = 100 * 1_000_000

    /// The most a price per second may be; a bound that keeps every cost far inside Int64.
    static let maximumPricePerSecondNanos: Int64 = 1_000 * 1_000_000_000

    static func readBilling(_ b: ObjectReader) -> BillingRule? {
        let sink = b.sink
        let basis = b.word("basis", as: BillingRule.Basis.self)
        let rounding = b.word("rounding", as: BillingRule.Rounding.self, required: basis != .unknown) ?? .up
        var unitMicros: Int64 = 1_000_000
        var unitDivisor: Int64 = 1
        if basis == .outputFrames {
            if let fps = b.integer("fps", in: 1...1_000) { unitDivisor = fps }
            if b.has("increment_seconds") { _ = b.value("increment_seconds", required: false); sink.error(b.childPath("increment_seconds"), "frame-counted billing has no increment; remove it or use a seconds basis") }
        } else if basis != .unknown {
            if let inc = b.decimal("increment_seconds", scale: Seconds.scale) {
                if inc <= 0 || 1_000_000 % inc != 0 && inc % 1_000_000 != 0 {
                    sink.error(b.childPath("increment_seconds"), "the increment must divide a second evenly (\"0.1\", \"1\") or be whole seconds")
                } else {
                    unitMicros = inc
                }
            }
            if b.has("fps") { _ = b.value("fps", required: false); sink.error(b.childPath("fps"), "fps belongs to the \"output-frames\" basis only") }
        }
        let minimum = b.decimal("minimum_seconds", scale: Seconds.scale, required: false).map(Seconds.init(micros:))
        let cap = b.decimal("cap_seconds", scale: Seconds.scale, required: false).map(Seconds.init(micros:))
        if let minimum, let cap, minimum > cap {
            sink.error(b.childPath("minimum_seconds"), "the minimum (\(minimum)) is above the cap (\(cap))")
        }
        let flatFee = b.object("flat_fee", required: false).flatMap { readMoney($0) }
        let failedTasksFree = b.bool("failed_tasks_free", required: false)
        let notes = b.string("notes", required: false)
        b.finish()
        guard let basis else { return nil }
        return BillingRule(basis: basis, rounding: rounding, unitMicros: unitMicros, unitDivisor: unitDivisor,
                           minimum: minimum, cap: cap, flatFee: flatFee, failedTasksFree: failedTasksFree, notes: notes)
    }

    private static func readLimits(_ l: ObjectReader) -> InputLimits? {
        let video = l.object("video", required: false).map { readMediaLimits($0, kind: .video) } ?? .none
        let image = l.object("image", required: false).map { readMediaLimits($0, kind: .image) } ?? .none
        var schemes: [String]?
        var asciiOnly = false
        if let u = l.object("url", required: false) {
            schemes = u.array("schemes", required: false)?.compactMap { item, path in
                guard let s = item.stringValue, s == "http" || s == "https" || s == "data" else {
                    l.sink.error(path, "expected \"http\", \"https\" or \"data\" (a data URI sent inline)")
                    return nil
                }
                return s
            }
            asciiOnly = u.bool("ascii_only", required: false) ?? false
            u.finish()
        }
        l.finish()
        return InputLimits(video: video, image: image, urlSchemes: schemes, urlASCIIOnly: asciiOnly)
    }

    static let videoFormats = ["mp4", "mov", "m4v", "avi"]
    static let imageFormats = ["jpeg", "png", "bmp", "webp"]

    private static func readMediaLimits(_ m: ObjectReader, kind: MediaKind) -> MediaLimits {
        var limits = MediaLimits()
        let allowed = kind == .video ? videoFormats : imageFormats
        limits.formats = m.array("formats", required: false)?.compactMap { item, path in
            guard let s = item.stringValue, allowed.contains(s) else {
                m.sink.error(path, "expected one of \(allowed.map { "\"\($0)\"" }.joined(separator: ", ")) (write JPG as \"jpeg\")")
                return nil
            }
            return s
        }
        if kind == .video, let d = m.object("duration_seconds", required: false) {
            limits.minimumDuration = d.decimal("min", scale: Seconds.scale, required: false).map(Seconds.init(micros:))
            limits.maximumDuration = d.decimal("max", scale: Seconds.scale, required: false).map(Seconds.init(micros:))
            d.finish()
            if let lo = limits.minimumDuration, let hi = limits.maximumDuration, lo > hi {
                m.sink.error(d.childPath("min"), "the shortest duration (\(lo)) is above the longest (\(hi))")
            }
        }
        if let s = m.object("side_pixels", required: false) {
            limits.minimumSide = s.integer("min", in: 1...100_000, required: false)
            limits.maximumSide = s.integer("max", in: 1...100_000, required: false)
            s.finish()
            if let lo = limits.minimumSide, let hi = limits.maximumSide, lo > hi {
                m.sink.error(s.childPath("min"), "the smallest side (\(lo)) is above the largest (\(hi))")
            }
        }
        if let a = m.object("aspect_ratio", required: false) {
            func ratio(_ key: String) -> AspectRatio? {
                guard let text = a.string(key, required: false) else { return nil }
                guard let r = AspectRatio(text) else {
                    a.sink.error(a.childPath(key), "\"\(text)\" is not a ratio such as \"1:3\"")
                    return nil
                }
                return r
            }
            limits.minimumAspect = ratio("min")
            limits.maximumAspect = ratio("max")
            a.finish()
        }
        limits.maximumBytes = m.integer("max_bytes", in: 1...(1 << 50), required: false)
        m.finish()
        return limits
    }

    private static func readOffer(_ o: ObjectReader, provider: ProviderID?, billing: BillingRule?) -> Offer? {
        let sink = o.sink
        let behavior = o.word("behavior", as: Behavior.self)
        let mode = o.word("mode", as: Mode.self)
        let resolution = o.word("resolution", as: Resolution.self)
        var price: Money?
        let priceValue = o.value("price_per_second", required: true)
        if let priceValue, priceValue != .null {
            if let p = ObjectReader(priceValue, path: o.childPath("price_per_second"), sink: sink) { price = readMoney(p) }
        }
        let quality = o.integer("quality", in: 0...100)
        var latency: LatencyModel?
        if let l = o.object("latency") {
            let queue = l.quantity("queue_seconds")
            let perSecond = l.quantity("seconds_per_output_second")
            l.finish()
            if let queue, let perSecond { latency = LatencyModel(queueSeconds: queue, secondsPerOutputSecond: perSecond) }
        }
        let source = o.object("source").flatMap { s -> Provenance? in
            let url = s.string("url")
            let confidence = s.word("confidence", as: Confidence.self)
            let readOn = readDate(s, key: "read_on")
            let note = s.string("note", required: false)
            s.finish()
            guard let url, let confidence, let readOn else { return nil }
            return Provenance(url: url, confidence: confidence, readOn: readOn, note: note)
        }
        o.finish()
        if let source, priceValue != nil {
            if price == nil, priceValue == .null, source.confidence != .unknown {
                sink.error(o.childPath("source.confidence"), "an offer with no price must say \"unknown\" confidence")
            }
            if price != nil, source.confidence == .unknown {
                sink.error(o.childPath("price_per_second"), "a price marked \"unknown\" must be null: ship no number nobody publishes")
            }
        }
        let pricePerUnit = price.flatMap { p in billing.flatMap { unitPrice(p, $0, path: o.childPath("price_per_second"), sink: sink) } }
        guard let provider, let behavior, let mode, let resolution, let quality, let latency, let source else { return nil }
        return Offer(providerIndex: -1, provider: provider, behavior: behavior, mode: mode, resolution: resolution,
                     pricePerSecond: price, pricePerUnit: pricePerUnit, quality: Int(quality), latency: latency, source: source)
    }

    /// The exact price of one billing unit, or nil with a diagnostic at `path` (the price object)
    /// when the price is implausible or does not divide into the unit.
    static func unitPrice(_ price: Money, _ billing: BillingRule, path: String, sink: DiagnosticSink) -> Money? {
        if price.nanos > maximumPricePerSecondNanos {
            sink.error("\(path).amount", "above \(Money(nanos: maximumPricePerSecondNanos, currency: price.currency)) a second; check the decimal point")
            return nil
        }
        if let fee = billing.flatFee, fee.currency != price.currency {
            sink.error("\(path).currency", "the flat fee is in \(fee.currency) but this price is in \(price.currency); use one currency per provider")
        }
        // One unit costs price × unitMicros / (unitDivisor × 10^6); it must be a whole number of nano-units.
        let numerator = price.nanos.multipliedFullWidth(by: billing.unitMicros)
        let denominator = billing.unitDivisor * 1_000_000
        let (q, r) = denominator.dividingFullWidth(numerator)
        guard r == 0 else {
            sink.error("\(path).amount", "\(price.decimalString) a second does not divide exactly into the billing unit (1/\(billing.unitDivisor) of \(Seconds(micros: billing.unitMicros))); give more decimals or check the unit")
            return nil
        }
        return Money(nanos: q, currency: price.currency)
    }

    // MARK: contract prices

    /// `{"kind": "contract-prices", "version": 1, "providers": [{"id", "billing"?, "prices": [...]}]}`:
    /// negotiated prices laid over the built-in tables (README, "Contract prices").
    private static func readContract(_ root: JSONValue, sink: DiagnosticSink) -> ContractPrices? {
        guard let r = ObjectReader(root, path: "$", sink: sink) else { return nil }
        DocumentHeader.read(r, as: .contractPrices)
        var result = ContractPrices(file: sink.file)
        let items = r.array("providers") ?? []
        if items.isEmpty, r.has("providers") { sink.error("$.providers", "name at least one provider and its prices") }
        for (item, path) in items {
            guard let p = ObjectReader(item, path: path, sink: sink) else { continue }
            var id: ProviderID?
            if let raw = p.string("id") {
                id = ProviderID(raw)
                if id == nil { sink.error(p.childPath("id"), "\"\(raw)\" is not a provider id, such as \"aimlapi\"") }
            }
            let billing = p.object("billing", required: false).flatMap { readBilling($0) }
            var prices: [ContractPrices.Price] = []
            let priceItems = p.array("prices") ?? []
            if priceItems.isEmpty, p.has("prices") { sink.error(p.childPath("prices"), "give at least one price") }
            for (priceItem, pricePath) in priceItems {
                guard let o = ObjectReader(priceItem, path: pricePath, sink: sink) else { continue }
                let behavior = o.word("behavior", as: Behavior.self, required: false)
                let mode = o.word("mode", as: Mode.self, required: false)
                let resolution = o.word("resolution", as: Resolution.self, required: false)
                let price = o.object("price_per_second").flatMap { readMoney($0) }
                let readOn = readDate(o, key: "read_on")
                let note = o.string("note", required: false)
                o.finish()
                if let price, price.nanos <= 0 { sink.error(o.childPath("price_per_second.amount"), "a contract price must be above zero") }
                if let price, let readOn, price.nanos > 0 {
                    prices.append(.init(behavior: behavior, mode: mode, resolution: resolution, price: price, readOn: readOn, note: note, path: pricePath))
                }
            }
            p.finish()
            if let id {
                if result.providers.contains(where: { $0.id == id }) { sink.error(p.childPath("id"), "\(id) is listed twice; give each provider once") }
                result.providers.append(.init(id: id, billing: billing, prices: prices, path: path))
            }
        }
        r.finish()
        return result
    }

    // MARK: shared fields

    private static func readCurrency(_ o: ObjectReader, key: String) -> Currency? {
        guard let code = o.string(key) else { return nil }
        guard let c = Currency(code: code) else {
            o.sink.error(o.childPath(key), "\"\(code)\" is not a currency wanroute knows (\(Currency.known.map(\.code).joined(separator: ", ")))")
            return nil
        }
        return c
    }

    /// `{"amount": "0.04", "currency": "USD"}`.
    private static func readMoney(_ o: ObjectReader) -> Money? {
        let amount = o.decimal("amount", scale: Money.scale)
        let currency = readCurrency(o, key: "currency")
        o.finish()
        guard let amount, let currency else { return nil }
        return Money(nanos: amount, currency: currency)
    }

    /// A `YYYY-MM-DD` date, kept as text.
    private static func readDate(_ o: ObjectReader, key: String) -> String? {
        guard let s = o.string(key) else { return nil }
        let parts = s.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              y >= 2000, (1...12).contains(m), (1...31).contains(d) else {
            o.sink.error(o.childPath(key), "\"\(s)\" is not a date of the form YYYY-MM-DD")
            return nil
        }
        return s
    }
}
