import Foundation
import WanRouteTestSupport
import XCTest
@testable import WanRoute

final class ProbeFuzzTests: XCTestCase {
    /// Mutates every fixture thousands of ways; each input must give a probe or a ProbeError
    /// (a crash or a hang fails the run).
    func testMutatedFixturesNeverCrashOrHang() {
        var rng = SeededGenerator(seed: 0x5EED_2025)
        let names = MediaFixtures.videos + MediaFixtures.images
        let iterations = Int(ProcessInfo.processInfo.environment["WANROUTE_FUZZ_ITERATIONS"] ?? "") ?? 10_000
        var outcomes = (values: 0, errors: 0)
        for i in 0..<iterations {
            let name = names[i % names.count]
            var bytes = MediaFixtures.bytes(name)
            for _ in 0..<Int.random(in: 1...4, using: &rng) { mutate(&bytes, &rng) }
            let source = MemoryByteSource(bytes, maxBytes: 1 << 20)
            do {
                if i % 2 == 0 {
                    _ = try MediaProbe.probeVideo(source: source, options: ProbeOptions(maxBytes: 1 << 20))
                } else {
                    let head = try source.read(offset: 0, length: 16)
                    _ = ImageParser.format(of: head) != nil ? try ImageParser.probe(source, head: head) as Any
                        : try MediaProbe.probeVideo(source: source, options: ProbeOptions(maxBytes: 1 << 20))
                }
                outcomes.values += 1
            } catch {
                XCTAssertFalse(error.description.isEmpty)
                outcomes.errors += 1
            }
            XCTAssertLessThanOrEqual(source.bytesRead, 1 << 20, "iteration \(i) on \(name)")
        }
        XCTAssertEqual(outcomes.values + outcomes.errors, iterations)
        XCTAssertGreaterThan(outcomes.errors, 0)
        XCTAssertGreaterThan(outcomes.values, 0)
    }

    func mutate(_ bytes: inout [UInt8], _ rng: inout SeededGenerator) {
        guard !bytes.isEmpty else { bytes = [UInt8.random(in: 0...255, using: &rng)]; return }
        let at = Int.random(in: 0..<bytes.count, using: &rng)
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: bytes[at] ^= UInt8(1 << Int.random(in: 0..<8, using: &rng))
        case 1: bytes[at] = UInt8.random(in: 0...255, using: &rng)
        case 2: bytes.insert(contentsOf: (0..<Int.random(in: 1...16, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }, at: at)
        case 3: bytes.removeSubrange(at...)
        case 4: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...64, using: &rng)))
        default:
            // Overwrite a 32-bit field (often a box size or count) with an extreme value.
            let extremes: [UInt32] = [0, 1, 4, 7, 8, 0x7FFF_FFFF, 0xFFFF_FFFF, UInt32(bytes.count), 0x0100_0000]
            let value = extremes[Int.random(in: 0..<extremes.count, using: &rng)]
            for k in 0..<4 where at + k < bytes.count { bytes[at + k] = UInt8(truncatingIfNeeded: value >> (24 - 8 * k)) }
        }
    }
}
