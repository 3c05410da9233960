import Foundation

// The stable JSON of a quote and of a routing decision: what `wanroute quote --format json` and
// `wanroute route --format json` print, here so a service embedding the library writes the same
// schema (README, "JSON output" and "wanroute route"). Keys are never renamed or removed; new keys
// may be added.

/// The JSON shapes a quote and a decision share, so one offer or job reads the same in both.
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

extension Quote {
    /// The sentence for a quote no provider would accept ("no offer sells this job: apixo sells
    /// animate at 480p or 720p only", "no offer is eligible: ..."), or nil when an offer is eligible.
    /// `unsold` is ``PriceCatalog/unsold(_:providers:)`` for the job.
    public func refusal(unsold: [String]) -> String? {
        if estimates.isEmpty {
            return "no offer sells this job" + (unsold.isEmpty ? "" : ": " + unsold.joined(separator: "; "))
        }
        if !estimates.contains(where: \.isEligible) {
            return "no offer is eligible: every provider that sells this job refuses it (the reasons are listed per offer)"
        }
        return nil
    }

    /// The quote as the stable JSON object `wanroute quote --format json` prints:
    /// `{"job", "offers", "unsold", "refusal"}`. `providers` is the set the quote was limited to
    /// (it decides which providers `unsold` speaks of); `today` (`YYYY-MM-DD`), when given, marks
    /// offers whose price was read more than `maximumPriceAgeDays` before it as `"stale": true`.
    public func json(catalog: PriceCatalog, providers: Set<ProviderID>? = nil, today: String? = nil,
                     maximumPriceAgeDays: Int = 90) -> JSONValue {
        let unsold = catalog.unsold(for: self, providers: providers)
        let cheapest = cheapest?.offerIndex
        let offers: [JSONValue] = estimates.map { e in
            let offer = catalog.offers[e.offerIndex]
            let stale = today.flatMap { offer.source.ageInDays(asOf: $0) }.map { $0 > maximumPriceAgeDays } ?? false
            return .object(OfferJSON.members(e, catalog) + [
                JSONMember("eligible", .bool(e.isEligible)),
                JSONMember("cheapest", .bool(e.offerIndex == cheapest)),
                JSONMember("reasons", .array(e.reasons.map { .string($0.description) })),
                JSONMember("limits_published", .bool(e.limitsPublished)),
                JSONMember("unchecked", .array(e.unchecked.map { .string($0.description) })),
                JSONMember("source", .object([JSONMember("url", .string(offer.source.url)), JSONMember("read_on", .string(offer.source.readOn))])),
                JSONMember("stale", .bool(stale)),
            ])
        }
        return .object([
            JSONMember("job", .object(OfferJSON.job(job))),
            JSONMember("offers", .array(offers)),
            JSONMember("unsold", .array(unsold.map(JSONValue.string))),
            JSONMember("refusal", .optional(refusal(unsold: unsold))),
        ])
    }
}

extension PriceCatalog {
    /// ``unsold(_:providers:)`` for a quote: the named providers that sell nothing it asks for,
    /// or, when none were named and nothing matched at all, every provider.
    public func unsold(for quote: Quote, providers: Set<ProviderID>?) -> [String] {
        unsold(quote.job, providers: providers ?? (quote.estimates.isEmpty ? nil : []))
    }
}

extension Decision {
    /// The last fired rule of `policy` that sets `value`, or nil when the policy's own value is in force.
    public func rule<T>(setting value: KeyPath<Rule, T?>, in policy: Policy) -> Rule? {
        let fired = Set(firedRules)
        return policy.rules.last { fired.contains($0.id) && $0[keyPath: value] != nil }
    }

    /// The provider preference in force after the rules, and the rule that set it (nil: the policy's own).
    public func preference(in policy: Policy) -> (preference: Preference, setBy: Rule?)? {
        if let rule = rule(setting: \.preference, in: policy), let p = rule.preference { return (p, rule) }
        return policy.preference.map { ($0, nil) }
    }

    /// The decision as the stable JSON object `wanroute route --format json` prints (README,
    /// "wanroute route"); `policy` is the policy that decided, for which rule set what.
    public func json(policy: Policy, catalog: PriceCatalog) -> JSONValue {
        func ranked(_ r: RankedOffer) -> JSONValue {
            .object(OfferJSON.members(r.estimate, catalog) + [
                JSONMember("expected_latency_seconds", .number(String(Int64(r.expectedLatencySeconds.rounded())))),
                JSONMember("score", r.score.map { .number(String(format: "%.6f", $0)) } ?? .null),
            ])
        }
        let tags = JSONValue.object(job.tags.keys.sorted().map { JSONMember($0, .string(job.tags[$0]!)) })
        var weights: JSONValue = .null
        var objectiveName = objective.description
        if case .weighted(let w) = objective {
            objectiveName = "weighted"
            weights = .object([JSONMember("cost", .number(w.cost)), JSONMember("quality", .number(w.quality)), JSONMember("latency", .number(w.latency))])
        }
        let rules: [JSONValue] = self.rules.map { r in
            let (status, stoppedBy): (String, String?) = switch r.status {
            case .fired: ("fired", nil)
            case .notMatched: ("not-matched", nil)
            case .notEvaluated(let by): ("not-evaluated", by)
            }
            return .object([JSONMember("id", .string(r.id)), JSONMember("status", .string(status)), JSONMember("stopped_by", .optional(stoppedBy))])
        }
        return .object([
            JSONMember("policy", .string(policyName)),
            JSONMember("job", .object(OfferJSON.job(job) + [JSONMember("tags", tags)])),
            JSONMember("choice", choice.map(ranked) ?? .null),
            JSONMember("alternates", .array(alternates.map(ranked))),
            JSONMember("qualifying", .number(String(qualifyingCount))),
            JSONMember("rejected", .array(rejected.map { r in
                .object(OfferJSON.members(r.estimate, catalog) + [JSONMember("reasons", .array(r.reasons.map { .string($0.description) }))])
            })),
            JSONMember("rules", .array(rules)),
            JSONMember("objective", .object([
                JSONMember("name", .string(objectiveName)), JSONMember("weights", weights),
                JSONMember("set_by", .optional(rule(setting: \.objective, in: policy)?.id)),
            ])),
            JSONMember("preference", preference(in: policy).map { p, rule in
                .object([
                    JSONMember("providers", .array(p.providers.map { .string($0.rawValue) })),
                    JSONMember("rank", .string(p.rank.rawValue)),
                    JSONMember("set_by", .optional(rule?.id)),
                ])
            } ?? .null),
            JSONMember("failover", .object([
                JSONMember("alternates", .number(String(failover.alternates))),
                JSONMember("on", .array(failover.orderedClasses.map { .string($0.rawValue) })),
            ])),
            JSONMember("refused", .bool(isRefused)),
            JSONMember("refusal", .optional(refusal)),
        ])
    }
}

extension FailoverPlan {
    /// The failure classes that fail over, in their documented order.
    public var orderedClasses: [FailureClass] { FailureClass.allCases.filter(on.contains) }
}
