import WanRoute

/// `wanroute quote`: every matching offer priced for one job, cheapest eligible first.
enum QuoteCommand: Command {
    static let spec = CommandSpec(
        name: "quote",
        summary: "Price a job on every offer, cheapest eligible first.",
        synopsis: "wanroute quote --duration S | --video PATH|URL [--image PATH|URL] [--behavior animate|replace] [--resolution R] [--mode M] [--provider ID]... [--pricing DIR] [--format table|json|csv]",
        options: JobOptions.specs + [
            OptionSpec("provider", "ID", repeatable: true, help: "Only this provider (repeat for several): dashscope-intl, dashscope-cn, modellix, aimlapi, apixo, fal, wavespeed, runware."),
            OptionSpec("format", "F", help: "table (default), json or csv."),
        ],
        positionals: nil,
        details: """
        Each row is one offer: the seconds it would bill, the cost in its own currency and in USD
        (~ marks a converted figure), how sure the price is (published, third-party, unknown), and
        whether the provider accepts the job, with every reason when it does not. * marks the
        cheapest eligible offer. An offer whose price nobody publishes shows "price unknown".

        With --video the duration, size and format are read from the file's own headers (a URL is
        read with a few small Range requests), and each provider's input limits are checked.

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
        switch format {
        case .table: context.stdout.write(table(quote, catalog))
        case .json: context.stdout.write(JSONWriter.pretty(json(quote, catalog)) + "\n")
        case .csv: context.stdout.write(csv(quote, catalog))
        }
        return .ok
    }

    static func json(_ quote: Quote, _ catalog: PriceCatalog) -> JSONValue {
        let cheapest = quote.cheapest?.offerIndex
        let offers: [JSONValue] = quote.estimates.map { e in
            let offer = catalog.offers[e.offerIndex]
            return .object(OfferJSON.members(e, catalog) + [
                JSONMember("eligible", .bool(e.isEligible)),
                JSONMember("cheapest", .bool(e.offerIndex == cheapest)),
                JSONMember("reasons", .array(e.reasons.map { .string($0.description) })),
                JSONMember("source", .object([JSONMember("url", .string(offer.source.url)), JSONMember("read_on", .string(offer.source.readOn))])),
            ])
        }
        return .object([
            JSONMember("job", .object(OfferJSON.job(quote.job))),
            JSONMember("offers", .array(offers)),
        ])
    }

    static func table(_ quote: Quote, _ catalog: PriceCatalog) -> String {
        var t = TextTable(["", "PROVIDER", "BEHAVIOR", "MODE", "RES", "BILLED", "COST", "USD", "CONFIDENCE", "ELIGIBLE"])
        let cheapest = quote.cheapest?.offerIndex
        var converted = Set<Currency>()
        for e in quote.estimates {
            let offer = catalog.offers[e.offerIndex]
            if e.usdIsConverted, let c = e.cost?.currency { converted.insert(c) }
            t.rows.append([
                e.offerIndex == cheapest ? "*" : "",
                offer.provider.rawValue,
                offer.behavior.rawValue,
                offer.mode.rawValue,
                offer.resolution.rawValue,
                e.billableSeconds.map { "\($0.decimalString) s" } ?? "unknown",
                e.cost?.description ?? "price unknown",
                e.usd.map { (e.usdIsConverted ? "~" : "") + $0.description } ?? "-",
                offer.source.confidence.rawValue,
                e.isEligible ? "yes" : "no: " + e.reasons.map(\.description).joined(separator: "; "),
            ])
        }
        let job = quote.job
        var out = "\(job.behavior.rawValue), \(job.duration)"
        out += ", \(job.resolution?.rawValue ?? "any resolution"), \(job.mode?.rawValue ?? "any mode")\n"
        out += t.rendered
        if quote.estimates.isEmpty { out += "(no offer sells this combination)\n" }
        var notes: [String] = []
        if cheapest != nil { notes.append("* cheapest eligible offer") }
        notes += catalog.conversionNotes(converted)
        let quoteOnly = Set(quote.estimates.map { catalog.offers[$0.offerIndex].providerIndex })
            .map { catalog.providers[$0] }.filter { !$0.hasAdapter }.map(\.id.rawValue).sorted()
        if !quoteOnly.isEmpty { notes.append("quote only (wanroute cannot submit jobs to them yet): \(quoteOnly.joined(separator: ", "))") }
        if !notes.isEmpty { out += "\n" + notes.joined(separator: "\n") + "\n" }
        return out
    }

    static func csv(_ quote: Quote, _ catalog: PriceCatalog) -> String {
        var out = CSV.line(["provider", "behavior", "mode", "resolution", "billable_seconds", "cost_amount", "cost_currency",
                            "usd_amount", "usd_converted", "confidence", "eligible", "cheapest", "reasons"])
        let cheapest = quote.cheapest?.offerIndex
        for e in quote.estimates {
            let offer = catalog.offers[e.offerIndex]
            out += CSV.line([
                offer.provider.rawValue, offer.behavior.rawValue, offer.mode.rawValue, offer.resolution.rawValue,
                e.billableSeconds?.decimalString ?? "",
            ] + Money.csvFields(e.cost) + [
                e.usd?.decimalString ?? "", e.usd == nil ? "" : String(e.usdIsConverted), offer.source.confidence.rawValue,
                String(e.isEligible), String(e.offerIndex == cheapest), e.reasons.map(\.description).joined(separator: "; "),
            ])
        }
        return out
    }
}
