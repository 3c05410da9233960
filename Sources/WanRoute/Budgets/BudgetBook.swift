import Foundation

/// A calendar month in a time zone: the period a monthly budget covers.
///
/// A job's spend counts against the budget month in which its reservation was made (its admission),
/// even when it settles or is released after the month ends, in a later ledger file: the admission
/// checked that month's limit, so the settlement must replace the reservation there to keep settled
/// + reserved within the limit, month by month. A job that reserves again in a later month (a
/// failover after the month ended) was admitted there too: its spend moves to that month.
public struct BudgetMonth: Hashable, Sendable, CustomStringConvertible {
    /// The calendar month, as numbered in ``zone``.
    public let month: LedgerMonth
    /// The time zone whose calendar the month follows (UTC by default).
    public let zone: TimeZone
    /// The month's first instant.
    public let start: LedgerTime
    /// The next month's first instant.
    public let end: LedgerTime

    /// The month `month` in `zone`.
    public init(_ month: LedgerMonth, zone: TimeZone = TimeZone(identifier: "UTC")!) {
        self.month = month
        self.zone = zone
        self.start = BudgetMonth.firstInstant(month, zone)
        self.end = BudgetMonth.firstInstant(month.next, zone)
    }

    /// The month in `zone` that contains `time`.
    public static func containing(_ time: LedgerTime, zone: TimeZone = TimeZone(identifier: "UTC")!) -> BudgetMonth {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let parts = calendar.dateComponents([.year, .month], from: time.date)
        return BudgetMonth(LedgerMonth(year: parts.year!, month: parts.month!)!, zone: zone)
    }

    /// Whether `time` falls in the month.
    public func contains(_ time: LedgerTime) -> Bool { time >= start && time < end }

    /// The UTC months (ledger files) the month overlaps, oldest first.
    public var ledgerMonths: [LedgerMonth] {
        var months: [LedgerMonth] = []
        var m = start.month
        let last = LedgerTime(milliseconds: end.milliseconds - 1).month
        while m <= last {
            months.append(m)
            m = m.next
        }
        return months
    }

    /// The ledger files a tally of the month reads, oldest first: its own (``ledgerMonths``), then
    /// every later one among `existing`, where the settlements and releases of the month's
    /// reservations may fall.
    public func ledgerMonthsToFold(among existing: [LedgerMonth]) -> [LedgerMonth] {
        let own = ledgerMonths
        return own + existing.filter { $0 > own.last! }.sorted()
    }

    /// `2026-12 (America/Los_Angeles)`.
    public var description: String { "\(month) (\(zone.identifier))" }

    static func firstInstant(_ m: LedgerMonth, _ zone: TimeZone) -> LedgerTime {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let date = calendar.date(from: DateComponents(year: Int(m.year), month: Int(m.month), day: 1))!
        return LedgerTime(date)
    }
}

extension BudgetKey {
    /// Every key a job's spend counts under: `total`, its provider, and each of its tags. Ledger
    /// events carry them all, so any policy's budgets, now or later, can be checked against them.
    public static func keys(provider: ProviderID, tags: [String: String]) -> [BudgetKey] {
        [.total, .provider(provider)] + tags.sorted { $0.key < $1.key }.map { .tag($0.key, $0.value) }
    }
}

/// One monthly limit to check at admission: a policy budget applied to one job.
public struct BudgetLimit: Sendable, Equatable {
    /// The policy's id for the budget, named in refusals.
    public var budgetID: String
    /// The key the job's spend counts under for this budget.
    public var key: BudgetKey
    /// The monthly limit, in USD.
    public var monthly: Money

    /// Creates a limit (USD).
    public init(budgetID: String, key: BudgetKey, monthly: Money) {
        precondition(monthly.currency == .usd, "budgets are kept in USD")
        self.budgetID = budgetID
        self.key = key
        self.monthly = monthly
    }

    /// The limits of `budgets` that cover a job sent to `provider` (a provider budget covers only
    /// its own provider's offers).
    public static func limits(_ budgets: [Budget], job: Job, provider: ProviderID) -> [BudgetLimit] {
        budgets.compactMap { b in
            if case .provider(let p) = b.scope, p != provider { return nil }
            return b.key(for: job).map { BudgetLimit(budgetID: b.id, key: $0, monthly: b.monthly) }
        }
    }
}

/// Month-to-date spend per budget key: settled plus open reservations, in USD.
public struct BudgetState: Sendable, Equatable {
    /// The month.
    public var month: BudgetMonth
    /// Settled spend by key.
    public var settled: [BudgetKey: Money]
    /// Reserved by jobs not yet settled or released, by key.
    public var reserved: [BudgetKey: Money]
    /// Jobs with reservations open (in flight, or left by a dead process).
    public var openReservations: Int

    /// Creates a state (stores build it from their tally; tests by hand).
    public init(month: BudgetMonth, settled: [BudgetKey: Money], reserved: [BudgetKey: Money], openReservations: Int) {
        self.month = month
        self.settled = settled
        self.reserved = reserved
        self.openReservations = openReservations
    }

    /// Settled plus reserved under a key.
    public func committed(_ key: BudgetKey) -> Money {
        Money(nanos: (settled[key]?.nanos ?? 0) + (reserved[key]?.nanos ?? 0), currency: .usd)
    }

    /// The same figures as the router's ``SpendSnapshot``.
    public var snapshot: SpendSnapshot { SpendSnapshot(spent: settled, reserved: reserved) }
}

/// A budget a reservation would overrun.
public struct BudgetShortfall: Sendable, Equatable, CustomStringConvertible {
    /// The limit that would be overrun.
    public var limit: BudgetLimit
    /// Settled plus reserved before this reservation.
    public var committed: Money
    /// What was asked for.
    public var requested: Money

    /// What is left of the limit (zero when already over).
    public var remaining: Money { Money(nanos: max(0, limit.monthly.nanos - committed.nanos), currency: .usd) }

    /// `budget "studio" (total): limit USD 100.00, settled + reserved USD 99.60 this month (USD 0.40 left); the job may cost USD 1.50`.
    public var description: String {
        "budget \"\(limit.budgetID)\" (\(limit.key)): limit \(limit.monthly), settled + reserved \(committed) this month (\(remaining) left); the job may cost \(requested)"
    }
}

/// A reservation to make atomically with its admission check.
public struct ReservationRequest: Sendable, Equatable {
    /// The `reserved` event, or a `decided` one made with its reservation (one line for both); its
    /// amount is the worst-case cost in USD.
    public var event: LedgerEvent
    /// The limits to check.
    public var limits: [BudgetLimit]
    /// The budget month the limits are monthly in.
    public var month: BudgetMonth
    /// Events to append in the same durable batch just after the reservation (such as the
    /// submit-intent), only when it is admitted.
    public var following: [LedgerEvent]

    /// Creates a request; `event` must reserve: a `reserved` event, or a `decided` one with its reservation.
    public init(event: LedgerEvent, limits: [BudgetLimit], month: BudgetMonth, following: [LedgerEvent] = []) {
        guard event.body.reservation != nil else { preconditionFailure("a reservation request carries a reserved event") }
        self.event = event
        self.limits = limits
        self.month = month
        self.following = following
    }

    /// The amount asked for.
    public var amount: Money {
        guard let b = event.body.reservation else { preconditionFailure("not a reservation") }
        return b.amount
    }

    /// The limits `state` leaves too little room for.
    public func shortfalls(in state: BudgetState) -> [BudgetShortfall] {
        limits.compactMap { limit in
            let committed = state.committed(limit.key)
            let (total, overflow) = committed.nanos.addingReportingOverflow(amount.nanos)
            return overflow || total > limit.monthly.nanos ? BudgetShortfall(limit: limit, committed: committed, requested: amount) : nil
        }
    }
}

/// What a reservation came to.
public enum ReservationOutcome: Sendable, Equatable {
    /// Admitted: the reservation and its following events, as recorded.
    case reserved([LedgerRecord])
    /// Refused: nothing was written; every limit that would be overrun.
    case refused([BudgetShortfall])
}

/// The budget fold: month-to-date settled spend and open reservations per key, from ledger events.
///
/// Reservations made inside the month count (a `reserved` event, or a `decided` one made with its
/// reservation); a settlement (`settled`, or `succeeded`/`failed` with `settle_usd`) or a release
/// closes the job's open reservations (wherever it falls in time, in whichever ledger file) and
/// counts its amount under the keys of the job's latest reservation; a settlement for a job with no
/// reservation in the month counts nowhere in it (its reservation belongs to an earlier month). A
/// reservation after the month's end by a job with reservations open in it closes them uncounted:
/// the job was admitted again in the later month, and its spend counts there.
///
/// Stores fold the month's own ledger files and then every later one
/// (``BudgetMonth/ledgerMonthsToFold(among:)``): a job reserved on the month's last evening may
/// settle in the next month's file, or be settled by `resume` weeks later.
public struct BudgetTally: Sendable, Equatable {
    /// The month folded.
    public let month: BudgetMonth
    var settled: [BudgetKey: Int64] = [:]
    var reserved: [BudgetKey: Int64] = [:]
    var open: [String: [Reservation]] = [:]

    struct Reservation: Sendable, Equatable {
        var nanos: Int64
        var keys: [BudgetKey]
    }

    /// An empty tally.
    public init(month: BudgetMonth) { self.month = month }

    /// Whether any job has a reservation open: when none has, later ledger files cannot change the
    /// tally (they only close reservations), and stores skip them.
    public var hasOpenReservations: Bool { !open.isEmpty }

    /// Whether an event type can change a tally (others are skipped without decoding).
    public static func matters(_ type: LedgerEventType) -> Bool {
        switch type {
        case .decided, .reserved, .settled, .released, .succeeded, .failed: return true
        default: return false
        }
    }

    /// Applies one event.
    public mutating func apply(_ e: LedgerEvent) {
        if let b = e.body.reservation {
            if month.contains(e.time) {
                open[e.jobID, default: []].append(Reservation(nanos: b.amount.nanos, keys: b.budgets))
                for k in b.budgets { reserved[k, default: 0] &+= b.amount.nanos }
            } else if e.time >= month.end, let rs = open.removeValue(forKey: e.jobID) {
                close(rs)
            }
        } else if let m = e.body.settlement {
            // Settles what the job reserved this month, under its latest reservation's keys.
            guard let rs = open.removeValue(forKey: e.jobID) else { return }
            close(rs)
            if m.nanos != 0 { for k in rs.last!.keys { settled[k, default: 0] &+= m.nanos } }
        }
    }

    private mutating func close(_ rs: [Reservation]) {
        for r in rs {
            for k in r.keys {
                let left = (reserved[k] ?? 0) &- r.nanos
                reserved[k] = left == 0 ? nil : left
            }
        }
    }

    /// The figures as a ``BudgetState``.
    public var state: BudgetState {
        BudgetState(month: month,
                    settled: settled.mapValues { Money(nanos: $0, currency: .usd) },
                    reserved: reserved.mapValues { Money(nanos: $0, currency: .usd) },
                    openReservations: open.count)
    }
}
