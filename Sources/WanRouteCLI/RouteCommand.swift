import Foundation
import WanRoute

/// `wanroute route`: where a routing policy sends one job, the failover order, and why.
enum RouteCommand: Command {
    /// The month's settled and reserved spend from the ledger, when the policy has budgets and a
    /// ledger exists (the decision is only shown, so nothing is reserved).
    static func spend(_ router: Router, _ args: ParsedArguments, _ context: Context) async throws(CLIError) -> SpendSnapshot {
        guard !router.policy.budgets.isEmpty,
              let store = try LedgerLocation.open(try LedgerLocation.place(args, context), context, command: "route") else { return .none }
        do {
            return try await store.budgetState(for: BudgetMonth.containing(LedgerTime(Date()))).snapshot
        } catch {
            throw LedgerLocation.failure(error)
        }
    }

    static let spec = CommandSpec(
        name: "route",
        summary: "Choose where a job goes under a routing policy, with its failover order and why.",
        synopsis: "wanroute route --policy FILE|NAME --duration S | --video PATH|URL [--image PATH|URL] [--behavior animate|replace] [--resolution R] [--mode M] [--tag KEY=VALUE]... [--pricing DIR] [--explain] [--format table|json]",
        options: PolicyOptions.specs + JobOptions.specs + [
            OptionSpec("explain", help: "Also show the rule trace, the objective and tie-breaks, the failover plan and every rejected offer's reasons (JSON always has them)."),
            OptionSpec("format", "F", help: "table (default) or json."),
            LedgerLocation.option,
        ],
        positionals: nil,
        details: """
        The policy considers exactly the offers `wanroute quote` prices for the job; each is either
        ranked or rejected with its reasons. The first line is the choice, the next ones the failover
        order (the policy's "failover": "alternates"). The policy's budgets are checked against this
        month's settled and reserved spend in the ledger (as `run` records it; --ledger DIR|URL, else
        $WANROUTE_LEDGER, else $WANROUTE_HOME/ledger); without a ledger, against none.

        Exit codes: 0 a choice was made; 2 the policy refused the job (no offer meets it; the reasons
        are printed, and JSON is still written with "choice": null); 64 a bad command line or an
        unknown policy name; 65 a bad policy or pricing file, with every problem.

        Examples: wanroute route --policy production --duration 12 --behavior replace --tag customer=film
                  wanroute route --policy cheapest --duration 45 --explain
                  wanroute route --policy policies/production.json --video dance.mp4 --format json
        """
    )

    static func run(_ args: ParsedArguments, _ context: Context) async throws(CLIError) -> ExitCode {
        let format = try OutputFormat.parse(args.value("format"), allowed: [.table, .json])
        let tags = try PolicyOptions.tags(args)
        var job = try JobOptions.job(args, context)
        job.tags = tags
        let catalog = try JobOptions.catalog(args, context)
        let router = try PolicyOptions.router(args, context, catalog: catalog)
        for warning in PolicyOptions.undeclaredTags(job.tags, router.policy) {
            context.stderr.write("wanroute route: warning: \(warning)\n")
        }
        let decision = router.decide(job, spend: try await spend(router, args, context))
        switch format {
        case .json: context.stdout.write(JSONWriter.pretty(decision.json(policy: router.policy, catalog: catalog)) + "\n")
        default: context.stdout.write(table(decision, router.policy, catalog, explain: args.flag("explain")))
        }
        if let refusal = decision.refusal {
            context.stderr.write("wanroute route: refused: \(refusal)\n")
            return .refused
        }
        return .ok
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
        let preference = decision.preference(in: policy)
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
        let objectiveRule = decision.rule(setting: \.objective, in: policy).map { " (set by rule \($0.id))" } ?? ""
        out += "\nObjective: \(decision.objective)\(objectiveRule)\n"
        out += "Ranking: " + order.joined(separator: ", then ") + "\n"

        let plan = decision.failover
        if plan.alternates == 0 {
            out += "Failover: none (the policy ranks no alternates)\n"
        } else {
            out += "Failover: up to \(plan.alternates) alternate\(plan.alternates == 1 ? "" : "s"), tried in order on "
            out += (plan.on.isEmpty ? "no failure" : plan.orderedClasses.map(\.rawValue).joined(separator: ", ")) + "; any other failure ends the job\n"
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
