import Foundation
import WanRoute

/// What `report`, `reconcile` and `whatif` share: the month, its zone, and the ledger's jobs.
enum AuditOptions {
    static let month = OptionSpec("month", "YYYY-MM", help: "The month to audit (required), read in --tz.")
    static let tz = OptionSpec("tz", "ZONE", help: "The time zone the month and its days are read in: an IANA name (default UTC), e.g. Asia/Shanghai.")
    static let pricing = OptionSpec("pricing", "DIR", help: "Pricing tables to compare against and convert with (default: the built-in copy).")
    static let contract = OptionSpec("contract", "FILE|DIR", repeatable: true, help: "Contract prices laid over the tables.")

    static func period(_ args: ParsedArguments) throws(CLIError) -> ReportPeriod {
        guard let month = args.value("month") else { throw .usage("give the month with --month YYYY-MM") }
        do { return try ReportPeriod(month: month, timeZone: args.value("tz") ?? "UTC") } catch { throw .usage(error.description) }
    }

    /// The policy named by the first decision in `period`, reading no further; nil when none.
    static func firstPolicy(_ period: ReportPeriod, _ args: ParsedArguments, _ context: Context) async throws(CLIError) -> String? {
        struct Found: Error { let policy: String }
        guard let store = try LedgerOptions.store(args, context, command: "report", quiet: true) else { return nil }
        do {
            let have = Set(try await store.months())
            // Decisions in the period are in the files of the months it spans; the fold's last month,
            // read for what closes jobs, holds none (a month with no decision must not read it all).
            for month in LedgerReportFold.months(for: period).dropLast() where have.contains(month) {
                try await store.forEachRecord(in: month) { record in
                    if case .decided(let d) = record.event.body, period.contains(record.event.time.date) { throw Found(policy: d.policy) }
                }
            }
        } catch let found as Found {
            return found.policy
        } catch {
            throw .dataMessage("\(error)")
        }
        return nil
    }

    /// Hands every job decided in `period` to `body` as the ledger's fold ends it (from the
    /// ledger's job summaries where it keeps them); returns the store for its budget state (nil
    /// when there is no ledger).
    static func forEachJob(_ period: ReportPeriod, _ catalog: PriceCatalog, _ args: ParsedArguments, _ context: Context, command: String,
                           _ body: (ReportJob) -> Void) async throws(CLIError) -> (any LedgerStore)? {
        guard let store = try LedgerOptions.store(args, context, command: command) else { return nil }
        do {
            try await store.forEachReportJob(in: period, catalog: catalog, body)
        } catch {
            throw .dataMessage("\(error)")
        }
        return store
    }

    /// Adds every job decided in `period` to a report (row by row from the job summaries, where the
    /// ledger keeps them); returns the store (nil when there is no ledger).
    static func addJobs(_ period: ReportPeriod, _ catalog: PriceCatalog, to builder: inout MonthlyReportBuilder, _ args: ParsedArguments,
                        _ context: Context, command: String) async throws(CLIError) -> (any LedgerStore)? {
        guard let store = try LedgerOptions.store(args, context, command: command) else { return nil }
        do {
            try await store.addReportJobs(in: period, catalog: catalog, to: &builder)
        } catch {
            throw .dataMessage("\(error)")
        }
        return store
    }
}

/// `wanroute report`: the month's spend per group, daily, and against every budget.
enum ReportCommand: Command {
    static let spec = CommandSpec(
        name: "report",
        summary: "What a month cost: per provider, customer or any grouping, daily, against every budget.",
        synopsis: "wanroute report --month YYYY-MM [--group-by provider,behavior,mode,resolution,policy,status,tag:KEY] [--tz ZONE] [--policy FILE|NAME] [--pricing DIR] [--format table|json|csv|md|html|focus]",
        options: [
            AuditOptions.month,
            OptionSpec("group-by", "LIST", help: "Group by these, comma-separated (default provider): provider, behavior, mode, resolution, policy, status, tag:KEY."),
            AuditOptions.tz,
            OptionSpec("policy", "FILE|NAME", help: "The policy whose budgets to show (default: the policy the month's first job names, when it is built in)."),
            AuditOptions.pricing, AuditOptions.contract, LedgerLocation.option,
            OptionSpec("as-of", "INSTANT", help: "Project budgets from this instant (YYYY-MM-DDTHH:MM:SSZ; default now, or the month's end once it is over)."),
            OptionSpec("format", "F", help: "table (default), json, csv, md, html (one self-contained page with charts) or focus (FinOps FOCUS 1.2 CSV, one row per billed task)."),
        ],
        positionals: nil,
        details: """
        Reads the ledger (--ledger, else WANROUTE_LEDGER, else the files under WANROUTE_HOME). A job belongs to the day and month it was decided on, in
        --tz. Money is shown per currency as billed and in USD (~ marks a figure converted at the
        pricing tables' rates); a job whose cost is unknown is counted and shown, never added as zero.

        Exit codes: 0 done; 64 a bad command line; 65 a bad policy or pricing file, or a damaged ledger.

        Examples: wanroute report --month 2026-12
                  wanroute report --month 2026-12 --group-by provider,tag:customer --tz Europe/Berlin
                  wanroute report --month 2026-12 --format html > december.html
                  wanroute report --month 2026-12 --format focus > december-focus.csv
        """
    )

    static func run(_ args: ParsedArguments, _ context: Context) async throws(CLIError) -> ExitCode {
        let period = try AuditOptions.period(args)
        let formatText = args.value("format") ?? "table"
        guard let format = ReportFormat(rawValue: formatText) else {
            throw .usage("'\(formatText)' is not a report format (\(ReportFormat.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        let dimensions: [ReportDimension]
        do { dimensions = try ReportDimension.parse(args.value("group-by") ?? "provider") } catch { throw .usage(error.description) }
        var asOf = min(Date(), period.end)
        if let text = args.value("as-of") {
            guard let t = ISO8601DateFormatter().date(from: text) else { throw .usage("--as-of '\(text)' is not an instant such as 2026-12-20T12:00:00Z") }
            asOf = t
        }
        let catalog = try JobOptions.catalog(args, context)
        if format == .focus {
            let export = FOCUSExport(period: period, catalog: catalog)
            context.stdout.write(export.header)
            var chunk = ""
            _ = try await AuditOptions.forEachJob(period, catalog, args, context, command: spec.name) { job in
                chunk += export.rows(for: job)
                if chunk.utf8.count > 1 << 16 { context.stdout.write(chunk); chunk = "" }
            }
            context.stdout.write(chunk)
            return .ok
        }
        // Budgets: the --policy's; else those of the policy the month's first job names, when it is
        // built in (found by reading up to the first decision, so the month is folded once).
        var budgets: [Budget] = []
        if let text = args.value("policy") {
            budgets = try PolicyOptions.policy(text, catalog, context).budgets
        } else if let name = try await AuditOptions.firstPolicy(period, args, context), Policy.builtInNames.contains(name),
                  let policy = try? Policy.builtIn(named: name, catalog: catalog) {
            budgets = policy.budgets
        }
        var builder = MonthlyReportBuilder(period: period, dimensions: dimensions, rates: catalog.exchangeRates, budgets: budgets)
        let store = try await AuditOptions.addJobs(period, catalog, to: &builder, args, context, command: spec.name)
        var spend = SpendSnapshot()
        if !budgets.isEmpty, let store {
            do {
                let state = try await store.budgetState(for: BudgetMonth(LedgerMonth(year: period.year, month: period.month)!, zone: period.timeZone))
                spend = SpendSnapshot(spent: state.settled, reserved: state.reserved)
            } catch {
                throw .dataMessage("\(error)")
            }
        }
        do {
            context.stdout.write(try builder.finish(spend: spend, asOf: asOf).rendered(format))
        } catch {
            throw .failure(error.description)
        }
        return .ok
    }
}

/// `wanroute reconcile`: every job's estimate against its bill, the difference explained.
enum ReconcileCommand: Command {
    static let spec = CommandSpec(
        name: "reconcile",
        summary: "Check every bill of a month against its estimate and explain each difference.",
        synopsis: "wanroute reconcile --month YYYY-MM [--tolerance AMOUNT] [--tz ZONE] [--pricing DIR] [--format table|json]",
        options: [
            AuditOptions.month,
            OptionSpec("tolerance", "AMOUNT", help: "The largest unexplained difference per job accepted, in USD (default 0)."),
            AuditOptions.tz, AuditOptions.pricing, AuditOptions.contract, LedgerLocation.option,
            OptionSpec("format", "F", help: "table (default) or json."),
        ],
        positionals: nil,
        details: """
        Each difference is classified: rounding, minimum or cap, a provider-reported quantity that
        differs from the probe, a price change (the provider's implied rate against the pricing
        table, once two jobs show it), currency conversion, failover to another offer, an unknown
        outcome (listed, never taken as zero), a free failure, an unpriced offer. What stays is
        unexplained.

        Exit codes: 0 nothing unexplained above the tolerance; 1 something is (listed); 64 a bad
        command line; 65 a bad pricing file or a damaged ledger.

        Examples: wanroute reconcile --month 2026-12
                  wanroute reconcile --month 2026-12 --tolerance 0.01 --format json
        """
    )

    static func run(_ args: ParsedArguments, _ context: Context) async throws(CLIError) -> ExitCode {
        let period = try AuditOptions.period(args)
        let format = try OutputFormat.parse(args.value("format"), allowed: [.table, .json])
        var tolerance = Money.zero(.usd)
        if let text = args.value("tolerance") {
            guard let t = Money(decimal: text.hasPrefix("USD ") ? String(text.dropFirst(4)) : text, currency: .usd), t.nanos >= 0 else {
                throw .usage("--tolerance '\(text)' is not an amount in USD such as 0.01")
            }
            tolerance = t
        }
        let catalog = try JobOptions.catalog(args, context)
        var reconciler = Reconciler(period: period, catalog: catalog, tolerance: tolerance, pricingDirectory: args.value("pricing") ?? "pricing")
        _ = try await AuditOptions.forEachJob(period, catalog, args, context, command: spec.name) { reconciler.add($0) }
        let result = reconciler.finish()
        switch format {
        case .json: context.stdout.write(JSONWriter.pretty(result.json) + "\n")
        default: context.stdout.write(result.tableText)
        }
        if !result.unexplained.isEmpty {
            context.stderr.write("wanroute reconcile: \(result.unexplained.count) job(s) with differences no cause explains, above \(tolerance)\n")
            return .failure
        }
        return .ok
    }
}

/// `wanroute whatif`: the month replayed under another policy or price table.
enum WhatIfCommand: Command {
    static let spec = CommandSpec(
        name: "whatif",
        summary: "Replay a month under another policy or price table: what it would have cost, and where jobs would have gone.",
        synopsis: "wanroute whatif --month YYYY-MM --policy FILE|NAME [--pricing DIR] [--fail-above +5%|AMOUNT] [--tz ZONE] [--format table|json|md] [--list N|all]",
        options: [
            AuditOptions.month,
            OptionSpec("policy", "FILE|NAME", help: "The policy to replay under (required): a file, or a built-in name."),
            OptionSpec("pricing", "DIR", help: "Price tables to replay with (default: the built-in copy)."),
            AuditOptions.contract, LedgerLocation.option,
            OptionSpec("fail-above", "+X%|AMOUNT", help: "Exit 1 when the replay costs more than this above the month (a percentage, or USD)."),
            AuditOptions.tz,
            OptionSpec("format", "F", help: "table (default), json, or md (for a pull-request comment)."),
            OptionSpec("list", "N|all", help: "Jobs listed per list (route changed, refused, cannot be priced), the first by id: a number or all (default 50; md lists at most 50). The counts always cover every job."),
        ],
        positionals: nil,
        details: """
        Every job of the month is routed again from its recorded facts (behaviour, reference
        duration, the resolution and mode asked for, tags), in the order the jobs were decided,
        with budgets counted from the replay's own estimates. The month's side is each estimate in
        USD as recorded when the job was decided (an older ledger without that figure: converted at
        the tables' current rates, and said so); the replay's side is priced with --pricing.
        Replaying under the month's own policy and prices gives back its estimates exactly.
        Each list says how many jobs it holds and shows the first 50 by id; --list all lists
        every job (each written as it is made: a million add about 16 bytes a job in memory).

        Exit codes: 0 done (and within --fail-above); 1 above --fail-above, or more jobs unpriceable
        than before; 64 a bad command line; 65 a bad policy or pricing file, or a damaged ledger.

        Examples: wanroute whatif --month 2026-12 --policy policies/production.json
                  wanroute whatif --month 2026-12 --policy candidate.json --fail-above +5% --format md
        """
    )

    static func run(_ args: ParsedArguments, _ context: Context) async throws(CLIError) -> ExitCode {
        let period = try AuditOptions.period(args)
        let formatText = args.value("format") ?? "table"
        guard ["table", "json", "md"].contains(formatText) else { throw .usage("'\(formatText)' is not a whatif format (table, json, md)") }
        var threshold: CostThreshold?
        if let text = args.value("fail-above") {
            guard let t = CostThreshold(text) else { throw .usage("--fail-above '\(text)' is neither a percentage such as +5% nor an amount in USD such as 100") }
            threshold = t
        }
        var listLimit: Int? = 50
        if let text = args.value("list") {
            if text == "all" {
                listLimit = nil
            } else {
                guard let n = Int(text), n >= 0 else { throw .usage("--list '\(text)' is neither a number of jobs such as 50 nor all") }
                listLimit = n
            }
        }
        let catalog = try JobOptions.catalog(args, context)
        let router = try PolicyOptions.router(args, context, catalog: catalog)
        // The ledger hands jobs on as they end; the replay puts those its budgets cover back in
        // decision order (holding them until the end) and replays the others at once.
        var replay = WhatIfReplay(period: period, router: router, pastRates: catalog.exchangeRates, threshold: threshold)
        replay.listLimit = listLimit
        if let store = try LedgerOptions.store(args, context, command: spec.name) {
            do {
                try await store.addWhatIfJobs(in: period, catalog: catalog, to: &replay)
            } catch {
                throw .dataMessage("\(error)")
            }
        }
        let result = replay.finish()
        switch formatText {
        case "json": result.writeJSON(context.stdout.write)
        case "md": context.stdout.write(result.markdownText)
        default: result.writeTable(context.stdout.write)
        }
        if let failure = result.gateFailure {
            context.stderr.write("wanroute whatif: \(failure)\n")
            return .failure
        }
        return .ok
    }
}

/// Where the ledger lives: `$WANROUTE_HOME/ledger`, else `$XDG_DATA_HOME/wanroute/ledger`, else
/// `~/.local/share/wanroute/ledger` (README, "The spend ledger").
enum LedgerOptions {
    static func directory(_ environment: [String: String]) -> String {
        if let home = environment["WANROUTE_HOME"], !home.isEmpty { return home + "/ledger" }
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty { return xdg + "/wanroute/ledger" }
        return (environment["HOME"] ?? NSHomeDirectory()) + "/.local/share/wanroute/ledger"
    }

    /// The ledger store (``LedgerLocation``), or nil (with a note on stderr) when no file ledger has
    /// been written yet: an audit never creates one.
    static func store(_ args: ParsedArguments, _ context: Context, command: String, quiet: Bool = false) throws(CLIError) -> (any LedgerStore)? {
        let place = try LedgerLocation.place(args, context)
        guard let store = try LedgerLocation.open(place, context, command: command, quiet: quiet) else {
            if !quiet {
                context.stderr.write("wanroute \(command): note: no ledger at \(place) yet (wanroute run writes it; WANROUTE_HOME moves it), so the month has no jobs\n")
            }
            return nil
        }
        return store
    }
}
