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

    /// The keys present in `environment` for `providers`.
    public static func keys(for providers: [ProviderID], in environment: [String: String]) -> [ProviderID: String] {
        var keys: [ProviderID: String] = [:]
        for p in providers {
            if let k = variables(for: p).lazy.compactMap({ environment[$0] }).first(where: { !$0.isEmpty }) { keys[p] = k }
        }
        return keys
    }
}
