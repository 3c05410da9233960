import WanRoute

/// HMAC-SHA-256 (RFC 2104), tested against RFC 4231.
public struct HMACSHA256: Sendable {
    private let inner: SHA256
    private let outer: SHA256

    /// Prepares the keyed inner and outer hashes once, so that PBKDF2's many iterations reuse them.
    public init(key: [UInt8]) {
        var key = key.count > SHA256.blockLength ? SHA256.hash(key) : key
        key += [UInt8](repeating: 0, count: SHA256.blockLength - key.count)
        var inner = SHA256()
        inner.update(key.map { $0 ^ 0x36 })
        var outer = SHA256()
        outer.update(key.map { $0 ^ 0x5c })
        self.inner = inner
        self.outer = outer
    }

    /// The MAC of `message` under this key.
    public func authenticate(_ message: [UInt8]) -> [UInt8] {
        var inner = self.inner
        inner.update(message)
        var outer = self.outer
        outer.update(inner.finalize())
        return outer.finalize()
    }

    /// PBKDF2's inner loop: U1 = `first`, U(n+1) = HMAC(U(n)); returns U1 xor ... xor U(iterations).
    /// Each HMAC of a 32-byte digest is exactly two compressions on words, with no allocation.
    func iterate(from first: [UInt8], iterations: Int) -> [UInt8] {
        var u: SHA256.State = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeMutableBytes(of: &u) { raw in
            for i in 0..<8 {
                raw.storeBytes(of: UInt32(first[i * 4]) << 24 | UInt32(first[i * 4 + 1]) << 16 | UInt32(first[i * 4 + 2]) << 8 | UInt32(first[i * 4 + 3]),
                               toByteOffset: i * 4, as: UInt32.self)
            }
        }
        var t = u
        let innerStart = inner.state, outerStart = outer.state
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            // Both blocks hold a 32-byte message after a 64-byte key block: 0x80, zeros, length 768 bits.
            func load(_ words: SHA256.State) {
                (w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]) = words
                w[8] = 0x8000_0000
                for i in 9..<15 { w[i] = 0 }
                w[15] = 768
            }
            if iterations > 1 {
                for _ in 2...iterations {
                    var innerState = innerStart
                    load(u)
                    SHA256.compress(&innerState, w)
                    var outerState = outerStart
                    load(innerState)
                    SHA256.compress(&outerState, w)
                    u = outerState
                    t = (t.0 ^ u.0, t.1 ^ u.1, t.2 ^ u.2, t.3 ^ u.3, t.4 ^ u.4, t.5 ^ u.5, t.6 ^ u.6, t.7 ^ u.7)
                }
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(32)
        for word in [t.0, t.1, t.2, t.3, t.4, t.5, t.6, t.7] {
            out += [UInt8(truncatingIfNeeded: word >> 24), UInt8(truncatingIfNeeded: word >> 16), UInt8(truncatingIfNeeded: word >> 8), UInt8(truncatingIfNeeded: word)]
        }
        return out
    }

    /// The MAC of `message` under `key` in one call.
    public static func authenticate(_ message: [UInt8], key: [UInt8]) -> [UInt8] {
        HMACSHA256(key: key).authenticate(message)
    }
}

/// PBKDF2 with HMAC-SHA-256 as the pseudo-random function (RFC 8018 §5.2), tested against RFC 7914 §11.
public enum PBKDF2SHA256 {
    /// Derives `length` bytes from `password` and `salt` with `iterations` rounds.
    public static func derive(password: [UInt8], salt: [UInt8], iterations: Int, length: Int = SHA256.digestLength) -> [UInt8] {
        precondition(iterations >= 1 && length >= 1, "PBKDF2 needs at least one iteration and one byte")
        let prf = HMACSHA256(key: password)
        var output: [UInt8] = []
        output.reserveCapacity(length)
        var blockIndex: UInt32 = 1
        while output.count < length {
            let indexBytes = [UInt8(truncatingIfNeeded: blockIndex >> 24), UInt8(truncatingIfNeeded: blockIndex >> 16),
                              UInt8(truncatingIfNeeded: blockIndex >> 8), UInt8(truncatingIfNeeded: blockIndex)]
            let first = prf.authenticate(salt + indexBytes)
            let t = prf.iterate(from: first, iterations: iterations)
            output += t.prefix(length - output.count)
            blockIndex += 1
        }
        return output
    }
}
