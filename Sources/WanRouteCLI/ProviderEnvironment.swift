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
    /// The sandbox runs provider time this many times faster (a 15 s poll interval takes 0.15 s).
    static let sandboxSpeed: Int64 = 100

    static func make(sandbox: Bool, context: Context) throws(CLIError) -> ProviderEnvironment {
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
            var adapters: [ProviderID: any ProviderAdapter] = [:]
            for p in providers { adapters[p] = makeAdapter(for: p, baseURL: base, transport: transport) }
            return ProviderEnvironment(adapters: adapters, apiKeys: keys,
                                       time: SystemTimeSource(speed: sandboxSpeed), stop: { simulator.stop() })
        }
        var adapters: [ProviderID: any ProviderAdapter] = [:]
        for p in providers {
            do {
                if let base = try ProviderEndpoints.baseURL(for: p, environment: context.environment) {
                    adapters[p] = makeAdapter(for: p, baseURL: base, transport: transport)
                }
            } catch {
                throw .failure("\(error)")
            }
        }
        let keys: [ProviderID: String]
        do { keys = try ProviderCredentials.keys(for: providers, in: context.environment) } catch { throw .failure("\(error)") }
        return ProviderEnvironment(adapters: adapters, apiKeys: keys, time: SystemTimeSource(), stop: {})
    }
}
