import Foundation
import WanRoute

/// `wanroute run`: route jobs by a policy and run them on the providers, one JSON line per job.
enum RunCommand: Command {
    static let spec = CommandSpec(
        name: "run",
        summary: "Route jobs by a policy and run them: submit, poll, retry, fail over; one JSON line per job.",
        synopsis: "wanroute run --image URL|PATH --video URL [--duration S] [job flags] --policy FILE|NAME [--tag KEY=VALUE]... [--sandbox] | --jobs FILE.jsonl [--concurrency N] --policy FILE|NAME [--sandbox]",
        options: JobOptions.specs.map { $0.name == "image" ? imageSpec : $0 } + PolicyOptions.specs + [
            OptionSpec("jobs", "FILE", help: "Run every job in a JSON Lines file (one object per line; see README; - reads standard input) instead of one job from flags."),
            OptionSpec("id", "ID", help: "The job's id: its idempotency key in the ledger (default: a new unique id). A job whose id the ledger already holds is not started again."),
            OptionSpec("concurrency", "N", help: "Jobs in flight at once with --jobs (default 4; per-provider limits still apply)."),
            OptionSpec("deadline", "S", help: "Stop polling a job after S seconds, keeping its task id (default 3600)."),
            OptionSpec("max-in-flight", "ID=N", repeatable: true, help: "At most N tasks at once on provider ID's account (repeat, or ID=N,ID=N); over the policy's max_in_flight and the defaults (DashScope 1, others 16)."),
            OptionSpec("sandbox", help: "Run against the built-in provider simulator on loopback: no API keys, no money, provider time 100x faster."),
            LedgerLocation.option,
        ],
        positionals: nil,
        details: """
        API keys come only from the environment: DASHSCOPE_API_KEY (both DashScope regions; or
        DASHSCOPE_INTL_API_KEY and DASHSCOPE_CN_API_KEY for each region's own account),
        MODELLIX_API_KEY, AIMLAPI_API_KEY, APIXO_API_KEY. A missing key for the chosen provider is an
        error before anything is submitted; alternates without a key are skipped. Base URLs can be
        pointed at a gateway with WANROUTE_<PROVIDER>_BASE_URL (e.g. WANROUTE_APIXO_BASE_URL).

        Inputs: providers fetch the video from an http(s) URL. The image may be a local file only
        for the AI/ML API, which takes it inline as a base64 data URI (at most 10 MB); DashScope,
        Modellix and APIXO fetch the image from a URL too, so with a local --image only AI/ML API
        offers qualify, and a policy that allows none of them is an error before anything runs.

        Each finished job prints one JSON line on stdout: id, status (succeeded, failed, refused,
        needs-attention, unfinished, stopped), provider, mode, resolution, task_id, result_url,
        estimated_cost, actual_cost and its source, both in USD beside (estimated_usd, actual_usd),
        cost_alert when the actual is more than 10% off the estimate, and every attempt. A
        submission that got no answer is never re-submitted: the job ends needs-attention with the
        ids it has. Progress goes to stderr when it is a terminal.

        Failures that belong to an account (out of balance, auth, rate limits) fail over to another
        account's offer, never to another mode of the same account. DashScope runs one task at a time
        per account unless --max-in-flight or the policy's max_in_flight says more.

        Job ids (--id, or each line's "id") are idempotency keys: a job whose id the ledger already
        holds is not started again; its recorded outcome is printed instead (run 'wanroute resume' to
        finish one left in flight). Without --id a single job gets a new unique id.

        Every step is recorded in the ledger before it happens (see 'wanroute jobs'): the decision,
        the budget reservation, the submission (synced before the request leaves), the task id (synced
        before polling goes on), and the end. Budgets in the policy are checked against the month's
        settled and reserved spend, and each offer's worst-case cost is reserved before its first
        submission, under a lock shared by every wanroute process. A ledger that cannot be written
        stops the run: nothing more is submitted. Sandbox runs use their own ledger (sandbox-ledger).

        Ctrl-C (or SIGTERM) stops new submissions, waits for the submissions already sent to be
        answered, lists every task in flight (job, provider, task id) on stderr and exits 130: run
        'wanroute resume' to follow them to their end. A second Ctrl-C exits at once.

        WANROUTE_TIME_SCALE=N (a testing aid, 1 to 1000000) makes every wait N times shorter: poll
        schedule, back-off and --deadline; with --sandbox it replaces the default 100.

        Exit 0 when every job succeeded, 2 when the policy refused a job (and none failed), 1 when a
        job failed, needs attention, is unfinished or was stopped, 130 when interrupted.
        """
    )

    static func run(_ args: ParsedArguments, _ context: Context) async throws(CLIError) -> ExitCode {
        let catalog = try JobOptions.catalog(args, context)
        guard let policyText = args.value("policy") else {
            throw .usage("give the routing policy with --policy FILE|NAME (built-in: \(Policy.builtInNames.joined(separator: ", ")))")
        }
        let (router, policyDigest) = try PolicyOptions.routerAndDigest(policyText, context, catalog: catalog)
        var options = ExecutorOptions()
        if let text = args.value("deadline") { options.deadline = try JobOptions.parseDuration(text, flag: "deadline") }
        options.concurrency.merge(router.policy.maxInFlight) { _, policy in policy }
        options.concurrency.merge(try maxInFlight(args, catalog)) { _, flag in flag }
        let concurrency = try args.value("concurrency").map { text throws(CLIError) -> Int in
            guard let n = Int(text), (1...1_000).contains(n) else { throw .usage("--concurrency must be a whole number from 1 to 1000, not '\(text)'") }
            return n
        } ?? 4

        var orders: [JobOrder]
        if let file = args.value("jobs") {
            for flag in ["image", "video", "duration", "behavior", "resolution", "mode", "tag", "id"] where args.flag(flag) {
                throw .usage("--\(flag) describes a single job; with --jobs, put it in each line of the file")
            }
            orders = try JobsFileReader.read(context.url(file), name: file, context: context, sandbox: args.flag("sandbox"))
        } else {
            if args.flag("concurrency") { throw .usage("--concurrency goes with --jobs") }
            guard var image = args.value("image"), let video = args.value("video") else {
                throw .usage("give the inputs with --image URL|PATH and --video URL (or a batch with --jobs FILE)")
            }
            guard MediaProbe.isRemote(video) else {
                throw .usage("--video must be an http(s) URL the provider can fetch, not '\(URLText.forMessage(video))': upload the video first")
            }
            var inlineImage: ImageProbe?
            if !MediaProbe.isRemote(image) {
                (image, inlineImage) = try inline(image, context)
            }
            // The sandbox fetches nothing: the inputs are only names for the simulator.
            if args.flag("sandbox"), !args.flag("duration") {
                throw .usage("--sandbox fetches no real files: give the reference video's length with --duration S")
            }
            var job = try JobOptions.job(args, context, probeImage: !args.flag("sandbox") && inlineImage == nil)
            if let inlineImage { job.image = inlineImage.facts(url: image) }
            job.tags = try PolicyOptions.tags(args)
            // The id is the job's idempotency key in the ledger: without --id, a new one each run.
            let id = args.value("id") ?? GeneratedID.make("j")
            guard !id.isEmpty, id.utf8.count <= 200 else { throw .usage("--id takes a non-empty id of at most 200 bytes") }
            orders = [JobOrder(id: id, job: job, imageURL: image, videoURL: video)]
            if inlineImage != nil, let refusal = router.decide(job).refusal {
                let takers = catalog.providers.filter { $0.hasAdapter && $0.limits.urlSchemes?.contains("data") == true }.map(\.displayName)
                throw .usage("--image \(args.value("image")!) is a local file, which only \(takers.joined(separator: ", ")) takes (inline, as a data URI), and \(refusal); upload the image and pass its https:// URL, or use a policy that allows \(takers.count == 1 ? "it" : "them")")
            }
        }

        let environment = try ProviderEnvironment.make(sandbox: args.flag("sandbox"), context: context)
        defer { environment.stop() }

        // A choice wanroute cannot submit to, or has no key for, is an error before anything is
        // submitted. This looks ahead only; each job is decided again when it starts.
        for order in orders {
            for warning in PolicyOptions.undeclaredTags(order.job.tags, router.policy) {
                context.stderr.write("wanroute run: warning: job \(order.id): \(warning)\n")
            }
        }
        for order in orders {
            let decision = router.decide(order.job)
            guard let choice = decision.choice?.offer.provider else { continue }
            // A deadline before the provider's first poll would end every job unchecked.
            if args.flag("deadline") {
                for provider in [choice] + decision.alternates.map(\.offer.provider) {
                    guard let first = environment.adapters[provider]?.pollSchedule.firstPoll, options.deadline < first else { continue }
                    throw .usage("--deadline \(options.deadline) is shorter than \(provider)'s first poll, \(first) after submitting, so the job could never be checked; give at least \(first.decimalString)")
                }
            }
            if environment.adapters[choice] == nil {
                let runnable = Policy.builtInNames.filter { $0 != "cheapest" }.joined(separator: ", ")
                throw .failure("policy \"\(decision.policyName)\" chose \(choice) for job \(order.id), which wanroute can only quote (no adapter); run with a policy that does not allow quote-only providers (\"allow_quote_only\": false), such as \(runnable)")
            }
            if environment.apiKeys[choice] == nil {
                throw .failure("job \(order.id) routes to \(choice), but \(ProviderCredentials.variable(for: choice)) is not set; export it, or try the flow with --sandbox")
            }
        }

        let stdout = context.stdout
        let progress: TextOutput? = context.stderr.isTerminal ? context.stderr : nil
        let printer = ExecutionEventHandler { event in
            switch event {
            case .finished(let report):
                stdout.write(report.jsonLine)
            case .accepted(let id, let provider, let task):
                progress?.write("\(id): submitted to \(provider) as task \(task)\n")
            case .retrying(let id, let provider, let after, let reason):
                progress?.write("\(id): \(provider) answered \(reason); retrying in \(after)\n")
            case .failingOver(let id, let from, let to, let reason):
                progress?.write("\(id): \(from) failed (\(reason)); failing over to \(to)\n")
            default:
                break
            }
        }
        let place = try LedgerLocation.place(args, context, sandbox: args.flag("sandbox"))
        guard let ledger = try LedgerLocation.open(place, context, command: "run", create: true) else { throw .failure("cannot open the ledger at \(place)") }
        // The summaries this run kept current are written once more at its end.
        defer { (ledger as? FileLedgerStore)?.saveSummaries(keepingShortTails: true) }
        let runID = GeneratedID.make("r")
        // Job ids are idempotency keys: a job the ledger already holds is reported, not started again.
        let known: [String: JobState]
        do { known = try await ledger.states(of: Set(orders.map(\.id))) } catch { throw LedgerLocation.failure(error) }
        var earlier: [JobReport] = []
        for order in orders {
            guard let state = known[order.id] else { continue }
            let report = JobReport(recorded: state)
            earlier.append(report)
            context.stdout.write(report.jsonLine)
        }
        orders = orders.filter { known[$0.id] == nil }
        let recorder = LedgerRecorder(store: ledger, router: router, catalog: catalog, runID: runID, time: environment.time,
                                      policyDigest: policyDigest, pricingDigest: catalog.sourceDigest)
        // Last among the observers: a task it lists is already recorded by those before it.
        let inFlight = InFlightTasks()
        let executor = Executor(catalog: catalog, adapters: environment.adapters, apiKeys: environment.apiKeys,
                                time: environment.time, options: options, seed: environment.seed, observers: [recorder, printer, inFlight])
        let interruption = RunInterruption.install(command: "run", executor: executor, inFlight: inFlight, stderr: context.stderr)
        defer { interruption.cancel() }
        let reports = await executor.run(orders, decider: recorder, concurrency: concurrency) + earlier
        if reports.contains(where: { [.failed, .needsAttention, .unfinished, .stopped].contains($0.status) }) { return .failure }
        if reports.contains(where: { $0.status == .refused }) { return .refused }
        return .ok
    }

    /// `--max-in-flight ID=N`, repeated or comma-separated; N from 1 to 1000, ID in the catalog.
    static func maxInFlight(_ args: ParsedArguments, _ catalog: PriceCatalog) throws(CLIError) -> [ProviderID: Int] {
        var limits: [ProviderID: Int] = [:]
        let known = catalog.providers.map(\.id.rawValue)
        for item in args.values("max-in-flight").flatMap({ $0.split(separator: ",", omittingEmptySubsequences: false) }) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2 else { throw .usage("--max-in-flight takes PROVIDER=N such as dashscope-cn=3, not '\(item)'") }
            guard let id = ProviderID(parts[0]), catalog.provider(id) != nil else {
                let guess = Spelling.closest(to: parts[0], among: known).map { " (did you mean '\($0)'?)" } ?? ""
                throw .usage("--max-in-flight: unknown provider '\(parts[0])'\(guess); known: \(known.joined(separator: ", "))")
            }
            guard let n = Int(parts[1]), (1...1_000).contains(n) else {
                throw .usage("--max-in-flight \(id): '\(parts[1])' is not a whole number of tasks from 1 to 1000")
            }
            limits[id] = n
        }
        return limits
    }
}

extension RunCommand {
    static let imageSpec = OptionSpec("image", "URL|PATH", help: "The character image: an http(s) URL, or a local file sent inline as a data URI (only the AI/ML API takes that).")

    /// A local image as a data URI and its probe; a missing file is a usage error like every missing file.
    static func inline(_ path: String, _ context: Context) throws(CLIError) -> (String, ImageProbe) {
        let url = context.url(path)
        guard FileManager.default.fileExists(atPath: url.path) else { throw .usage("--image '\(path)' does not exist") }
        do { return try MediaProbe.dataURI(forImageAt: url.path) } catch { throw JobOptions.probeFailure(path, error) }
    }
}

/// Reads a `--jobs` file (``JobsFile``), every problem reported at once; a line without
/// `duration` has its video probed.
enum JobsFileReader {
    /// The largest jobs file read (16 MiB, some 50,000 jobs); checked before anything is parsed.
    static let maximumBytes: Int64 = 16 << 20

    static func read(_ url: URL, name: String, context: Context, sandbox: Bool = false) throws(CLIError) -> [JobOrder] {
        let text: String
        if name == "-" {
            // `--jobs -`: the lines come on standard input, named "stdin" in diagnostics.
            let data = context.standardInput()
            guard data.count <= maximumBytes else { throw .dataMessage("standard input holds more than \(maximumBytes) bytes of jobs; split the batch") }
            guard let input = String(data: data, encoding: .utf8) else { throw .dataMessage("standard input is not UTF-8 text") }
            text = input
        } else {
            guard FileManager.default.fileExists(atPath: url.path) else { throw .usage("--jobs '\(name)' does not exist") }
            do throws(SourceFileError) { text = try SourceFile.read(url, name: name, limit: maximumBytes, what: "a jobs file").text } catch {
                throw .failure(error.description)
            }
        }
        // A line without an id gets one no other run shares: ids are the ledger's idempotency keys.
        let prefix = GeneratedID.make("j") + "-"
        let (lines, diagnostics) = JobsFile.parse(text, name: name == "-" ? "stdin" : name, defaultIDPrefix: prefix)
        if diagnostics.contains(where: { $0.severity == .error }) { throw .data(diagnostics) }
        if lines.isEmpty { throw .dataMessage("\(name) holds no jobs; write one JSON object per line") }
        // The sandbox fetches nothing (README): every line must say how long its video is.
        if sandbox, let line = lines.first(where: { $0.duration == nil }) {
            throw .usage("--sandbox fetches no real files, but job \(line.id) in \(name) has no \"duration\"; give every line one")
        }
        var orders: [JobOrder] = []
        for line in lines {
            // Checked as quote checks it: a probed 0 s video is refused before anything is submitted.
            let probe = line.duration == nil ? try JobOptions.probedVideo(line.videoURL, context) : nil
            guard let order = line.order(probe: probe) else { throw .dataMessage("\(line.videoURL): no duration") }
            orders.append(order)
        }
        return orders
    }
}
