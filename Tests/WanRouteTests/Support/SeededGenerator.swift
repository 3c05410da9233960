@testable import WanRoute

/// The library's seeded SplitMix64, so randomized tests fail reproducibly.
typealias SeededGenerator = SplitMix64
