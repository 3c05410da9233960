import Foundation

/// A small, bounded pool of connections shared between threads. Connections are opened on demand up
/// to `maximumConnections` and reused; one that failed, or that comes back inside a transaction, is
/// closed and discarded rather than handed to the next caller.
public final class PostgresPool: @unchecked Sendable {
    /// The configuration every connection uses.
    public let configuration: PostgresConfiguration
    /// The most connections open at once.
    public let maximumConnections: Int
    /// Seconds a caller waits for a free connection before ``PostgresError/poolTimeout(seconds:)``.
    public let acquireTimeout: Double

    private let condition = NSCondition()
    private let workers: BlockingWorkers
    private var idle: [PostgresConnection] = []
    private var openCount = 0
    private var closed = false

    /// Creates a pool; no connection is opened until one is needed. `acquireTimeout` defaults to
    /// the configuration's connect time-out.
    public init(configuration: PostgresConfiguration, maximumConnections: Int = 4, acquireTimeout: Double? = nil) {
        precondition(maximumConnections >= 1, "a pool needs at least one connection")
        self.configuration = configuration
        self.maximumConnections = maximumConnections
        self.acquireTimeout = acquireTimeout ?? configuration.connectTimeout
        self.workers = BlockingWorkers(maximum: maximumConnections)
    }

    deinit { close() }

    /// Connections open now (idle or lent out).
    public var openConnections: Int {
        condition.lock(); defer { condition.unlock() }
        return openCount
    }

    /// Lends a connection to `body` and takes it back afterwards.
    @discardableResult
    public func withConnection<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        let connection = try acquire()
        defer { release(connection) }
        return try body(connection)
    }

    /// Runs `body` in a transaction on a pooled connection (see ``PostgresConnection/transaction(_:)``).
    @discardableResult
    public func transaction<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        try withConnection { try $0.transaction(body) }
    }

    /// The async form of ``withConnection(_:)-(PostgresConnection)->T``: the blocking work runs on
    /// one of the pool's own threads (at most `maximumConnections`), never on Swift's cooperative
    /// threads. Cancelling the task does not interrupt a query; the time-outs bound it.
    @discardableResult
    public func withConnection<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            workers.submit { continuation.resume(with: Result { try self.withConnection(body) }) }
        }
    }

    /// The async form of ``transaction(_:)-(PostgresConnection)->T``.
    @discardableResult
    public func transaction<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await withConnection { try $0.transaction(body) }
    }

    /// Closes the idle connections and refuses new loans; lent connections close when they come back.
    public func close() {
        workers.stop()
        condition.lock()
        closed = true
        let toClose = idle
        idle.removeAll()
        openCount -= toClose.count
        condition.broadcast()
        condition.unlock()
        for connection in toClose { connection.close() }
    }

    private func acquire() throws(PostgresError) -> PostgresConnection {
        let deadline = Date(timeIntervalSinceNow: acquireTimeout)
        condition.lock()
        while true {
            if closed { condition.unlock(); throw .poolClosed }
            if let connection = idle.popLast() {
                condition.unlock()
                if connection.isUsable { return connection }
                forget()
                condition.lock()
                continue
            }
            if openCount < maximumConnections {
                openCount += 1
                condition.unlock()
                do {
                    return try PostgresConnection.connect(configuration)
                } catch {
                    forget()
                    throw error
                }
            }
            if !condition.wait(until: deadline) {
                condition.unlock()
                throw .poolTimeout(seconds: acquireTimeout)
            }
        }
    }

    private func release(_ connection: PostgresConnection) {
        // A connection left inside a transaction (or broken) must never reach another caller.
        let reusable = connection.isUsable && connection.transactionStatus == .idle
        condition.lock()
        if reusable && !closed {
            idle.append(connection)
            condition.signal()
            condition.unlock()
        } else {
            openCount -= 1
            condition.signal()
            condition.unlock()
            connection.close()
        }
    }

    private func forget() {
        condition.lock()
        openCount -= 1
        condition.signal()
        condition.unlock()
    }
}

/// A few threads of its own for blocking work, so async callers never park Swift's cooperative
/// threads in poll(2). Threads start on demand up to `maximum` and end at ``stop()``.
final class BlockingWorkers: @unchecked Sendable {
    private let maximum: Int
    private let condition = NSCondition()
    private var jobs: [@Sendable () -> Void] = []
    private var threads = 0
    private var waiting = 0
    private var stopped = false

    init(maximum: Int) { self.maximum = maximum }

    /// Queues `job`; after ``stop()`` it still runs (on a fresh thread), so no continuation is left hanging.
    func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        if stopped {
            condition.unlock()
            Thread { job() }.start()
            return
        }
        jobs.append(job)
        if waiting == 0 && threads < maximum {
            threads += 1
            Thread { [self] in work() }.start()
        }
        condition.signal()
        condition.unlock()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    private func work() {
        condition.lock()
        while true {
            while jobs.isEmpty && !stopped {
                waiting += 1
                condition.wait()
                waiting -= 1
            }
            if jobs.isEmpty {
                threads -= 1
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job()
            condition.lock()
        }
    }
}
