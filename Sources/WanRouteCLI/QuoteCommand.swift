import Foundation
import WanRoute

/// `wanroute quote`: every matching offer priced for one job, cheapest eligible first.
enum QuoteCommand: Command {
    static let spec = CommandSpec(
        name: "quote",
        summary: "Price a job on every offer, cheapest eligible first.",
        synopsis: "wanroute quote --duration S | --video PATH|URL [--image PATH|URL] [--behavior animate|replace] [--resolution R] [--mode M] [--provider ID[,ID]]... [--pricing DIR] [--contract FILE|DIR]... [--max-price-age DAYS] [--format table|json|csv]",
        options: JobOptions.specs + [
            OptionSpec("provider", "ID", repeatable: true, help: "Only this provider (repeat for several, or list them: apixo,wavespeed): dashscope-intl, dashscope-cn, modellix, aimlapi, apixo, fal, wavespeed, runware."),
            OptionSpec("format", "F", help: "table (default), json or csv."),
            OptionSpec("max-price-age", "DAYS", help: "Flag prices read more than DAYS days ago (default 90) with ! (JSON \"stale\": true)."),
        ],
        positionals: nil,
        details: """
        Each row is one offer: the seconds it would bill, the cost in its own currency and in USD
        (~ marks a converted figure), how sure the price is (contract, published, third-party,
        unknown; ! marks a price read more than --max-price-age days ago, default 90), and whether
        the provider accepts the job, with every reason when it does not. * marks the cheapest
        eligible offer. An offer whose price nobody publishes shows "price unknown".

        With --video the duration, size and format are read from the file's own headers (a URL is
        read with a few small Range requests), and each provider's input limits are checked. The
        duration priced is the container's (the longest track, as ffprobe reports it), never less
        than what a provider can bill. "yes (limits not published)" means the provider publishes no
        input limits, so nothing could be checked; "not checked" lists the limits a skipped probe
        (--duration with --video) left unchecked.

        --contract lays your negotiated prices over the tables (README, "Contract prices").

        Exit 0 with an eligible offer; 2 when no offer sells the job (the reason names what each
        provider does sell) or none is eligible; 64 a bad command line or a named file that does
        not exist; 65 a bad data file.

        Examples: wanroute quote --duration 12 --behavior replace --resolution 720p
                  wanroute quote --video dance.mp4 --image face.png
        """
    )

    static func run(_ args: ParsedArguments, _ context: Context) throws(CLIError) -> ExitCode {
        let format = try OutputFormat.parse(args.value("format"), allowed: [.table, .json, .csv])
        let job = try JobOptions.job(args, context)
        let catalog = try JobOptions.catalog(args, context)
        let providers = try JobOptions.providers(args, catalog)
        let quote = catalog.quote(job, providers: providers)
        let staleness = try Staleness(args, context)
        let unsold = catalog.unsold(for: quote, providers: providers)
        let skipped = args.flag("video") && args.flag("duration") ? "--duration was given, so the video was not probed" : nil
        switch format {
        case .table: context.stdout.write(table(quote, catalog, unsold: unsold, skipped: skipped, staleness: staleness))
        case .json:
            let json = quote.json(catalog: catalog, providers: providers, today: staleness.today, maximumPriceAgeDays: staleness.maximumDays)
            context.stdout.write(JSONWriter.pretty(json) + "\n")
        case .csv: context.stdout.write(csv(quote, catalog, staleness: staleness))
        }
        if let refusal = quote.refusal(unsold: unsold) {
            context.stderr.write("wanroute quote: \(refusal)\n")
            return .refused
        }
        return .ok
    }

    /// The ELIGIBLE cell: yes, with what was not checked and whether limits are published, or every reason.
    static func eligibility(_ e: Estimate) -> String {
        guard e.isEligible else { return "no: " + e.reasons.map(\.description).joined(separator: "; ") }
        if !e.limitsPublished { return "yes (limits not published)" }
        if !e.unchecked.isEmpty { return "yes; not checked: " + uncheckedSummary(e.unchecked) }
        return "yes"
    }

    /// `video format, pixel size, aspect ratio, file size`: the unchecked limits grouped by input.
    static func uncheckedSummary(_ limits: [UncheckedLimit]) -> String {
        var groups: [(MediaKind, [String])] = []
        for limit in limits {
            let (kind, what): (MediaKind, String) = switch limit {
            case .format(let k): (k, "format")
            case .pixelSize(let k): (k, "pixel size")
            case .aspectRatio(let k): (k, "aspect ratio")
            case .fileSize(let k): (k, "file size")
            }
            if let i = groups.firstIndex(where: { $0.0 == kind }) { groups[i].1.append(what) } else { groups.append((kind, [what])) }
        }
        return groups.map { "\($0.0.rawValue) \($0.1.joined(separator: ", "))" }.joined(separator: "; ")
    }

    static func table(_ quote: Quote, _ catalog: PriceCatalog, unsold: [String] = [], skipped: String? = nil, staleness: Staleness? = nil) -> String {
        var stale = false
        var t = TextTable(["", "PROVIDER", "BEHAVIOR", "MODE", "RES", "BILLED", "COST", "USD", "CONFIDENCE", "ELIGIBLE"])
        let cheapest = quote.cheapest?.offerIndex
        var converted = Set<Currency>()
        for e in quote.estimates {
            let offer = catalog.offers[e.offerIndex]
            if e.usdIsConverted, let c = e.cost?.currency { converted.insert(c) }
            if staleness?.isStale(offer.source) == true { stale = true }
            t.rows.append([
                e.offerIndex == cheapest ? "*" : "",
                offer.provider.rawValue,
                offer.behavior.rawValue,
                offer.mode.rawValue,
                offer.resolution.rawValue,
                e.billableSeconds.map { "\($0.decimalString) s" } ?? "unknown",
                e.cost?.description ?? "price unknown",
                e.usd.map { (e.usdIsConverted ? "~" : "") + $0.description } ?? "-",
                offer.source.confidence.rawValue + (staleness?.isStale(offer.source) == true ? "!" : ""),
                eligibility(e),
            ])
        }
        let job = quote.job
        var out = "\(job.behavior.rawValue), \(job.duration)"
        out += ", \(job.resolution?.rawValue ?? "any resolution"), \(job.mode?.rawValue ?? "any mode")\n"
        if !quote.estimates.isEmpty { out += t.rendered }
        if let refusal = quote.refusal(unsold: unsold) { out += refusal.prefix(1).uppercased() + refusal.dropFirst() + ".\n" }
        var notes: [String] = []
        if cheapest != nil { notes.append("* cheapest eligible offer") }
        if stale, let staleness { notes.append("! price read more than \(staleness.maximumDays) days ago: check its source, or lay your own over it with --contract") }
        notes += catalog.conversionNotes(converted)
        let quoteOnly = Set(quote.estimates.map { catalog.offers[$0.offerIndex].providerIndex })
            .map { catalog.providers[$0] }.filter { !$0.hasAdapter }.map(\.id.rawValue).sorted()
        if !quoteOnly.isEmpty { notes.append("quote only (wanroute cannot submit jobs to them yet): \(quoteOnly.joined(separator: ", "))") }
        if !quote.estimates.isEmpty, !unsold.isEmpty { notes.append("not sold: " + unsold.joined(separator: "; ")) }
        if let skipped, quote.estimates.contains(where: { !$0.unchecked.isEmpty }) { notes.append("not checked: \(skipped)") }
        if !notes.isEmpty { out += "\n" + notes.joined(separator: "\n") + "\n" }
        return out
    }

    static func csv(_ quote: Quote, _ catalog: PriceCatalog, staleness: Staleness? = nil) -> String {
        var out = CSV.line(["provider", "behavior", "mode", "resolution", "billable_seconds", "cost_amount", "cost_currency",
                            "usd_amount", "usd_converted", "confidence", "eligible", "cheapest", "reasons",
                            "limits_published", "unchecked", "read_on", "stale"])
        let cheapest = quote.cheapest?.offerIndex
        for e in quote.estimates {
            let offer = catalog.offers[e.offerIndex]
            out += CSV.line([
                offer.provider.rawValue, offer.behavior.rawValue, offer.mode.rawValue, offer.resolution.rawValue,
                e.billableSeconds?.decimalString ?? "",
            ] + Money.csvFields(e.cost) + [
                e.usd?.decimalString ?? "", e.usd == nil ? "" : String(e.usdIsConverted), offer.source.confidence.rawValue,
                String(e.isEligible), String(e.offerIndex == cheapest), e.reasons.map(\.description).joined(separator: "; "),
                String(e.limitsPublished), e.unchecked.map(\.description).joined(separator: "; "),
                offer.source.readOn, String(staleness?.isStale(offer.source) ?? false),
            ])
        }
        return out
    }
}

/// Which prices `quote` flags as old: read more than `--max-price-age` days (default 90) before
/// today (UTC; `WANROUTE_TODAY=YYYY-MM-DD` fixes the day, for reproducible output).
struct Staleness {
    static let defaultDays = 90
    let maximumDays: Int
    let today: String

    init(_ args: ParsedArguments, _ context: Context) throws(CLIError) {
        maximumDays = try args.value("max-price-age").map { text throws(CLIError) -> Int in
            guard let n = Int(text), (0...36_500).contains(n) else {
                throw .usage("--max-price-age must be a whole number of days from 0 to 36500, not '\(text)'")
            }
            return n
        } ?? Self.defaultDays
        if let fixed = context.environment["WANROUTE_TODAY"] {
            guard Provenance.dayNumber(fixed) != nil else { throw .usage("WANROUTE_TODAY '\(fixed)' is not a date of the form YYYY-MM-DD") }
            today = fixed
        } else {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyy-MM-dd"
            today = formatter.string(from: Date())
        }
    }

    func isStale(_ source: Provenance) -> Bool { (source.ageInDays(asOf: today) ?? 0) > maximumDays }
}
