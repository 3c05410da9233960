import Foundation
import WanRoute

/// `wanroute simulate`: serve the provider simulator on loopback until interrupted.
enum SimulateCommand: Command {
    static let spec = CommandSpec(
        name: "simulate",
        summary: "Serve the four providers' APIs on loopback (the simulator tests and --sandbox use).",
        synopsis: "wanroute simulate [--port N] [--key KEY] [--speed N] [--submit-delay S]",
        options: [
            OptionSpec("port", "N", help: "Listen on 127.0.0.1:N (default: a free port, printed on start)."),
            OptionSpec("key", "KEY", help: "The API key the simulated providers accept (default sim-key; DashScope China takes KEY-cn, a separate account)."),
            OptionSpec("speed", "N", help: "Run provider time N times faster (1 to 1000000; default 1): every wait below is N times shorter. For drills, with WANROUTE_TIME_SCALE=N for run."),
            OptionSpec("submit-delay", "S", help: "Answer every submission S seconds of provider time late, creating the task after the wait (a client that dies meanwhile leaves a task it never heard of)."),
        ],
        positionals: nil,
        details: """
        Speaks DashScope, Modellix, AI/ML API and APIXO's documented wire formats on one port: submit
        and poll, state progression (queued, then running, then succeeded after a few polls), auth
        checks, input validation with each provider's error shape, and a billing record. Point wanroute
        at it with the printed WANROUTE_<PROVIDER>_BASE_URL lines. The reference video's duration is
        read from the video URL's duration= query (default 5 s). Stop with Ctrl-C.

        GET /simulator/record answers the simulator's own record as JSON (every task with its
        video URL, and the billing record), so a test in another process can check wanroute's
        ledger against what the providers would bill.
        """
    )

    static func run(_ args: ParsedArguments, _ context: Context) async throws(CLIError) -> ExitCode {
        var port: UInt16 = 0
        if let text = args.value("port") {
            guard let p = UInt16(text) else { throw .usage("--port must be a number from 0 (any free port) to 65535, not '\(text)'") }
            port = p
        }
        let key = args.value("key") ?? "sim-key"
        if let problem = ProviderCredentials.problem(withKey: key) { throw .usage("--key \(problem)") }
        var configuration = ProviderSimulator.Configuration(apiKey: key)
        if let text = args.value("speed") {
            guard let n = Int64(text), (1...ProviderEnvironment.maximumTimeScale).contains(n) else {
                throw .usage("--speed must be a whole number from 1 to \(ProviderEnvironment.maximumTimeScale) (how many times faster provider time runs), not '\(text)'")
            }
            configuration.speed = n
        }
        if let text = args.value("submit-delay") {
            let delay = try JobOptions.parseDuration(text, flag: "submit-delay")
            configuration.script.append(FaultRule(.slowAnswer(seconds: Double(delay.micros) / 1_000_000), endpoint: .submit, times: .max))
        }
        let simulator = ProviderSimulator(configuration: configuration)
        let base: URL
        do { base = try simulator.start(port: port) } catch { throw .failure("\(error)") }
        var lines = ["# wanroute provider simulator on \(base.absoluteString); key: \(shellQuoted(key))"]
        for p in ProviderEndpoints.defaults.keys.sorted() {
            lines.append("export \(ProviderEndpoints.environmentVariable(for: p))=\(base.absoluteString)")
        }
        // Quoted for the shell, so a key with spaces or `;` is exported as given, never run.
        for p in ["DASHSCOPE_API_KEY", "MODELLIX_API_KEY", "AIMLAPI_API_KEY", "APIXO_API_KEY"] { lines.append("export \(p)=\(shellQuoted(key))") }
        lines.append("export DASHSCOPE_CN_API_KEY=\(shellQuoted(ProviderSimulator.Configuration.chinaKey(for: key)))")
        context.stdout.write(lines.joined(separator: "\n") + "\n")
        // Serve until SIGINT or SIGTERM; the handler threads do the work.
        signal(SIGINT, SIG_IGN)
        signal(SIGTERM, SIG_IGN)
        let queue = DispatchQueue(label: "wanroute.simulate.signals")
        var sources: [DispatchSourceSignal] = []
        await withCheckedContinuation { (stopped: CheckedContinuation<Void, Never>) in
            // Both handlers run on one serial queue, so the continuation is resumed once.
            nonisolated(unsafe) var pending: CheckedContinuation<Void, Never>? = stopped
            sources = [SIGINT, SIGTERM].map { sig -> DispatchSourceSignal in
                let s = DispatchSource.makeSignalSource(signal: sig, queue: queue)
                s.setEventHandler {
                    pending?.resume()
                    pending = nil
                }
                s.resume()
                return s
            }
        }
        for source in sources { source.cancel() }
        simulator.stop()
        context.stderr.write("simulator stopped; \(simulator.tasks.count) tasks served\n")
        return .ok
    }

    /// `'text'` with any `'` written as `'\''`: safe to paste into a POSIX shell.
    static func shellQuoted(_ text: String) -> String {
        "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }
}
