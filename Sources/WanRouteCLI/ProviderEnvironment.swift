import Foundation
import WanRoute

/// The adapters, keys and time a run uses: the real providers (keys and base URLs from the
/// environment), or the built-in simulator on loopback for `--sandbox`.
struct ProviderEnvironment {
    let adapters: [ProviderID: any ProviderAdapter]
    let apiKeys: [ProviderID: String]
    let time: any TimeSource
    /// Seeds the executor's jitter: random per process, so processes started together spread out.
    let seed = UInt64.random(in: .min ... .max)
    /// Stops whatever the environment started (the sandbox's simulator).
    let stop: @Sendable () -> Void

    /// The keys the sandbox's simulator accepts (not secrets): one per provider, since the two
    /// DashScope regions are separate accounts and the simulator bills by the key's region.
    static func sandboxKeys(_ providers: [ProviderID]) -> [ProviderID: String] {
        // Numbered, never named after the provider: any 8 bytes of a key are redacted from what a
        // provider answers, and "dashscope-cn" in a key would blank the provider out of result URLs.
        Dictionary(uniqueKeysWithValues: providers.enumerated().map { ($0.element, "sandbox-key-\($0.offset + 1)") })
    }
    /// The sandbox runs provider time this many times faster (a 15 s poll interval takes 0.15 s),
    /// unless `WANROUTE_TIME_SCALE` says otherwise.
    static let sandboxSpeed: Int64 = 100

    /// `WANROUTE_TIME_SCALE`: a testing aid (crash drills against a separately started simulator)
    /// that makes every wait of `run` and `resume` (poll schedule, back-off, deadlines) N times
    /// shorter. The CLI reads it; the library gets the number as ``SystemTimeSource/speed``.
    static let timeScaleVariable = "WANROUTE_TIME_SCALE"
    /// The largest time scale accepted: a million times faster is already a 15 s poll in 15 µs.
    static let maximumTimeScale: Int64 = 1_000_000

    /// The time scale the environment asks for, or nil when unset; a bad value is a usage error.
    static func timeScale(_ environment: [String: String]) throws(CLIError) -> Int64? {
        guard let text = environment[timeScaleVariable] else { return nil }
        guard let n = Int64(text), (1...maximumTimeScale).contains(n) else {
            throw .usage("\(timeScaleVariable) must be a whole number from 1 to \(maximumTimeScale) (how many times faster waits run; a testing aid), not '\(text)'; unset it for real time")
        }
        return n
    }

    static func make(sandbox: Bool, context: Context) throws(CLIError) -> ProviderEnvironment {
        let scale = try timeScale(context.environment)
        let transport = URLSessionTransport()
        let providers = ProviderEndpoints.defaults.keys.sorted()
        if sandbox {
            // Tasks finish after a few polls; the simulator reads the reference duration from the
            // video URL's `duration=` query (default 5 s), so billed seconds may differ from --duration.
            let keys = sandboxKeys(providers)
            var configuration = ProviderSimulator.Configuration(queuedPolls: 1, runningPolls: 2)
            configuration.apiKeys = keys.mapValues { [$0] }
            let simulator = ProviderSimulator(configuration: configuration)
            let base: URL
            do { base = try simulator.start() } catch { throw .failure("the sandbox's simulator could not start: \(error)") }
            let time = SystemTimeSource(speed: scale ?? sandboxSpeed)
            var adapters: [ProviderID: any ProviderAdapter] = [:]
            for p in providers { adapters[p] = makeAdapter(for: p, baseURL: base, transport: transport, now: { time.date() }) }
            return ProviderEnvironment(adapters: adapters, apiKeys: keys, time: time, stop: { simulator.stop() })
        }
        let time = SystemTimeSource(speed: scale ?? 1)
        var adapters: [ProviderID: any ProviderAdapter] = [:]
        for p in providers {
            do {
                if let base = try ProviderEndpoints.baseURL(for: p, environment: context.environment) {
                    adapters[p] = makeAdapter(for: p, baseURL: base, transport: transport, now: { time.date() })
                }
            } catch {
                throw .failure("\(error)")
            }
        }
        let keys: [ProviderID: String]
        do { keys = try ProviderCredentials.keys(for: providers, in: context.environment) } catch { throw .failure("\(error)") }
        return ProviderEnvironment(adapters: adapters, apiKeys: keys, time: time, stop: {})
    }
}
