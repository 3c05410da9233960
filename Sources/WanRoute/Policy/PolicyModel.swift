/// A routing policy, resolved from a `"kind": "policy"` document: what to optimise, what is never
/// allowed, rules that adapt both to the job, how to fail over, and monthly budgets.
///
/// Read one with ``Policy/load(_:catalog:)``, then compile it with ``Router/init(policy:catalog:)``
/// and decide any number of jobs. The format is documented in README.md ("Routing policies").
public struct Policy: Sendable, Equatable {
    /// The policy's name, for explanations and ledgers (`production`).
    public var name: String
    /// Free text for people.
    public var description: String?
    /// Tag keys the policy expects on jobs; when declared, conditions on other tags are warned about.
    public var knownTags: [String]?
    /// What the router optimises when no rule changes it.
    public var objective: Objective
    /// Limits every offer must meet; rules can only add to them.
    public var constraints: Constraints
    /// Providers to favour, when no rule changes it.
    public var preference: Preference?
    /// Rules, evaluated in order against each job.
    public var rules: [Rule]
    /// How many ranked alternates a decision carries and when an executor moves to the next.
    public var failover: FailoverPlan
    /// Monthly spending limits.
    public var budgets: [Budget]
    /// Tasks in flight at once per provider account (`max_in_flight`), over the executor's
    /// defaults (DashScope 1, others 16); a command line's `--max-in-flight` goes over these.
    public var maxInFlight: [ProviderID: Int]

    /// Creates a policy (tests build them directly; files go through ``load(_:catalog:)``).
    public init(name: String, description: String? = nil, knownTags: [String]? = nil, objective: Objective = .cheapest,
                constraints: Constraints = Constraints(), preference: Preference? = nil, rules: [Rule] = [],
                failover: FailoverPlan = FailoverPlan(), budgets: [Budget] = [], maxInFlight: [ProviderID: Int] = [:]) {
        self.name = name
        self.description = description
        self.knownTags = knownTags
        self.objective = objective
        self.constraints = constraints
        self.preference = preference
        self.rules = rules
        self.failover = failover
        self.budgets = budgets
        self.maxInFlight = maxInFlight
    }
}

/// What the router optimises among the offers that meet every constraint.
///
/// Tie-breaks, in order, after the objective's own key: the preference (when its rank is
/// ``Preference/Rank/tieBreak``), then ``PriceCatalog/quoteOrder(_:_:)`` (cheaper USD, surer price
/// confidence, provider id, behaviour, mode, resolution), so equal inputs always give equal choices.
public enum Objective: Sendable, Equatable, CustomStringConvertible {
    /// Lowest USD cost; offers with no known price (when allowed) come last.
    case cheapest
    /// Highest quality score; then cheapest.
    case bestQuality
    /// Lowest expected latency for the job's duration; then cheapest.
    case fastest
    /// Lowest weighted score of cost, quality and latency, each normalised to 0...1 across the
    /// candidate offers (0 the best candidate, 1 the worst; an unknown cost counts as the worst).
    case weighted(Weights)

    /// The word used in policy files (`cheapest`, `best-quality`, `fastest`, `weighted`).
    public var description: String {
        switch self {
        case .cheapest: return "cheapest"
        case .bestQuality: return "best-quality"
        case .fastest: return "fastest"
        case .weighted(let w): return "weighted (cost \(w.cost), quality \(w.quality), latency \(w.latency))"
        }
    }
}

/// Weights of a blended objective, exact to 10^-6 and summing to exactly 1.
public struct Weights: Sendable, Equatable {
    /// The cost, quality and latency weights, each in millionths (`500_000` is 0.5).
    public let costMicros: Int64, qualityMicros: Int64, latencyMicros: Int64

    /// Weights in millionths; they must sum to 1_000_000 (policy validation checks it).
    public init(costMicros: Int64, qualityMicros: Int64, latencyMicros: Int64) {
        self.costMicros = costMicros
        self.qualityMicros = qualityMicros
        self.latencyMicros = latencyMicros
    }

    /// The cost weight as decimal text, such as `0.5`.
    public var cost: String { FixedDecimal.format(costMicros, scale: 6) }
    /// The quality weight as decimal text.
    public var quality: String { FixedDecimal.format(qualityMicros, scale: 6) }
    /// The latency weight as decimal text.
    public var latency: String { FixedDecimal.format(latencyMicros, scale: 6) }
}

/// An allow list (nil: anything) and a deny list.
public struct Filter<Value: Hashable & Sendable>: Sendable, Equatable {
    /// The only values let through, or nil to let any value through.
    public var allow: Set<Value>?
    /// Values never let through, even when allowed.
    public var deny: Set<Value>

    /// A filter; the default lets everything through.
    public init(allow: Set<Value>? = nil, deny: Set<Value> = []) {
        self.allow = allow
        self.deny = deny
    }

    /// Whether `value` passes.
    public func admits(_ value: Value) -> Bool { (allow?.contains(value) ?? true) && !deny.contains(value) }
    var isEmpty: Bool { allow == nil && deny.isEmpty }
}

/// Hard limits on offers. Every field is optional: nil adds no limit. In a rule, each field adds
/// to (never loosens) the policy's own.
public struct Constraints: Sendable, Equatable {
    /// Providers allowed and denied.
    public var providers: Filter<ProviderID>
    /// Modes allowed and denied.
    public var modes: Filter<Mode>
    /// Output resolutions allowed and denied.
    public var resolutions: Filter<Resolution>
    /// The most one job may cost, compared in USD (converted with the catalog's rates).
    public var maxCost: Money?
    /// The longest expected latency (queue plus rendering) for the job's duration.
    public var maxLatency: Seconds?
    /// The lowest quality score (0-100) accepted.
    public var minQuality: Int?
    /// The least certain price accepted: `published` refuses third-party and unknown prices.
    /// Offers without a known price are refused unless this is `unknown`. Default: `third-party`.
    public var minConfidence: Confidence?
    /// Whether offers of providers wanroute cannot submit to (no adapter) may be chosen.
    /// Default: false, because a decision is meant to be executed. Only a policy (not a rule) sets it.
    public var allowQuoteOnly: Bool?

    /// No limits.
    public init(providers: Filter<ProviderID> = Filter(), modes: Filter<Mode> = Filter(), resolutions: Filter<Resolution> = Filter(),
                maxCost: Money? = nil, maxLatency: Seconds? = nil, minQuality: Int? = nil, minConfidence: Confidence? = nil,
                allowQuoteOnly: Bool? = nil) {
        self.providers = providers
        self.modes = modes
        self.resolutions = resolutions
        self.maxCost = maxCost
        self.maxLatency = maxLatency
        self.minQuality = minQuality
        self.minConfidence = minConfidence
        self.allowQuoteOnly = allowQuoteOnly
    }

    /// The confidence required when a policy says nothing.
    public static let defaultMinConfidence = Confidence.thirdParty
}

/// Providers to favour.
public struct Preference: Sendable, Equatable {
    /// How strongly the preference counts.
    public enum Rank: String, Sendable, CaseIterable {
        /// Only between offers the objective scores equally (the default).
        case tieBreak = "tie-break"
        /// Ahead of the objective: any offer of a listed provider beats every unlisted one, earlier
        /// listed providers first; the objective ranks within each provider.
        case ahead
    }

    /// Providers, most preferred first.
    public var providers: [ProviderID]
    /// How strongly the preference counts against the objective.
    public var rank: Rank

    /// Creates a preference; by default it only breaks ties.
    public init(providers: [ProviderID], rank: Rank = .tieBreak) {
        self.providers = providers
        self.rank = rank
    }
}

/// One rule: when its condition holds for a job, its effects apply.
public struct Rule: Sendable, Equatable {
    /// A unique id, named in explanations (`film-replace`).
    public var id: String
    /// Free text for people, or nil.
    public var description: String?
    /// When the rule fires; ``Condition/always`` for a rule without `when`.
    public var when: Condition
    /// Replaces the objective (a later firing rule wins).
    public var objective: Objective?
    /// Added to the policy's constraints.
    public var constraints: Constraints
    /// Replaces the preference (a later firing rule wins).
    public var preference: Preference?
    /// When true and the rule fires, later rules are not evaluated.
    public var stop: Bool

    /// Creates a rule (tests build them directly; files go through ``Policy/load(_:catalog:)``).
    public init(id: String, description: String? = nil, when: Condition = .always, objective: Objective? = nil,
                constraints: Constraints = Constraints(), preference: Preference? = nil, stop: Bool = false) {
        self.id = id
        self.description = description
        self.when = when
        self.objective = objective
        self.constraints = constraints
        self.preference = preference
        self.stop = stop
    }
}

/// A test on a job.
public indirect enum Condition: Sendable, Equatable {
    /// Always true (a rule without `when`).
    case always
    /// True when every condition holds (true for none).
    case all([Condition])
    /// True when at least one condition holds (false for none).
    case any([Condition])
    /// True when the condition does not hold.
    case not(Condition)
    /// The behaviour the job asks for.
    case behavior(ValueTest<Behavior>)
    /// The mode the job asks for; a job that names none has no mode.
    case mode(ValueTest<Mode>)
    /// The resolution the job asks for; a job that names none has no resolution.
    case resolution(ValueTest<Resolution>)
    /// A tag's value (`customer`, `project`, ...); a job may not carry the tag.
    case tag(String, ValueTest<String>)
    /// The job's duration, compared exactly.
    case duration(DurationTest)

    /// Whether the job meets the condition.
    @inlinable
    public func holds(for job: Job) -> Bool {
        switch self {
        case .always: return true
        case .all(let cs):
            for c in cs where !c.holds(for: job) { return false }
            return true
        case .any(let cs):
            for c in cs where c.holds(for: job) { return true }
            return false
        case .not(let c): return !c.holds(for: job)
        case .behavior(let t): return t.holds(job.behavior)
        case .mode(let t): return t.holds(job.mode)
        case .resolution(let t): return t.holds(job.resolution)
        case .tag(let key, let t): return t.holds(job.tags[key])
        case .duration(let t): return t.holds(job.duration)
        }
    }
}

/// A test on one value that a job may lack.
public enum ValueTest<Value: Hashable & Sendable>: Sendable, Equatable {
    /// The value is present and equal (`"eq"`, or a bare value).
    case equals(Value)
    /// The value is absent or different (`"ne"`).
    case notEquals(Value)
    /// The value is present and one of these (`"in"`).
    case oneOf(Set<Value>)
    /// The value is absent or none of these (`"not_in"`).
    case noneOf(Set<Value>)
    /// The value is present (true) or absent (false) (`"exists"`).
    case present(Bool)

    /// Whether a job's value (nil when the job lacks it) passes the test.
    @inlinable
    public func holds(_ value: Value?) -> Bool {
        switch self {
        case .equals(let v): return value == v
        case .notEquals(let v): return value != v
        case .oneOf(let s): return value.map { s.contains($0) } ?? false
        case .noneOf(let s): return value.map { !s.contains($0) } ?? true
        case .present(let p): return (value != nil) == p
        }
    }
}

/// An exact comparison of the job's duration.
public struct DurationTest: Sendable, Equatable {
    /// A comparison, named as in policy files.
    public enum Operator: String, Sendable, CaseIterable {
        /// Equal, not equal, greater than, at least, less than, at most.
        case eq, ne, gt, gte, lt, lte
    }

    /// How the job's duration is compared with ``value``.
    public var op: Operator
    /// The duration compared against, exact to the microsecond.
    public var value: Seconds

    /// A test `duration op value`.
    public init(_ op: Operator, _ value: Seconds) {
        self.op = op
        self.value = value
    }

    /// Whether a duration passes the test.
    @inlinable
    public func holds(_ d: Seconds) -> Bool {
        switch op {
        case .eq: return d.micros == value.micros
        case .ne: return d.micros != value.micros
        case .gt: return d.micros > value.micros
        case .gte: return d.micros >= value.micros
        case .lt: return d.micros < value.micros
        case .lte: return d.micros <= value.micros
        }
    }
}

/// The kinds of failure an executor sees, whatever the provider's wire format.
/// A failover plan names the ones on which to move to the next alternate.
public enum FailureClass: String, Sendable, CaseIterable, Hashable {
    /// Too many requests (HTTP 429, `Throttling.RateQuota`).
    case rateLimited = "rate-limited"
    /// The provider's own fault (HTTP 5xx, an internal error code).
    case providerError = "provider-error"
    /// No answer in time. The provider may still render and bill the job: an executor must confirm
    /// the task is dead before moving on.
    case timeout
    /// The account has no money left (HTTP 402, arrears).
    case outOfBalance = "out-of-balance"
    /// The key is missing, wrong or not allowed (HTTP 401/403).
    case auth
    /// The provider's moderation refused the input or the output.
    case contentRefused = "content-refused"
    /// The provider refused the input as invalid (HTTP 400, a bad URL, a video too long).
    case badInput = "bad-input"
    /// The task failed with no better class.
    case failed
}

/// How many alternates a decision ranks and on which failures an executor moves to the next.
public struct FailoverPlan: Sendable, Equatable {
    /// Ranked alternates after the choice (0 means no failover).
    public var alternates: Int
    /// Failure classes that move a job to the next alternate; any other failure ends it.
    public var on: Set<FailureClass>

    /// The default: two alternates, moving on rate limits, provider errors and an empty balance.
    /// Not on a timeout (the job may still be billed), bad input or refused content (another
    /// provider would be asked the same thing), or auth (a configuration mistake to fix).
    public init(alternates: Int = 2, on: Set<FailureClass> = [.rateLimited, .providerError, .outOfBalance]) {
        self.alternates = alternates
        self.on = on
    }

    /// Whether a failure of this class moves the job to the next alternate.
    public func failsOver(on failure: FailureClass) -> Bool { on.contains(failure) }
}

/// What a budget counts spend against.
public enum BudgetKey: Sendable, Hashable, CustomStringConvertible {
    /// Every job routed by the policy.
    case total
    /// Jobs sent to one provider.
    case provider(ProviderID)
    /// Jobs carrying a tag with a value (`customer=film`).
    case tag(String, String)

    /// `total`, `provider:apixo`, `tag:customer=film`: the form used in policy tests and the CLI.
    public var description: String {
        switch self {
        case .total: return "total"
        case .provider(let p): return "provider:\(p.rawValue)"
        case .tag(let k, let v): return "tag:\(k)=\(v)"
        }
    }

    /// Parses the ``description`` form.
    public init?(_ text: String) {
        if text == "total" { self = .total; return }
        if text.hasPrefix("provider:"), let id = ProviderID(String(text.dropFirst(9))) { self = .provider(id); return }
        if text.hasPrefix("tag:") {
            let rest = text.dropFirst(4)
            guard let eq = rest.firstIndex(of: "="), eq != rest.startIndex else { return nil }
            self = .tag(String(rest[..<eq]), String(rest[rest.index(after: eq)...]))
            return
        }
        return nil
    }
}

/// A monthly spending limit in USD.
public struct Budget: Sendable, Equatable {
    /// What the budget covers.
    public enum Scope: Sendable, Equatable {
        /// Every job.
        case total
        /// Jobs sent to one provider (only that provider's offers count against it).
        case provider(ProviderID)
        /// Jobs whose tag has this value; with a nil value, each value of the tag has its own limit
        /// of the same amount (`customer` → one budget per customer).
        case tag(String, value: String?)
    }

    /// A unique id, named in explanations.
    public var id: String
    /// What the budget covers.
    public var scope: Scope
    /// The monthly limit in USD.
    public var monthly: Money

    /// Creates a budget of `monthly` over a scope.
    public init(id: String, scope: Scope, monthly: Money) {
        self.id = id
        self.scope = scope
        self.monthly = monthly
    }

    /// The key spend is counted under for this job, or nil when the budget does not cover it.
    @inlinable
    public func key(for job: Job) -> BudgetKey? {
        switch scope {
        case .total: return .total
        case .provider(let p): return .provider(p)
        case .tag(let k, let v):
            guard let actual = job.tags[k] else { return nil }
            if let v, v != actual { return nil }
            return .tag(k, actual)
        }
    }
}

/// Month-to-date spend the caller supplies (from its ledger), in USD, per budget key: what was
/// billed plus what jobs in flight have reserved. Budgets check an estimate against what is left.
public struct SpendSnapshot: Sendable, Equatable {
    /// Billed this month, by key, in USD nano-units.
    public private(set) var spent: [BudgetKey: Money]
    /// Reserved by jobs in flight, by key, in USD.
    public private(set) var reserved: [BudgetKey: Money]

    /// No spend at all.
    public static let none = SpendSnapshot()

    /// Creates a snapshot from amounts already in USD (anything else is a programming error).
    public init(spent: [BudgetKey: Money] = [:], reserved: [BudgetKey: Money] = [:]) {
        precondition(spent.values.allSatisfy { $0.currency == .usd } && reserved.values.allSatisfy { $0.currency == .usd },
                     "spend is counted in USD")
        self.spent = spent
        self.reserved = reserved
    }

    /// Adds billed spend under a key (USD).
    public mutating func addSpent(_ amount: Money, to key: BudgetKey) {
        precondition(amount.currency == .usd, "spend is counted in USD")
        spent[key] = (spent[key] ?? .zero(.usd)) + amount
    }

    /// Adds an in-flight reservation under a key (USD).
    public mutating func addReserved(_ amount: Money, to key: BudgetKey) {
        precondition(amount.currency == .usd, "spend is counted in USD")
        reserved[key] = (reserved[key] ?? .zero(.usd)) + amount
    }

    /// Billed plus reserved under a key, in USD nano-units, held within ±2^62 so a budget's
    /// limit minus it never overflows whatever a ledger supplies.
    @inlinable
    public func committedNanos(_ key: BudgetKey) -> Int64 {
        if spent.isEmpty && reserved.isEmpty { return 0 }
        let (sum, overflow) = (spent[key]?.nanos ?? 0).addingReportingOverflow(reserved[key]?.nanos ?? 0)
        let bound: Int64 = 1 << 62
        if overflow { return (spent[key]?.nanos ?? 0) < 0 ? -bound : bound }
        return min(max(sum, -bound), bound)
    }
}

/// Why a policy could not be used.
public enum PolicyError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file holds mistakes; every one is listed (warnings too).
    case invalid([Diagnostic])
    /// A file or directory could not be read.
    case unreadable(path: String, reason: String)
    /// No built-in policy has that name.
    case noSuchPolicy(name: String, known: [String])
    /// The policy names an amount in a currency the catalog cannot convert to USD.
    case noExchangeRate(Currency)

    /// The problem as text for people; an invalid file lists one diagnostic per line.
    public var description: String {
        switch self {
        case .invalid(let diagnostics): return diagnostics.map(\.description).joined(separator: "\n")
        case .unreadable(let path, let reason): return "cannot read \(path): \(reason)"
        case .noSuchPolicy(let name, let known): return "no built-in policy is named \"\(name)\"; choose one of \(known.joined(separator: ", ")) or give a file"
        case .noExchangeRate(let c): return "the price catalog has no exchange rate for \(c), so the policy's limit cannot be compared in USD; add a rate or write the limit in USD"
        }
    }
}
