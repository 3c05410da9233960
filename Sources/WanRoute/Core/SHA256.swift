/// SHA-256 (FIPS 180-4), written small because Foundation on Linux has no hash functions and the
/// project takes no packages. Used for the ledger's digests of the pricing tables and policy in
/// force, and by `WanRoutePostgres` for SCRAM-SHA-256; tested against the published FIPS 180 examples.
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

    package typealias State = (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32, UInt32)
    package private(set) var state: State = (
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
    package static func compress(_ state: inout State, _ w: UnsafeMutableBufferPointer<UInt32>) {
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

/// The digests a ledger's `decided` events record: which pricing tables and which policy were in
/// force. The first 16 hex digits (64 bits) of a SHA-256, enough to tell versions apart in a
/// ledger, not a security claim.
public enum SourceDigest {
    /// The number of hex digits in a digest.
    public static let length = 16

    /// The digest of pricing tables and their overlays (`--contract`): over each table's file name
    /// (its last path component, so the built-in copy and the repository's `pricing/` agree), byte
    /// count and text, tables sorted by name, then the overlays in the order they are laid on.
    public static func pricing(files: [SourceFile], overlays: [SourceFile]) -> String {
        var hasher = SHA256()
        func feed(_ kind: String, _ file: SourceFile) {
            let name = file.name.split(separator: "/").last.map(String.init) ?? file.name
            hasher.update(Array("\(kind)\0\(name)\0\(file.text.utf8.count)\0".utf8))
            hasher.update(Array(file.text.utf8))
        }
        let named = files.map { ($0.name.split(separator: "/").last.map(String.init) ?? $0.name, $0) }
        for (_, file) in named.sorted(by: { $0.0 < $1.0 }) { feed("table", file) }
        for file in overlays { feed("overlay", file) }
        return hex(hasher.finalize())
    }

    /// The digest of a policy file's text (its bytes, whatever its name).
    public static func policy(_ file: SourceFile) -> String {
        hex(SHA256.hash(Array(file.text.utf8)))
    }

    static func hex(_ digest: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        for b in digest.prefix(length / 2) { out += [digits[Int(b >> 4)], digits[Int(b & 15)]] }
        return String(decoding: out, as: UTF8.self)
    }
}
