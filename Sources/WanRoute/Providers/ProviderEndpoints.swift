import Foundation

/// Where each provider with an adapter is reached, and the environment overrides
/// `WANROUTE_<PROVIDER>_BASE_URL` (for example `WANROUTE_DASHSCOPE_INTL_BASE_URL`) that point one
/// at a simulator, a proxy or a regional gateway.
///
/// A base URL is a scheme (http or https), a host, an optional port and an optional path prefix
/// placed in front of the provider's documented paths; it may not hold credentials, a query or a
/// fragment.
public enum ProviderEndpoints {
    /// DashScope, Singapore region.
    public static let dashscopeIntl = ProviderID("dashscope-intl")!
    /// DashScope, Beijing region.
    public static let dashscopeCN = ProviderID("dashscope-cn")!
    /// Modellix.
    public static let modellix = ProviderID("modellix")!
    /// AI/ML API.
    public static let aimlapi = ProviderID("aimlapi")!
    /// APIXO.
    public static let apixo = ProviderID("apixo")!

    /// The providers that have an adapter, with their published base URLs.
    public static let defaults: [ProviderID: URL] = [
        dashscopeIntl: URL(string: "https://dashscope-intl.aliyuncs.com")!,
        dashscopeCN: URL(string: "https://dashscope.aliyuncs.com")!,
        modellix: URL(string: "https://api.modellix.ai")!,
        aimlapi: URL(string: "https://api.aimlapi.com")!,
        apixo: URL(string: "https://api.apixo.ai")!,
    ]

    /// Why a base URL override was refused. Names the variable; never echoes credentials.
    public struct InvalidBaseURL: Error, Sendable, Equatable, CustomStringConvertible {
        /// The environment variable (or other source) that held the value.
        public var variable: String
        /// What is wrong, as a plain sentence.
        public var reason: String
        /// `VARIABLE: reason`.
        public var description: String { "\(variable): \(reason)" }
    }

    /// `WANROUTE_<PROVIDER>_BASE_URL` for a provider.
    public static func environmentVariable(for provider: ProviderID) -> String {
        "WANROUTE_\(provider.environmentName)_BASE_URL"
    }

    /// The base URL to use: the override in `environment` (the caller's; the library reads none
    /// itself) when set, validated, else the default. Nil for a provider without an adapter
    /// (quote-only: fal, wavespeed, runware).
    public static func baseURL(for provider: ProviderID, environment: [String: String]) throws(InvalidBaseURL) -> URL? {
        guard let standard = defaults[provider] else { return nil }
        let variable = environmentVariable(for: provider)
        guard let text = environment[variable], !text.isEmpty else { return standard }
        return try validate(text, variable: variable)
    }

    /// Checks one base URL: http or https, a host, no credentials, query or fragment. A trailing
    /// slash is dropped so paths join cleanly.
    public static func validate(_ text: String, variable: String) throws(InvalidBaseURL) -> URL {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        // Messages quote the value only without credentials, query or fragment.
        let shown = URLText.forMessage(trimmed)
        guard let components = URLComponents(string: trimmed), let scheme = components.scheme?.lowercased() else {
            throw InvalidBaseURL(variable: variable, reason: "\"\(shown)\" is not a URL; write one such as https://api.example.com or http://127.0.0.1:8080")
        }
        // Credentials must never be echoed, so this check comes before any message quoting the value.
        guard components.user == nil, components.password == nil else {
            throw InvalidBaseURL(variable: variable, reason: "the URL holds credentials (user:password@); pass keys as API keys, not in the base URL")
        }
        guard scheme == "http" || scheme == "https" else {
            throw InvalidBaseURL(variable: variable, reason: "\"\(shown)\" uses \(scheme):; only http and https are accepted")
        }
        guard let host = components.host, !host.isEmpty else {
            throw InvalidBaseURL(variable: variable, reason: "\"\(shown)\" has no host")
        }
        guard components.query == nil, components.fragment == nil else {
            throw InvalidBaseURL(variable: variable, reason: "\"\(shown)\" has a query or fragment; give only scheme, host, port and path prefix")
        }
        var clean = trimmed
        while clean.hasSuffix("/") { clean.removeLast() }
        guard let url = URL(string: clean) else {
            throw InvalidBaseURL(variable: variable, reason: "\"\(shown)\" is not a URL")
        }
        return url
    }
}

/// The adapter for a provider, or nil for a provider that can only be quoted (fal, wavespeed,
/// runware) or is unknown. `requestTimeout` bounds each HTTP exchange in seconds; `now` is the
/// calendar clock an adapter reads (the library reads none of its own), normally the run's
/// ``TimeSource/date()``.
public func makeAdapter(for provider: ProviderID, baseURL: URL, transport: any HTTPTransport,
                        requestTimeout: Double = 30, now: @escaping @Sendable () -> Date) -> (any ProviderAdapter)? {
    switch provider {
    case ProviderEndpoints.dashscopeIntl, ProviderEndpoints.dashscopeCN:
        return DashScopeAdapter(provider: provider, baseURL: baseURL, transport: transport, requestTimeout: requestTimeout)
    case ProviderEndpoints.modellix:
        return ModellixAdapter(baseURL: baseURL, transport: transport, requestTimeout: requestTimeout, now: now)
    case ProviderEndpoints.aimlapi:
        return AIMLAPIAdapter(baseURL: baseURL, transport: transport, requestTimeout: requestTimeout)
    case ProviderEndpoints.apixo:
        return APIXOAdapter(baseURL: baseURL, transport: transport, requestTimeout: requestTimeout)
    default:
        return nil
    }
}
