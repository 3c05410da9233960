/// A policy compiled against a price catalog: decides where each job goes.
///
/// Build it once (everything that does not depend on the job is precomputed here: which offers
/// each provider, mode, resolution, quality and confidence constraint refuses, preference ranks,
/// the deterministic tie-break order), then call ``decide(_:spend:)`` from any number of threads.
/// It is an immutable value and does no I/O.
public struct Router: Sendable {
    /// The policy as written.
    public var policy: Policy { compiled.policy }
    /// The catalog the policy was compiled against.
    public var catalog: PriceCatalog { compiled.catalog }

    let compiled: CompiledPolicy

    /// Compiles `policy` against `catalog`. Throws ``PolicyError/noExchangeRate(_:)`` when a cost
    /// limit is written in a currency the catalog cannot convert to USD.
    public init(policy: Policy, catalog: PriceCatalog) throws(PolicyError) {
        compiled = try CompiledPolicy(policy: policy, catalog: catalog)
    }

    /// Where `job` should go under the policy, given this month's spend so far.
    ///
    /// Considers the offers that sell what the job asks for (its behaviour, and its resolution and
    /// mode when set), as ``PriceCatalog/quote(_:providers:)`` does; every one is either ranked or
    /// rejected with its reasons. When none qualifies, ``Decision/choice`` is nil.
    public func decide(_ job: Job, spend: SpendSnapshot = .none) -> Decision {
        compiled.decide(job, spend: spend)
    }
}
