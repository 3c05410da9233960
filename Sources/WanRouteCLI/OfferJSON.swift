import WanRoute

/// The JSON shapes `quote` and `route` share, so one offer or job reads the same in both outputs.
enum OfferJSON {
    /// `{"behavior", "duration", "resolution", "mode"}`: the job as priced.
    static func job(_ job: Job) -> [JSONMember] {
        [
            JSONMember("behavior", .string(job.behavior.rawValue)),
            JSONMember("duration", .string(job.duration.decimalString)),
            JSONMember("resolution", .optional(job.resolution?.rawValue)),
            JSONMember("mode", .optional(job.mode?.rawValue)),
        ]
    }

    /// The members every offer object starts with: what is sold, by whom, and what it costs for the job.
    /// `usd` is `{"amount", "currency": "USD", "converted"}` or null; `cost` is in the offer's own currency.
    static func members(_ e: Estimate, _ catalog: PriceCatalog) -> [JSONMember] {
        let offer = catalog.offers[e.offerIndex]
        let provider = catalog.providers[offer.providerIndex]
        let usd: JSONValue = e.usd.map {
            .object([JSONMember("amount", .string($0.decimalString)), JSONMember("currency", .string("USD")),
                     JSONMember("converted", .bool(e.usdIsConverted))])
        } ?? .null
        return [
            JSONMember("provider", .string(offer.provider.rawValue)),
            JSONMember("provider_name", .string(provider.displayName)),
            JSONMember("has_adapter", .bool(provider.hasAdapter)),
            JSONMember("behavior", .string(offer.behavior.rawValue)),
            JSONMember("mode", .string(offer.mode.rawValue)),
            JSONMember("resolution", .string(offer.resolution.rawValue)),
            JSONMember("billable_seconds", .optional(e.billableSeconds?.decimalString)),
            JSONMember("price_per_second", offer.pricePerSecond?.json ?? .null),
            JSONMember("cost", e.cost?.json ?? .null),
            JSONMember("usd", usd),
            JSONMember("confidence", .string(offer.source.confidence.rawValue)),
        ]
    }
}
