// The domain words print as the names they have in files, JSON and on the command line
// (`wan-std`, `720p`), so `"\(offer.mode)"` in an embedder's log reads like wanroute's own output.

extension Behavior: CustomStringConvertible {
    /// The wire name: `animate` or `replace`.
    public var description: String { rawValue }
}

extension Mode: CustomStringConvertible {
    /// The wire name: `wan-std`, `wan-pro` or `standard`.
    public var description: String { rawValue }
}

extension Resolution: CustomStringConvertible {
    /// The wire name: `480p`, `580p` or `720p`.
    public var description: String { rawValue }
}

extension Confidence: CustomStringConvertible {
    /// The wire name: `published`, `third-party`, `unknown` (or `contract`).
    public var description: String { rawValue }
}
