import Foundation
import WanRoute

/// `wanroute route`: where a routing policy sends one job, the failover order, and why.
enum RouteCommand: Command {
    static let spec = CommandSpec(
        name: "route",
        summary: "Choose where a job goes under a routing policy, with its failover order and why.",
        synopsis: "wanroute route --policy FILE|NAME --duration S | --video PATH|URL [--image PATH|URL] [--behavior animate|replace] [--resolution R] [--mode M] [--tag KEY=VALUE]... [--pricing DIR] [--explain] [--format table|json]",
        options: PolicyOptions.specs + JobOptions.specs + [
            OptionSpec("explain", help: "Also show the rule trace, the objective and tie-breaks, the failover plan and every rejected offer's reasons (JSON always has them)."),
            OptionSpec("format", "F", help: "table (default) or json."),
        ],
        positionals: nil,
        details: """
        The policy considers exactly the offers `wanroute quote` prices for the job; each is either
        ranked or rejected with its reasons. The first line is the choice, the next ones the failover
        order (the policy's "failover": "alternates"). Budgets are checked against no spend so far:
        this command knows no ledger.

        Exit codes: 0 a choice was made; 2 the policy refused the job (no offer meets it; the reasons
        are printed, and JSON is still written with "choice": null); 64 a bad command line or an
        unknown policy name; 65 a bad policy or pricing file, with every problem.

        Examples: wanroute route --policy production --duration 12 --behavior replace --tag customer=film
                  wanroute route --policy cheapest --duration 45 --explain
                  wanroute route --policy policies/production.json --video dance.mp4 --format json
        """
    )

    static func run(_ args: ParsedArguments, _ context: Context) throws(CLIError) -> ExitCode {
        let format = try OutputFormat.parse(args.value("format"), allowed: [.table, .json])
        let tags = try PolicyOptions.tags(args)
        var job = try JobOptions.job(args, context)
        job.tags = tags
        let catalog = try JobOptions.catalog(args, context)
        let router = try PolicyOptions.router(args, context, catalog: catalog)
        for warning in PolicyOptions.undeclaredTags(job.tags, router.policy) {
            context.stderr.write("wanroute route: warning: \(warning)\n")
        }
        let decision = router.decide(job)
        switch format {
        case .json: context.stdout.write(JSONWriter.pretty(json(decision, router.policy, catalog)) + "\n")
        default: context.stdout.write(table(decision, router.policy, catalog, explain: args.flag("explain")))
        }
        if let refusal = decision.refusal {
            context.stderr.write("wanroute route: refused: \(refusal)\n")
            return .refused
        }
        return .ok
    }

    // MARK: explanation pieces shared by table and JSON

    /// The last fired rule that sets `keyPath`, or nil when the policy's own value is in force.
    static func setBy<T>(_ decision: Decision, _ policy: Policy, _ value: KeyPath<Rule, T?>) -> Rule? {
        let fired = Set(decision.firedRules)
        return policy.rules.last { fired.contains($0.id) && $0[keyPath: value] != nil }
    }

    /// The preference in force after the rules, and the rule that set it (nil: the policy's own).
    static func preference(_ decision: Decision, _ policy: Policy) -> (Preference, Rule?)? {
        if let rule = setBy(decision, policy, \.preference), let p = rule.preference { return (p, rule) }
        return policy.preference.map { ($0, nil) }
    }

    /// The failover classes in their documented order.
    static func failoverClasses(_ plan: FailoverPlan) -> [String] {
        FailureClass.allCases.filter(plan.on.contains).map(\.rawValue)
    }

    // MARK: JSON

    static func json(_ decision: Decision, _ policy: Policy, _ catalog: PriceCatalog) -> JSONValue {
        func ranked(_ r: RankedOffer) -> JSONValue {
            .object(OfferJSON.members(r.estimate, catalog) + [
                JSONMember("expected_latency_seconds", .number(String(Int64(r.expectedLatencySeconds.rounded())))),
                JSONMember("score", r.score.map { .number(String(format: "%.6f", $0)) } ?? .null),
            ])
        }
        let job = decision.job
        let tags = JSONValue.object(job.tags.keys.sorted().map { JSONMember($0, .string(job.tags[$0]!)) })
        var weights: JSONValue = .null
        var objectiveName = decision.objective.description
        if case .weighted(let w) = decision.objective {
            objectiveName = "weighted"
            weights = .object([JSONMember("cost", .number(w.cost)), JSONMember("quality", .number(w.quality)), JSONMember("latency", .number(w.latency))])
        }
        let rules: [JSONValue] = decision.rules.map { r in
            let (status, stoppedBy): (String, String?) = switch r.status {
            case .fired: ("fired", nil)
            case .notMatched: ("not-matched", nil)
            case .notEvaluated(let by): ("not-evaluated", by)
            }
            return .object([JSONMember("id", .string(r.id)), JSONMember("status", .string(status)), JSONMember("stopped_by", .optional(stoppedBy))])
        }
        return .object([
            JSONMember("policy", .string(decision.policyName)),
            JSONMember("job", .object(OfferJSON.job(job) + [JSONMember("tags", tags)])),
            JSONMember("choice", decision.choice.map(ranked) ?? .null),
            JSONMember("alternates", .array(decision.alternates.map(ranked))),
            JSONMember("qualifying", .number(String(decision.qualifyingCount))),
            JSONMember("rejected", .array(decision.rejected.map { r in
                .object(OfferJSON.members(r.estimate, catalog) + [JSONMember("reasons", .array(r.reasons.map { .string($0.description) }))])
            })),
            JSONMember("rules", .array(rules)),
            JSONMember("objective", .object([
                JSONMember("name", .string(objectiveName)), JSONMember("weights", weights),
                JSONMember("set_by", .optional(setBy(decision, policy, \.objective)?.id)),
            ])),
            JSONMember("preference", preference(decision, policy).map { p, rule in
                .object([
                    JSONMember("providers", .array(p.providers.map { .string($0.rawValue) })),
                    JSONMember("rank", .string(p.rank.rawValue)),
                    JSONMember("set_by", .optional(rule?.id)),
                ])
            } ?? .null),
            JSONMember("failover", .object([
                JSONMember("alternates", .number(String(decision.failover.alternates))),
                JSONMember("on", .array(failoverClasses(decision.failover).map(JSONValue.string))),
            ])),
            JSONMember("refused", .bool(decision.isRefused)),
            JSONMember("refusal", .optional(decision.refusal)),
        ])
    }

    // MARK: table

    static func table(_ decision: Decision, _ policy: Policy, _ catalog: PriceCatalog, explain: Bool) -> String {
        let job = decision.job
        var out = "policy \(decision.policyName): \(job.behavior.rawValue), \(job.duration)"
        out += ", \(job.resolution?.rawValue ?? "any resolution"), \(job.mode?.rawValue ?? "any mode")"
        if !job.tags.isEmpty { out += ", tags " + job.tags.keys.sorted().map { "\($0)=\(job.tags[$0]!)" }.joined(separator: " ") }
        out += "\n"
        var converted = Set<Currency>()
        if let choice = decision.choice {
            var t = TextTable(["", "PROVIDER", "BEHAVIOR", "MODE", "RES", "COST", "USD", "CONFIDENCE", "LATENCY"])
            for (n, r) in ([choice] + decision.alternates).enumerated() {
                let e = r.estimate
                if e.usdIsConverted, let c = e.cost?.currency { converted.insert(c) }
                t.rows.append([
                    n == 0 ? "choice" : "alternate \(n)",
                    r.offer.provider.rawValue, r.offer.behavior.rawValue, r.offer.mode.rawValue, r.offer.resolution.rawValue,
                    e.cost?.description ?? "price unknown",
                    e.usd.map { (e.usdIsConverted ? "~" : "") + $0.description } ?? "-",
                    r.offer.source.confidence.rawValue,
                    "\(Int64(r.expectedLatencySeconds.rounded())) s",
                ])
            }
            out += t.rendered
        } else {
            out += "refused: \(decision.refusal ?? "")\n"
        }
        var notes: [String] = catalog.conversionNotes(converted)
        let beyond = decision.qualifyingCount - 1 - decision.alternates.count
        if beyond > 0 { notes.append("\(beyond) more offer\(beyond == 1 ? "" : "s") qualif\(beyond == 1 ? "ies" : "y") beyond the failover order") }
        let rejected = decision.rejected
        if !explain, decision.choice != nil, !rejected.isEmpty {
            notes.append("\(rejected.count) offer\(rejected.count == 1 ? "" : "s") rejected; --explain says why")
        }
        if !notes.isEmpty { out += "\n" + notes.joined(separator: "\n") + "\n" }
        if explain { out += "\n" + explanation(decision, policy) }
        if !explain, decision.choice == nil, !rejected.isEmpty { out += "\n" + rejectedList(rejected) }
        return out
    }

    static func rejectedList(_ rejected: [Rejection]) -> String {
        rejected.isEmpty ? "Rejected: none\n" : "Rejected (\(rejected.count)):\n" + rejected.map { "  \($0)\n" }.joined()
    }

    /// The rule trace, the objective and tie-breaks in force, the failover plan and every rejection.
    static func explanation(_ decision: Decision, _ policy: Policy) -> String {
        var out = "Rules:\n"
        if decision.rules.isEmpty { out += "  (the policy has no rules)\n" }
        for r in decision.rules { out += "  \(r)\n" }

        var order: [String] = []
        let preference = preference(decision, policy)
        let preferred = preference.map { p, rule in
            "preferred providers \(p.providers.map(\.rawValue).joined(separator: ", "))" + (rule.map { " (rule \($0.id))" } ?? "")
        }
        if let preference, preference.0.rank == .ahead, let preferred { order.append(preferred + ", ahead of the objective") }
        switch decision.objective {
        case .cheapest: order.append("lowest USD cost (unknown costs last)")
        case .bestQuality: order += ["highest quality score", "lowest USD cost"]
        case .fastest: order += ["lowest expected latency", "lowest USD cost"]
        case .weighted: order.append("lowest weighted score")
        }
        if let preference, preference.0.rank == .tieBreak, let preferred { order.append(preferred) }
        order.append("quote order (cheaper USD, surer price confidence, provider, behavior, mode, resolution)")
        let objectiveRule = setBy(decision, policy, \.objective).map { " (set by rule \($0.id))" } ?? ""
        out += "\nObjective: \(decision.objective)\(objectiveRule)\n"
        out += "Ranking: " + order.joined(separator: ", then ") + "\n"

        let plan = decision.failover
        if plan.alternates == 0 {
            out += "Failover: none (the policy ranks no alternates)\n"
        } else {
            out += "Failover: up to \(plan.alternates) alternate\(plan.alternates == 1 ? "" : "s"), tried in order on "
            out += (plan.on.isEmpty ? "no failure" : failoverClasses(plan).joined(separator: ", ")) + "; any other failure ends the job\n"
        }
        out += "\n" + rejectedList(decision.rejected)
        return out
    }
}

extension PriceCatalog {
    /// `~ converted from CNY at 0.140600 USD per CNY (rate of 2025-06-01)` for each currency shown converted.
    func conversionNotes(_ currencies: Set<Currency>) -> [String] {
        currencies.sorted().compactMap { c in
            exchangeRates.rate(for: c).map { "~ converted from \(c) at \(FixedDecimal.format($0.usdPerUnitMicros, scale: 6)) USD per \(c) (rate of \($0.readOn))" }
        }
    }
}
