/// Every error an adapter can raise, classed so retry and failover logic never sees a vendor field.
///
/// Messages come from the provider's response with the API key removed (see ``redacting(_:)``).
public enum ProviderError: Error, Sendable, Equatable {
    /// A transient fault (HTTP 5xx, 502/503/504, a connection refused before sending): try again later.
    case retryLater(String)
    /// Throttled (HTTP 429, DashScope `Throttling.*`); wait `retryAfter` when the provider says.
    case rateLimited(retryAfter: Seconds?, String)
    /// The key is missing, wrong or not allowed this model (HTTP 401, 403 for permissions).
    case auth(String)
    /// The account has no balance or quota (HTTP 402, DashScope `Arrearage`).
    case outOfBalance(String)
    /// The request itself is wrong (HTTP 400, 404 for an unknown task): fix it, do not retry.
    case badRequest(String)
    /// The provider refused the content before creating a task (HTTP 403 for content).
    case contentRefused(String)
    /// The request went out and no answer came back (time-out, connection lost, an unreadable
    /// success): a task may exist and may bill. Never re-submit on this.
    case outcomeUnknown(String)

    /// The same error with `secret` and every 8-byte piece of it replaced (``SecretRedactor``),
    /// so keys never reach output, not even in part.
    public func redacting(_ secret: String) -> ProviderError {
        let redactor = SecretRedactor(secret: secret)
        func r(_ s: String) -> String { redactor.redact(s) }
        switch self {
        case .retryLater(let m): return .retryLater(r(m))
        case .rateLimited(let d, let m): return .rateLimited(retryAfter: d, r(m))
        case .auth(let m): return .auth(r(m))
        case .outOfBalance(let m): return .outOfBalance(r(m))
        case .badRequest(let m): return .badRequest(r(m))
        case .contentRefused(let m): return .contentRefused(r(m))
        case .outcomeUnknown(let m): return .outcomeUnknown(r(m))
        }
    }

    /// The class retry and failover logic and policies see (a policy's `failover.on` names these).
    public var failureClass: FailureClass {
        switch self {
        case .retryLater: return .providerError
        case .rateLimited: return .rateLimited
        case .auth: return .auth
        case .outOfBalance: return .outOfBalance
        case .badRequest: return .badInput
        case .contentRefused: return .contentRefused
        case .outcomeUnknown: return .timeout
        }
    }

    /// The provider's message (key already removed), with the wait a rate limit asked for.
    public var message: String {
        switch self {
        case .retryLater(let m), .auth(let m), .outOfBalance(let m), .badRequest(let m), .contentRefused(let m), .outcomeUnknown(let m): return m
        case .rateLimited(let after, let m): return m + (after.map { " (retry after \($0))" } ?? "")
        }
    }

    /// How long a rate limit asked the caller to wait, when it said.
    public var retryAfter: Seconds? {
        if case .rateLimited(let after, _) = self { return after }
        return nil
    }
}

