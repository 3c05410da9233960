import Foundation
import WanRoute

/// `wanroute run`: route jobs by a policy and run them on the providers, one JSON line per job.
enum RunCommand: Command {
    static let spec = CommandSpec(
        name: "run",
        summary: "Route jobs by a policy and run them: submit, poll, retry, fail over; one JSON line per job.",
        synopsis: "wanroute run --image URL --video URL [--duration S] [job flags] --policy FILE|NAME [--tag KEY=VALUE]... [--sandbox] | --jobs FILE.jsonl [--concurrency N] --policy FILE|NAME [--sandbox]",
        options: JobOptions.specs + PolicyOptions.specs + [
            OptionSpec("jobs", "FILE", help: "Run every job in a JSON Lines file (one object per line; see README) instead of one job from flags."),
            OptionSpec("concurrency", "N", help: "Jobs in flight at once with --jobs (default 4; per-provider limits still apply)."),
            OptionSpec("deadline", "S", help: "Stop polling a job after S seconds, keeping its task id (default 3600)."),
            OptionSpec("sandbox", help: "Run against the built-in provider simulator on loopback: no API keys, no money, provider time 100x faster."),
        ],
        positionals: nil,
        details: """
        API keys come only from the environment: DASHSCOPE_API_KEY (both DashScope regions; or
        DASHSCOPE_INTL_API_KEY and DASHSCOPE_CN_API_KEY for each region's own account),
        MODELLIX_API_KEY, AIMLAPI_API_KEY, APIXO_API_KEY. A missing key for the chosen provider is an
        error before anything is submitted; alternates without a key are skipped. Base URLs can be
        pointed at a gateway with WANROUTE_<PROVIDER>_BASE_URL (e.g. WANROUTE_APIXO_BASE_URL).

        Each finished job prints one JSON line on stdout: id, status (succeeded, failed, refused,
        needs-attention, unfinished), provider, mode, resolution, task_id, result_url, estimated_cost,
        actual_cost and its source, and every attempt. A submission that got no answer is never
        re-submitted: the job ends needs-attention with the ids it has. Progress goes to stderr when
        it is a terminal.

        Exit 0 when every job succeeded, 2 when the policy refused a job (and none failed), 1 when a
        job failed, needs attention or is unfinished.
        """
    )

    static func run(_ args: ParsedArguments, _ context: Context) async throws(CLIError) -> ExitCode {
        let catalog = try JobOptions.catalog(args, context)
        let router = try PolicyOptions.router(args, context, catalog: catalog)
        var options = ExecutorOptions()
        if let text = args.value("deadline") { options.deadline = try JobOptions.parseDuration(text) }
        let concurrency = try args.value("concurrency").map { text throws(CLIError) -> Int in
            guard let n = Int(text), (1...1_000).contains(n) else { throw .usage("--concurrency must be a whole number from 1 to 1000, not '\(text)'") }
            return n
        } ?? 4

        let orders: [JobOrder]
        if let file = args.value("jobs") {
            for flag in ["image", "video", "duration", "behavior", "resolution", "mode", "tag"] where args.flag(flag) {
                throw .usage("--\(flag) describes a single job; with --jobs, put it in each line of the file")
            }
            orders = try JobsFileReader.read(context.url(file), name: file, context: context)
        } else {
            if args.flag("concurrency") { throw .usage("--concurrency goes with --jobs") }
            guard let image = args.value("image"), let video = args.value("video") else {
                throw .usage("give the inputs with --image URL and --video URL (or a batch with --jobs FILE)")
            }
            for (flag, url) in [("image", image), ("video", video)] where !MediaProbe.isRemote(url) {
                throw .usage("--\(flag) must be an http(s) URL the provider can fetch, not '\(url)'")
            }
            // The sandbox fetches nothing: the inputs are only names for the simulator.
            if args.flag("sandbox"), !args.flag("duration") {
                throw .usage("--sandbox fetches no real files: give the reference video's length with --duration S")
            }
            var job = try JobOptions.job(args, context, probeImage: !args.flag("sandbox"))
            job.tags = try PolicyOptions.tags(args)
            orders = [JobOrder(id: "job-1", job: job, imageURL: image, videoURL: video)]
        }

        let environment = try ProviderEnvironment.make(sandbox: args.flag("sandbox"), context: context)
        defer { environment.stop() }

        // A choice wanroute cannot submit to, or has no key for, is an error before anything is
        // submitted. This looks ahead only; each job is decided again when it starts.
        for order in orders {
            let decision = router.decide(order.job)
            guard let choice = decision.choice?.offer.provider else { continue }
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
        let executor = Executor(catalog: catalog, adapters: environment.adapters, apiKeys: environment.apiKeys,
                                time: environment.time, options: options, seed: environment.seed, observers: [printer])
        let reports = await executor.run(orders, decider: router, concurrency: concurrency)
        if reports.contains(where: { [.failed, .needsAttention, .unfinished, .stopped].contains($0.status) }) { return .failure }
        if reports.contains(where: { $0.status == .refused }) { return .refused }
        return .ok
    }
}

/// Reads a `--jobs` file (``JobsFile``), every problem reported at once; a line without
/// `duration` has its video probed.
enum JobsFileReader {
    static func read(_ url: URL, name: String, context: Context) throws(CLIError) -> [JobOrder] {
        let text: String
        do throws(SourceFileError) { text = try SourceFile.read(url, name: name).text } catch {
            throw .failure(error.description)
        }
        let (lines, diagnostics) = JobsFile.parse(text, name: name)
        if diagnostics.contains(where: { $0.severity == .error }) { throw .data(diagnostics) }
        if lines.isEmpty { throw .dataMessage("\(name) holds no jobs; write one JSON object per line") }
        var orders: [JobOrder] = []
        for line in lines {
            let probe = line.duration == nil ? try JobOptions.probeVideo(line.videoURL, context) : nil
            guard let order = line.order(probe: probe) else { throw .dataMessage("\(line.videoURL): no duration") }
            orders.append(order)
        }
        return orders
    }
}
