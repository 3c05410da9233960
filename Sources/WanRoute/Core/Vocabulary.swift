// The words of the domain: what a job asks for and what an offer sells, and who sells it.

/// What the job makes of the character image and the reference video.
public enum Behavior: String, Sendable, CaseIterable, Hashable, Comparable {
    /// The image's character performs the reference video's motion (DashScope `wan2.2-animate-move`).
    case animate
    /// The image's character replaces the person in the reference video (DashScope `wan2.2-animate-mix`).
    case replace

    /// Orders behaviours by name.
    public static func < (a: Behavior, b: Behavior) -> Bool { a.rawValue < b.rawValue }
}

/// A provider's service mode.
public enum Mode: String, Sendable, CaseIterable, Hashable, Comparable {
    /// DashScope and Modellix standard mode: faster, cheaper, 15 fps.
    case wanStd = "wan-std"
    /// DashScope and Modellix professional mode: smoother (25 fps), slower, dearer.
    case wanPro = "wan-pro"
    /// The single mode of providers that have no std/pro split.
    case standard

    /// Orders modes by name.
    public static func < (a: Mode, b: Mode) -> Bool { a.rawValue < b.rawValue }
}

/// An output resolution tier, named by its short side.
public enum Resolution: String, Sendable, CaseIterable, Hashable, Comparable {
    /// Short side 480 pixels.
    case p480 = "480p"
    /// Short side 580 pixels.
    case p580 = "580p"
    /// Short side 720 pixels.
    case p720 = "720p"

    /// The short side in pixels.
    public var shortSide: Int {
        switch self {
        case .p480: return 480
        case .p580: return 580
        case .p720: return 720
        }
    }

    /// Orders resolutions from the smallest short side up.
    public static func < (a: Resolution, b: Resolution) -> Bool { a.shortSide < b.shortSide }
}

/// How sure we are of a price.
public enum Confidence: String, Sendable, CaseIterable, Hashable, Comparable {
    /// The user's own negotiated price, from a contract overlay: the surest of all.
    case contract
    /// The provider's own page or API documentation states it.
    case published
    /// Only a gateway, blog or someone else's code states it.
    case thirdParty = "third-party"
    /// Nobody publishes it; the offer carries no price.
    case unknown

    /// Rank for comparisons: a contract price is the most certain, then a published one.
    var rank: Int {
        switch self {
        case .contract: return 0
        case .published: return 1
        case .thirdParty: return 2
        case .unknown: return 3
        }
    }

    /// Contract sorts before published before third-party before unknown.
    public static func < (a: Confidence, b: Confidence) -> Bool { a.rank < b.rank }
}

/// A provider's identifier as used on the command line, in JSON and in environment variables
/// (`dashscope-intl`, `apixo`, ...): lower-case letters, digits and dashes.
public struct ProviderID: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The identifier text, such as `dashscope-intl`.
    public let rawValue: String

    /// An identifier, or nil when `rawValue` is not lower-case letters, digits and single dashes.
    public init?(_ rawValue: String) {
        let ok = !rawValue.isEmpty && rawValue.utf8.count <= 40
            && rawValue.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
            && rawValue.utf8.first != 0x2D && rawValue.utf8.last != 0x2D
            && !zip(rawValue.utf8, rawValue.utf8.dropFirst()).contains { $0 == 0x2D && $1 == 0x2D }  // (bytes, not Foundation: ledger reads parse millions)
        guard ok else { return nil }
        self.rawValue = rawValue
    }

    /// The form used in environment variable names: `DASHSCOPE_INTL`.
    public var environmentName: String { rawValue.uppercased().replacingOccurrences(of: "-", with: "_") }
    /// The identifier text.
    public var description: String { rawValue }
    /// Orders identifiers by their text.
    public static func < (a: ProviderID, b: ProviderID) -> Bool { a.rawValue < b.rawValue }
}
