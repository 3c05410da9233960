import Foundation
import WanRouteTestSupport
import XCTest

@testable import WanRoute

/// The ledger's events folded back into report jobs give the jobs that were recorded.
final class LedgerReportFoldTests: XCTestCase {
    typealias F = ReportFixture

    func fold(_ events: [LedgerEvent], period: ReportPeriod = F.period) -> [ReportJob] {
        var fold = LedgerReportFold(period: period, catalog: F.catalog)
        var out: [ReportJob] = []
        for (i, e) in events.enumerated() { fold.apply(LedgerRecord(sequence: Int64(i + 1), event: e)) { out.append($0) } }
        fold.finish { out.append($0) }
        return out.sorted { ($0.decidedAt, $0.id) < ($1.decidedAt, $1.id) }
    }

    func testTheFixtureMonthRoundTripsThroughLedgerEvents() {
        let expected = F.jobs.filter { F.period.contains($0.decidedAt) }
        let folded = fold(ReportLedgerFixture.events)
        XCTAssertEqual(folded.map(\.id), expected.map(\.id))
        for (got, want) in zip(folded, expected) {
            var want = want
            // The ledger knows when a job was handed to a person: its needs-attention event.
            if want.status == .needsAttention { want.finishedAt = got.finishedAt }
            XCTAssertEqual(got, want, want.id)
        }
    }

    func testOnlyJobsDecidedInTheMonthAreFolded() throws {
        let utc = try ReportPeriod(month: "2026-12", timeZone: "UTC")
        let ids = Set(fold(ReportLedgerFixture.events, period: utc).map(\.id))
        XCTAssertTrue(ids.contains("j20-boundary-next"))
        XCTAssertFalse(ids.contains("j01-boundary-in"), "20:00 UTC on 30 November is November in UTC")
    }

    func testAJobStillInFlightIsUnfinishedWithAnUnknownCost() throws {
        let job = try XCTUnwrap(F.jobs.first { $0.id == "j19-late" })
        let events = ReportLedgerFixture.events(for: job).prefix(3)   // decided, submit-intent, accepted
        let folded = try XCTUnwrap(fold(Array(events)).first)
        XCTAssertEqual(folded.status, .unfinished)
        XCTAssertNil(folded.actualCost)
        XCTAssertTrue(folded.costIsUnknown)
        XCTAssertEqual(folded.taskID, job.taskID)
    }

    func testAnIdDecidedAgainAfterItsJobEndedIsHandedOnOncePerDecision() throws {
        let job = try XCTUnwrap(F.jobs.first { $0.status == .succeeded && F.period.contains($0.decidedAt) })
        let ended = ReportLedgerFixture.events(for: job)
        var again = Array(ended.prefix(3))   // decided, submit-intent, accepted: in flight at the end
        for i in again.indices { again[i].time = LedgerTime(ended.last!.time.date.addingTimeInterval(60 + Double(i))) }
        let folded = fold(ended + again).filter { $0.id == job.id }
        XCTAssertEqual(folded.map(\.status), [.succeeded, .unfinished], "each decision once, never the ended one twice")
    }

    func testAnIntentWithNoProviderToInheritIsSkipped() throws {
        let job = try XCTUnwrap(F.jobs.first { $0.status == .succeeded && F.period.contains($0.decidedAt) })
        var events = ReportLedgerFixture.events(for: job)
        for i in events.indices where events[i].type == .submitIntent { events[i].provider = nil }
        var fold = LedgerReportFold(period: F.period, catalog: F.catalog)
        var refused = events[0]
        guard case .decided(var d) = refused.body else { return XCTFail("the first event is the decision") }
        d.mode = nil
        d.resolution = nil
        refused.body = .decided(d)
        refused.provider = nil
        // Folded without handing on, as a per-job fold does: the refused job stays, and its
        // provider-less intent must not trap.
        for (i, e) in ([refused] + events.dropFirst()).enumerated() { fold.apply(LedgerRecord(sequence: Int64(i + 1), event: e)) }
        var out: [ReportJob] = []
        fold.finish { out.append($0) }
        XCTAssertTrue(out.allSatisfy { $0.id == job.id })
    }

    func testTheMonthsToReadCoverTheZoneAndTheNextMonth() throws {
        XCTAssertEqual(LedgerReportFold.months(for: F.period).map(\.description), ["2026-11", "2026-12", "2027-01"])
        XCTAssertEqual(LedgerReportFold.months(for: try ReportPeriod(month: "2026-12")).map(\.description), ["2026-12", "2027-01"])
    }
}
