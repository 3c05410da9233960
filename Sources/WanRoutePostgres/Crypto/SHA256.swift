/// SHA-256 (FIPS 180-4), written small because Foundation on Linux has no hash functions and the
/// project takes no packages. Used only for SCRAM-SHA-256 authentication; tested against the
/// published FIPS 180 examples.
public struct SHA256: Sendable {
    /// The digest length in bytes.
    public static let digestLength = 32
    /// The block length in bytes, which HMAC needs.
    public static let blockLength = 64

    private static let roundConstants: [UInt32] = [
        0x428a_2f98, 0x7137_4491, 0xb5c0_fbcf, 0xe9b5_dba5, 0x3956_c25b, 0x59f1_11f1, 0x923f_82a4, 0xab1c_5ed5,
        0xd807_aa98, 0x1283_5b01, 0x2431_85be, 0x550c_7dc3, 0x72be_5d74, 0x80de_b1fe, 0x9bdc_06a7, 0xc19b_f174,
        0xe49b_69c1, 0xefbe_4786, 0x0fc1_9dc6, 0x240c_a1cc, 0x2de9_2c6f, 0x4a74_84aa, 0x5cb0_a9dc, 0x76f9_88da,
        0x983e_5152, 0xa831_c66d, 0xb003_27c8, 0xbf59_7fc7, 0xc6e0_0bf3, 0xd5a7_9147, 0x06ca_6351, 0x1429_2967,
        0x27b7_0a85, 0x2e1b_2138, 0x4d2c_6dfc, 0x5338_0d13, 0x650a_7354, 0x766a_0abb, 0x81c2_c92e, 0x9272_2c85,
        0xa2bf_e8a1, 0xa81a_664b, 0xc24b_8b70, 0xc76c_51a3, 0xd192_e819, 0xd699_0624, 0xf40e_3585, 0x106a_a070,
        0x19a4_c116, 0x1e37_6c08, 0x2748_774c, 0x34b0_bcb5, 0x391c_0cb3, 0x4ed8_aa4a, 0x5b9c_ca4f, 0x682e_6ff3,
        0x748f_82ee, 0x78a5_636f, 0x84c8_7814, 0x8cc7_0208, 0x90be_fffa, 0xa450_6ceb, 0xbef9_a3f7, 0xc671_78f2,
    ]

    typealias State = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
    fileprivate var state: State = (
        0x6a09_e667, 0xbb67_ae85, 0x3c6e_f372, 0xa54f_f53a, 0x510e_527f, 0x9b05_688c, 0x1f83_d9ab, 0x5be0_cd19
    )
    private var pending: [UInt8] = []
    private var totalBytes: UInt64 = 0

    /// Starts an empty hash.
    public init() { pending.reserveCapacity(Self.blockLength) }

    /// The digest of `bytes` in one call.
    public static func hash<Bytes: Sequence>(_ bytes: Bytes) -> [UInt8] where Bytes.Element == UInt8 {
        var hasher = SHA256()
        hasher.update(bytes)
        return hasher.finalize()
    }

    /// Feeds more bytes.
    public mutating func update<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let array = bytes as? [UInt8] ?? Array(bytes)
        totalBytes &+= UInt64(array.count)
        array.withUnsafeBufferPointer { input in
            var offset = 0
            if !pending.isEmpty {
                let take = min(Self.blockLength - pending.count, input.count)
                pending.append(contentsOf: input[0..<take])
                offset = take
                if pending.count == Self.blockLength {
                    compressPending()
                    pending.removeAll(keepingCapacity: true)
                }
            }
            while input.count - offset >= Self.blockLength {
                compress(input, at: offset)
                offset += Self.blockLength
            }
            pending.append(contentsOf: input[offset...])
        }
    }

    /// Pads, finishes and returns the 32-byte digest.
    public mutating func finalize() -> [UInt8] {
        let bitLength = totalBytes &* 8
        pending.append(0x80)
        if pending.count > 56 {
            while pending.count < Self.blockLength { pending.append(0) }
            compressPending()
            pending.removeAll(keepingCapacity: true)
        }
        while pending.count < 56 { pending.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { pending.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        compressPending()
        pending.removeAll()
        var out: [UInt8] = []
        out.reserveCapacity(Self.digestLength)
        for word in [state.0, state.1, state.2, state.3, state.4, state.5, state.6, state.7] {
            out.append(UInt8(truncatingIfNeeded: word >> 24))
            out.append(UInt8(truncatingIfNeeded: word >> 16))
            out.append(UInt8(truncatingIfNeeded: word >> 8))
            out.append(UInt8(truncatingIfNeeded: word))
        }
        return out
    }

    private mutating func compressPending() {
        let block = pending  // a copy: compress mutates self, so it cannot borrow self.pending
        block.withUnsafeBufferPointer { compress($0, at: 0) }
    }

    private mutating func compress(_ block: UnsafeBufferPointer<UInt8>, at base: Int) {
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for i in 0..<16 {
                let j = base + i * 4
                w[i] = UInt32(block[j]) << 24 | UInt32(block[j + 1]) << 16 | UInt32(block[j + 2]) << 8 | UInt32(block[j + 3])
            }
            Self.compress(&state, w)
        }
    }

    /// One compression of the 16 big-endian words in `w[0..<16]`; `w` has room for the 64-word schedule.
    /// Works on words so that PBKDF2's two-block HMACs allocate nothing (debug builds run the tests).
    static func compress(_ state: inout State, _ w: UnsafeMutableBufferPointer<UInt32>) {
        for i in 16..<64 {
            let a = w[i - 15], b = w[i - 2]
            let s0 = ((a >> 7) | (a << 25)) ^ ((a >> 18) | (a << 14)) ^ (a >> 3)
            let s1 = ((b >> 17) | (b << 15)) ^ ((b >> 19) | (b << 13)) ^ (b >> 10)
            w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
        }
        var (a, b, c, d, e, f, g, h) = state
        roundConstants.withUnsafeBufferPointer { k in
            for i in 0..<64 {
                let s1 = ((e >> 6) | (e << 26)) ^ ((e >> 11) | (e << 21)) ^ ((e >> 25) | (e << 7))
                let choice = (e & f) ^ (~e & g)
                let t1 = h &+ s1 &+ choice &+ k[i] &+ w[i]
                let s0 = ((a >> 2) | (a << 30)) ^ ((a >> 13) | (a << 19)) ^ ((a >> 22) | (a << 10))
                let majority = (a & b) ^ (a & c) ^ (b & c)
                h = g; g = f; f = e; e = d &+ t1
                d = c; c = b; b = a; a = t1 &+ s0 &+ majority
            }
        }
        state = (state.0 &+ a, state.1 &+ b, state.2 &+ c, state.3 &+ d, state.4 &+ e, state.5 &+ f, state.6 &+ g, state.7 &+ h)
    }

}

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
