import Foundation

/// The body of one HTTP exchange as it arrives, shared by the thread that receives it and the
/// threads that wait on it with deadlines. At most `limit` bytes are kept: a byte past the limit
/// marks the body overflowed instead, so memory stays bounded whatever a server sends.
///
/// The two transfer kinds (``SocketHTTPTransfer`` for http, URLSession for https) each keep a
/// few fields of their own (the head, the socket, the session) under the same lock, through
/// ``locked(_:)`` and ``update(_:)``, so a caller can wait for those and the body together.
final class TransferBuffer<Failure: Error & Sendable>: @unchecked Sendable {
    /// What the receiving side has recorded; read and changed only under the lock.
    struct State {
        /// The body bytes kept so far.
        var data: [UInt8] = []
        /// Whether the exchange ended (whole, failed, over the limit or cancelled).
        var finished = false
        /// Why the exchange failed, when it did.
        var failure: Failure?
        /// Whether the body went past the limit.
        var overflowed = false
        /// The most body bytes kept.
        let limit: Int

        /// Keeps `bytes` up to the limit; past it, keeps what fits and marks the overflow.
        /// Returns whether the body overflowed.
        mutating func keep(_ bytes: some Collection<UInt8>) -> Bool {
            let room = limit - data.count
            data.append(contentsOf: bytes.prefix(max(0, room)))
            let over = bytes.count > room
            if over { overflowed = true }
            return over
        }
    }

    private let condition = NSCondition()
    private var state: State

    /// A buffer that keeps at most `limit` body bytes.
    init(limit: Int) { state = State(limit: limit) }

    /// Runs `body` under the lock, waking no waiter.
    func locked<T>(_ body: (inout State) -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        return body(&state)
    }

    /// Runs `body` under the lock, then wakes every waiter to look again.
    func update<T>(_ body: (inout State) -> T) -> T {
        condition.lock()
        defer { condition.unlock() }
        let result = body(&state)
        condition.broadcast()
        return result
    }

    /// Waits, under the lock, until `done` holds; false when `until` passed first.
    func wait(until: Date, for done: (State) -> Bool) -> Bool {
        condition.lock()
        defer { condition.unlock() }
        while !done(state) {
            if !condition.wait(until: until) { return done(state) }
        }
        return true
    }

    var failure: Failure? { locked { $0.failure } }
    var overflowed: Bool { locked { $0.overflowed } }
    var received: Int { locked { $0.data.count } }
    var isFinished: Bool { locked { $0.finished } }

    /// Waits for the end of the body; false when `until` passed first.
    func waitForEnd(until: Date) -> Bool { wait(until: until) { $0.finished } }
    /// Waits for `count` body bytes (or the end); false when `until` passed first.
    func waitForBytes(_ count: Int, until: Date) -> Bool { wait(until: until) { $0.data.count >= count || $0.finished } }

    /// The body so far.
    func takeData() -> [UInt8] { locked { $0.data } }

    /// Up to `count` body bytes from `offset`, with whether the body ended, overflowed or failed.
    func snapshot(from offset: Int, count: Int) -> ([UInt8], Bool, Bool, Failure?) {
        locked { state in
            let start = min(offset, state.data.count)
            return (Array(state.data[start..<min(state.data.count, start + count)]), state.finished, state.overflowed, state.failure)
        }
    }
}
