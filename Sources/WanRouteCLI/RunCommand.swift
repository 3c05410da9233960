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

    static func run(_ args: ParsedArguments, _ context: Context) throws(CLIError) -> ExitCode {
        let catalog = try JobOptions.catalog(args, context)
        let router = try PolicyOptions.router(args, context, catalog: catalog)
        var options = ExecutorOptions()
        if let text = args.value("deadline") { options.deadline = try JobOptions.parseDuration(text, flag: "deadline") }
        let concurrency = try args.value("concurrency").map { text throws(CLIError) -> Int in
            guard let n = Int(text), (1...1_000).contains(n) else { throw .usage("--concurrency must be a whole number from 1 to 1000, not '\(text)'") }
            return n
        } ?? 4

        let orders: [JobOrder]
        if let file = args.value("jobs") {
            for flag in ["image", "video", "duration", "behavior", "resolution", "mode", "tag"] where args.flag(flag) {
                throw .usage("--\(flag) describes a single job; with --jobs, put it in each line of the file")
            }
            orders = try JobsFile.read(context.url(file), name: file, context: context, sandbox: args.flag("sandbox"))
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
        let decisions = orders.map { (order: $0, decision: router.decide($0.job)) }

        // A choice wanroute cannot submit to, or has no key for, is an error before anything is submitted.
        for (order, decision) in decisions {
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
        let progress: TextOutput? = (context.stderr as? EscapingOutput)?.isTerminal == true ? context.stderr : nil
        let executor = Executor(catalog: catalog, adapters: environment.adapters, apiKeys: environment.apiKeys,
                                time: environment.time, options: options) { event in
            switch event {
            case .finished(let report):
                stdout.write(JSONWriter.compact(json(report)) + "\n")
            case .submitted(let id, let provider, let task):
                progress?.write("\(id): submitted to \(provider) as task \(task)\n")
            case .retrying(let id, let provider, let after, let reason):
                progress?.write("\(id): \(provider) answered \(reason); retrying in \(after)\n")
            case .failingOver(let id, let from, let to, let reason):
                progress?.write("\(id): \(from) failed (\(reason)); failing over to \(to)\n")
            }
        }
        let reports = blockingRun { await executor.run(decisions.map { ($0.order, $0.decision) }, concurrency: concurrency) }
        if reports.contains(where: { [.failed, .needsAttention, .unfinished].contains($0.status) }) { return .failure }
        if reports.contains(where: { $0.status == .refused }) { return .refused }
        return .ok
    }

    /// Waits on this (non-async) thread for async work; the work runs on the concurrency pool.
    static func blockingRun<T: Sendable>(_ work: @escaping @Sendable () async -> T) -> T {
        let box = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            box.value = await work()
            done.signal()
        }
        done.wait()
        return box.value!
    }

    final class ResultBox<T>: @unchecked Sendable {
        var value: T?  // written once before the semaphore is signalled, read once after
    }

    /// One report as the stable JSON line documented in README ("Running jobs").
    static func json(_ r: JobReport) -> JSONValue {
        .object([
            JSONMember("id", .string(r.id)),
            JSONMember("status", .string(r.status.rawValue)),
            JSONMember("provider", .optional(r.provider?.rawValue)),
            JSONMember("mode", .optional(r.mode?.rawValue)),
            JSONMember("resolution", .optional(r.resolution?.rawValue)),
            JSONMember("task_id", .optional(r.taskID)),
            JSONMember("result_url", .optional(r.resultURL)),
            JSONMember("estimated_cost", r.estimatedCost?.json ?? .null),
            JSONMember("actual_cost", r.actualCost?.json ?? .null),
            JSONMember("actual_cost_source", .optional(r.actualCostSource?.rawValue)),
            JSONMember("billed", r.billed.map { b in
                .object([
                    JSONMember("seconds", .optional(b.seconds?.decimalString)),
                    JSONMember("ratio", .optional(b.ratio)),
                    JSONMember("credits", .optional(b.credits)),
                ])
            } ?? .null),
            JSONMember("attempts", .array(r.attempts.map { a in
                .object([
                    JSONMember("provider", .string(a.provider.rawValue)),
                    JSONMember("mode", .string(a.mode.rawValue)),
                    JSONMember("resolution", .string(a.resolution.rawValue)),
                    JSONMember("task_id", .optional(a.taskID)),
                    JSONMember("outcome", .string(a.outcome.rawValue)),
                    JSONMember("failure", .optional(a.failure?.rawValue)),
                    JSONMember("submissions", .number(String(a.submissions))),
                    JSONMember("actual_cost", a.actualCost?.json ?? .null),
                    JSONMember("actual_cost_source", .optional(a.actualCostSource?.rawValue)),
                    JSONMember("detail", .string(a.detail)),
                ])
            })),
            JSONMember("message", .string(r.message)),
        ])
    }
}

/// Reads a `--jobs` file: JSON Lines, one job object per line (``JobLine``), every problem
/// reported at once; a line without `duration` has its video probed.
enum JobsFile {
    /// The largest jobs file read (16 MiB, some 50,000 jobs); checked before anything is parsed.
    static let maximumBytes: Int64 = 16 << 20

    static func read(_ url: URL, name: String, context: Context, sandbox: Bool = false) throws(CLIError) -> [JobOrder] {
        let bytes: [UInt8]
        switch LocalFile.read(url.path, limit: maximumBytes, what: "a jobs file") {
        case .success(let b): bytes = b
        case .failure(.notFound): throw .usage("--jobs \(name) does not exist")
        case .failure(let why): throw .dataMessage("\(name) \(why)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .dataMessage("\(name) is not UTF-8 text; write one JSON object per line")
        }
        var lines: [JobLine] = []
        var diagnostics: [Diagnostic] = []
        var ids = Set<String>()
        // Lines split on the byte "\n": Swift reads "\r\n" as one Character, so splitting the
        // String would merge every line of a CRLF file into one.
        for (index, raw) in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let trimmed = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            let file = "\(name):\(index + 1)"
            let (line, found) = JobLine.parse(trimmed, file: file, defaultID: "line-\(index + 1)")
            diagnostics += found
            guard let line else { continue }
            if ids.insert(line.id).inserted {
                lines.append(line)
            } else {
                diagnostics.append(Diagnostic(file: file, path: "$.id", message: "the id \"\(line.id)\" is used by an earlier line; ids must be unique"))
            }
        }
        if diagnostics.contains(where: { $0.severity == .error }) { throw .data(diagnostics) }
        if lines.isEmpty { throw .dataMessage("\(name) holds no jobs; write one JSON object per line") }
        // The sandbox fetches nothing (README): every line must say how long its video is.
        if sandbox, let line = lines.first(where: { $0.duration == nil }) {
            throw .usage("--sandbox fetches no real files, but job \(line.id) in \(name) has no \"duration\"; give every line one")
        }
        var orders: [JobOrder] = []
        for line in lines {
            var duration = line.duration
            var video = MediaFacts(url: line.videoURL)
            if duration == nil {
                let probe = try JobOptions.probedVideo(line.videoURL, context)
                duration = probe.duration
                video = probe.facts(url: line.videoURL)
            }
            let job = Job(behavior: line.behavior, duration: duration!, resolution: line.resolution, mode: line.mode,
                          video: video, image: MediaFacts(url: line.imageURL), tags: line.tags)
            orders.append(JobOrder(id: line.id, job: job, imageURL: line.imageURL, videoURL: line.videoURL))
        }
        return orders
    }
}
