import Foundation
import WanRouteTestSupport
import XCTest

@testable import WanRoute

/// The report cache (`summaries/report-*.bin`) gives back exactly the report the ledger gives; it
/// is used only for the same query over the same ledger, and anything wrong with it is refused
/// without a trap and the report added up from the ledger again.
final class ReportCacheTests: XCTestCase {
    let catalog = ReportFixture.catalog
    let period = ReportFixture.period
    let budgets = ReportFixture.policy.budgets

    func directory() async throws -> String {
        let dir = try Repository.temporaryDirectory().path
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        try await ReportLedgerFixture.write(to: dir)
        return dir
    }

    func builder(_ period: ReportPeriod? = nil, _ dimensions: [ReportDimension] = [.provider, .tag("customer")]) -> MonthlyReportBuilder {
        MonthlyReportBuilder(period: period ?? self.period, dimensions: dimensions, rates: catalog.exchangeRates, budgets: budgets)
    }

    /// The report through the store (from a cache when one matches), as of `asOf`.
    func report(_ dir: String, _ period: ReportPeriod? = nil, _ dimensions: [ReportDimension] = [.provider, .tag("customer")],
                asOf: Date = ReportFixture.asOf) async throws -> MonthlyReport {
        var b = builder(period, dimensions)
        try await FileLedgerStore(directory: dir).addReportJobs(in: b.period, catalog: catalog, to: &b)
        return try b.finish(spend: ReportFixture.spend, asOf: asOf)
    }

    /// The report from the ledger's lines, no summary or cache involved.
    func folded(_ dir: String, _ period: ReportPeriod? = nil, _ dimensions: [ReportDimension] = [.provider, .tag("customer")],
                asOf: Date = ReportFixture.asOf) async throws -> MonthlyReport {
        var b = builder(period, dimensions)
        try await FileLedgerStore(directory: dir).foldReportJobsFromRecords(in: b.period, catalog: catalog) { b.add($0) }
        return try b.finish(spend: ReportFixture.spend, asOf: asOf)
    }

    func cacheFiles(_ dir: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: dir + "/summaries")) ?? []).filter { $0.hasPrefix("report-") }.sorted()
    }

    /// Where the query's cache is, its key, and the identity of the ledger as it is now.
    func target(_ dir: String, _ period: ReportPeriod? = nil, _ dimensions: [ReportDimension] = [.provider, .tag("customer")]) throws
        -> (path: String, key: [UInt8], identity: [UInt8]) {
        let store = try FileLedgerStore(directory: dir), p = period ?? self.period
        let key = try XCTUnwrap(ReportCacheFile.key(builder(p, dimensions), catalog: catalog))
        return (store.reportCachePath(p, key: key), key, try XCTUnwrap(try store.reportLedgerIdentity(p)))
    }

    /// A cache for the query whose retries are all 777 000: well formed, so a report that shows
    /// them read it.
    func forged(_ dir: String, _ period: ReportPeriod? = nil, _ dimensions: [ReportDimension] = [.provider, .tag("customer")]) async throws -> [UInt8] {
        let t = try target(dir, period, dimensions)
        var b = builder(period, dimensions)
        try await FileLedgerStore(directory: dir).foldReportJobsFromRecords(in: b.period, catalog: catalog) { b.add($0) }
        b.total.t.retries = 777_000
        b.compactTimes()
        return ReportCacheFile.encode(b, key: t.key, identity: t.identity)
    }

    func testTheSecondReportComesFromTheCacheAndEqualsTheLedgersInEveryDimension() async throws {
        let dir = try await directory()
        let all: [[ReportDimension]] = [[], [.provider, .tag("customer")], [.status, .mode, .resolution, .behavior, .policy, .tag("project")]]
        for dims in all {
            let want = try await folded(dir, period, dims)
            let first = try await report(dir, period, dims)
            XCTAssertEqual(first, want, "\(dims): added up")
            let second = try await report(dir, period, dims)
            XCTAssertEqual(second, want, "\(dims): from the cache")
        }
        XCTAssertEqual(cacheFiles(dir).count, all.count, "one cache per query")
        // Budget projections come from the instant of rendering, not from the cache.
        let later = ReportFixture.asOf.addingTimeInterval(5 * 86_400)
        let projected = try await report(dir, asOf: later)
        let projectedFold = try await folded(dir, asOf: later)
        XCTAssertEqual(projected, projectedFold)
    }

    func testAValidCacheIsUsedAndALedgerChangeRefusesIt() async throws {
        let dir = try await directory()
        _ = try await report(dir)
        let t = try target(dir)
        XCTAssertEqual(cacheFiles(dir), [(t.path as NSString).lastPathComponent])
        try Data(try await forged(dir)).write(to: URL(fileURLWithPath: t.path))
        let read = try await report(dir)
        XCTAssertEqual(read.total.retries, 777_000, "the cache was read")

        // One more line in the ledger: the cache no longer matches and is written anew.
        let store = try FileLedgerStore(directory: dir)
        _ = try await store.append([LedgerEvent(time: LedgerTime(period.start.addingTimeInterval(3_600)), jobID: "late", body: .note(text: "x"))])
        let want = try await folded(dir)
        let afterChange = try await report(dir)
        XCTAssertEqual(afterChange, want)
        XCTAssertNotEqual(want.total.retries, 777_000)
        let again = try await report(dir)
        XCTAssertEqual(again, want, "the rewritten cache")
        let rewritten = try target(dir)
        XCTAssertEqual(rewritten.path, t.path, "same query, same file")
        XCTAssertNotEqual(rewritten.identity, t.identity)
        XCTAssertNotNil(ReportCacheFile.decode(try XCTUnwrap(ReportCacheFile.read(t.path)), key: rewritten.key, identity: rewritten.identity, into: builder()))
    }

    func testAnotherZoneGroupingBudgetOrPricingIsAnotherQuery() async throws {
        let dir = try await directory()
        let utc = try ReportPeriod(month: "2026-12")
        try FileManager.default.createDirectory(atPath: dir + "/summaries", withIntermediateDirectories: true)
        let base = try target(dir)
        let others: [(String, (path: String, key: [UInt8], identity: [UInt8]))] = [
            ("zone", try target(dir, utc)), ("group-by", try target(dir, period, [.provider])),
            ("group-by order", try target(dir, period, [.tag("customer"), .provider])),
        ]
        for (name, other) in others {
            XCTAssertNotEqual(other.key, base.key, name)
            XCTAssertNotEqual(other.path, base.path, name)
        }
        let noBudgets = MonthlyReportBuilder(period: period, dimensions: [.provider, .tag("customer")], rates: catalog.exchangeRates)
        XCTAssertNotEqual(ReportCacheFile.key(noBudgets, catalog: catalog), base.key, "budgets")
        let otherTables = PriceCatalog(providers: catalog.providers, offers: catalog.offers, exchangeRates: catalog.exchangeRates, warnings: [],
                                       sourceDigest: "another digest")
        XCTAssertNotEqual(ReportCacheFile.key(builder(), catalog: otherTables), base.key, "pricing")
        let unnamed = PriceCatalog(providers: catalog.providers, offers: catalog.offers, exchangeRates: catalog.exchangeRates, warnings: [])
        XCTAssertNil(ReportCacheFile.key(builder(), catalog: unnamed), "tables without a digest: no cache")

        // Another query's cache put where this query's belongs is refused: the key inside differs.
        for (name, dims, p) in [("zone", [ReportDimension.provider, .tag("customer")], utc), ("group-by", [.provider], period)] {
            let other = try target(dir, p, dims)
            try Data(try await forged(dir, p, dims)).write(to: URL(fileURLWithPath: other.path))
            let own = try await report(dir, p, dims)
            XCTAssertEqual(own.total.retries, 777_000, "\(name): read in its own place")
            try FileManager.default.copyItem(atPath: other.path, toPath: base.path + ".x")
            try? FileManager.default.removeItem(atPath: base.path)
            try FileManager.default.moveItem(atPath: base.path + ".x", toPath: base.path)
            let got = try await report(dir), want = try await folded(dir)
            XCTAssertEqual(got, want, "\(name): refused in another query's place")
        }
    }

    func testADamagedTruncatedOrHostileCacheIsRefusedAndRebuilt() async throws {
        let dir = try await directory()
        let want = try await folded(dir)
        _ = try await report(dir)
        let t = try target(dir)
        let good = try XCTUnwrap(ReportCacheFile.read(t.path))
        let cached = try await report(dir)
        XCTAssertEqual(cached, want)

        /// Bytes with a correct trailing checksum: only the checks of what they say stand in the way.
        func sealed(_ body: [UInt8]) -> [UInt8] {
            var w = ByteWriter()
            w.bytes = body
            w.u64(body.withUnsafeBytes { SummaryChecksum.of($0) })
            return w.bytes
        }
        let body = Array(good.dropLast(8))
        var header = ByteWriter()
        header.u64(ReportCacheFile.magic)
        header.u64(ReportCacheFile.version)
        header.u32(UInt32(t.key.count))
        header.bytes += t.key
        header.u32(UInt32(t.identity.count))
        header.bytes += t.identity
        let prefix = header.bytes
        XCTAssertEqual(Array(body.prefix(prefix.count)), prefix)
        var rng = SeededGenerator(seed: 9)
        var cases: [(String, [UInt8])] = [
            ("empty", []), ("a flipped byte", { var b = good; b[b.count / 2] ^= 0x10; return b }()), ("cut short", Array(good.dropLast(3))),
            ("cut to its header", Array(good.prefix(40))), ("random bytes", (0..<2_048).map { _ in UInt8.random(in: 0...255, using: &rng) }),
            ("another version", sealed({ var b = body; b[8] ^= 2; return b }())),
            ("a wrong dimension count", sealed(prefix + [0, 0, 0, 0, 0])),
            ("a group count of 2^32-1", sealed(prefix + [0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] + [0xFF, 0xFF, 0xFF, 0xFF])),
            ("a value count of 2^32-1", sealed(prefix + [0, 2, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF])),
            ("cut payload, sealed", sealed(Array(body.dropLast(5)))),
            ("extra bytes, sealed", sealed(body + [0])),
        ]
        // Every single payload byte set to extremes, resealed: refused or, when it still reads, a
        // report that finishes (no trap), never one built on a count that does not add up.
        for i in stride(from: prefix.count, to: body.count, by: max(1, (body.count - prefix.count) / 120)) {
            for v: UInt8 in [0x00, 0xFF, 0x80] {
                var b = body
                b[i] = v
                cases.append(("byte \(i) = \(v), sealed", sealed(b)))
            }
        }
        var refused = 0
        for (name, bytes) in cases {
            try Data(bytes).write(to: URL(fileURLWithPath: t.path))
            if let b = ReportCacheFile.decode(bytes, key: t.key, identity: t.identity, into: builder()) {
                _ = try? b.finish(spend: ReportFixture.spend, asOf: ReportFixture.asOf)
                continue
            }
            refused += 1
            let got = try await report(dir)
            XCTAssertEqual(got, want, name)
            XCTAssertNotNil(ReportCacheFile.read(t.path).flatMap { ReportCacheFile.decode($0, key: t.key, identity: t.identity, into: builder()) },
                            "\(name): written anew")
        }
        XCTAssertGreaterThan(refused, 9)

        // Larger than a cache can be: not even read.
        let fd = try XCTUnwrap(try FileDescriptor.openIfExists(t.path, flags: O_RDWR))
        try fd.truncate(to: Int64(ReportCacheFile.maximumBytes) + 1)
        XCTAssertNil(ReportCacheFile.read(t.path))
        let large = try await report(dir)
        XCTAssertEqual(large, want, "too large")
    }

    func testRandomLedgersGiveTheSameReportFromTheCache() async throws {
        var rng = SeededGenerator(seed: 31)
        let providers = ["apixo", "dashscope-intl", "dashscope-cn", "aimlapi", "modellix"].map { ProviderID($0)! }
        let berlin = try ReportPeriod(month: "2026-12", timeZone: "Europe/Berlin")
        for round in 0..<4 {
            let dir = try Repository.temporaryDirectory().path
            defer { try? FileManager.default.removeItem(atPath: dir) }
            var events: [LedgerEvent] = []
            for n in 0..<Int.random(in: 20...150, using: &rng) {
                let status = ReportJob.Status.allCases.randomElement(using: &rng)!
                let currency: Currency = Bool.random(using: &rng) ? .usd : .cny
                func money() -> Money? {
                    Int.random(in: 0..<5, using: &rng) == 0 ? nil : Money(nanos: Int64.random(in: 0...50_000_000_000, using: &rng), currency: currency)
                }
                // Near the month's edges too, so jobs fall in two ledger files and two zones' months.
                let decided = berlin.start.addingTimeInterval(TimeInterval(Int.random(in: -2 * 86_400...33 * 86_400, using: &rng)))
                var tags: [String: String] = [:]
                if Bool.random(using: &rng) { tags["customer"] = ["acme", "film", "tv"].randomElement(using: &rng)! }
                let job = ReportJob(
                    id: "r\(round)-\(n)", status: status, policy: "p", request: Job(duration: Seconds(micros: Int64.random(in: 1...60_000_000, using: &rng)), tags: tags),
                    offer: status == .refused ? nil : OfferRef(provider: providers.randomElement(using: &rng)!, mode: .standard, resolution: .p720),
                    estimatedCost: status == .refused ? nil : money(), reportedSeconds: Seconds(micros: Int64.random(in: 0...60_000_000, using: &rng)),
                    actualCost: status == .refused ? nil : money(), retries: Int.random(in: 0...3, using: &rng), decidedAt: decided,
                    submittedAt: decided.addingTimeInterval(1), finishedAt: decided.addingTimeInterval(Double(Int.random(in: 1...5_000, using: &rng))))
                events += ReportLedgerFixture.events(for: job)
            }
            // In time order, each job's events keeping theirs.
            let ordered = events.enumerated().sorted { ($0.element.time.milliseconds, $0.offset) < ($1.element.time.milliseconds, $1.offset) }.map(\.element)
            _ = try await FileLedgerStore(directory: dir).append(ordered)
            for p in [berlin, try ReportPeriod(month: "2026-12")] {
                for dims in [[ReportDimension.provider, .tag("customer")], [.status]] {
                    let want = try await folded(dir, p, dims)
                    let first = try await report(dir, p, dims), second = try await report(dir, p, dims)
                    XCTAssertEqual(first, want, "round \(round), added up")
                    XCTAssertEqual(second, want, "round \(round), cached")
                }
            }
        }
    }
}
