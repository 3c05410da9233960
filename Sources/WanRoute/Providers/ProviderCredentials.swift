/// Which environment variables hold API keys (the library reads none itself; the caller passes
/// its environment in): `DASHSCOPE_API_KEY` (both DashScope regions, unless
/// `DASHSCOPE_INTL_API_KEY` or `DASHSCOPE_CN_API_KEY` names a region's own key: the regions are
/// separate Alibaba Cloud accounts), `MODELLIX_API_KEY`, `AIMLAPI_API_KEY`, `APIXO_API_KEY`.
public enum ProviderCredentials {
    /// The environment variables that may hold a provider's key, most specific first.
    public static func variables(for provider: ProviderID) -> [String] {
        provider.rawValue.hasPrefix("dashscope")
            ? ["\(provider.environmentName)_API_KEY", "DASHSCOPE_API_KEY"]
            : ["\(provider.environmentName)_API_KEY"]
    }

    /// The variable to name in messages: the shared one for DashScope, which most users set.
    public static func variable(for provider: ProviderID) -> String { variables(for: provider).last! }

    /// A key that cannot be sent as it is (control characters such as the `\r` an `.env` file
    /// leaves, which would silently drop the Authorization header). Names the variable only:
    /// never the value, not even in part.
    public struct InvalidKey: Error, Sendable, Equatable, CustomStringConvertible {
        /// The environment variable that holds the key.
        public var variable: String
        /// What is wrong with it, without quoting it.
        public var reason: String
        /// `VARIABLE reason; fix the value`.
        public var description: String { "\(variable) \(reason); set it to the key alone" }
    }

    /// Why `key` cannot be used, as a phrase that never quotes it; nil when it can.
    public static func problem(withKey key: String) -> String? {
        if key.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || (0x80...0x9F).contains($0.value) }) {
            return "holds a control character (a line break or carriage return from a .env file?)"
        }
        if key.utf8.count > 4_096 { return "is longer than 4096 bytes" }
        return nil
    }

    /// The keys present in `environment` for `providers`; a key with control characters is an
    /// error naming its variable.
    public static func keys(for providers: [ProviderID], in environment: [String: String]) throws(InvalidKey) -> [ProviderID: String] {
        var keys: [ProviderID: String] = [:]
        for p in providers {
            guard let variable = variables(for: p).first(where: { !(environment[$0] ?? "").isEmpty }), let k = environment[variable] else { continue }
            if let problem = problem(withKey: k) { throw InvalidKey(variable: variable, reason: problem) }
            keys[p] = k
        }
        return keys
    }
}
