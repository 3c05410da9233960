import Foundation

/// The ids wanroute makes when none is given: a job run without `--id`, a jobs-file line without
/// `"id"`, and each `run` and `resume`. Short, because every ledger line carries its job's id, and
/// time-ordered, so they sort by when they were made.
///
/// An id is a kind prefix, then 15 characters of lowercase Crockford base32 (digits and letters
/// without i, l, o, u): 7 for the Unix second (enough until the year 3058), then 8 for 40 bits
/// from the system's random generator. Two ids collide only when made in the same second with the
/// same 40 bits: for n ids made in one second, on any number of machines, the chance is about
/// n² / 2^41 (4.5 × 10^-13 for two, 4.5 × 10^-7 for a thousand). A jobs file's lines share one id and
/// add their line number (`-17`), so they never collide with each other.
public enum GeneratedID {
    static let alphabet = Array("0123456789abcdefghjkmnpqrstvwxyz".utf8)

    /// A new id: `prefix`, then the second of `date` and 40 random bits.
    public static func make(_ prefix: String, at date: Date = Date()) -> String {
        var rng = SystemRandomNumberGenerator()
        return make(prefix, second: Int64(date.timeIntervalSince1970.rounded(.down)), random: rng.next() & (1 << 40 - 1))
    }

    /// The id for a given second and random bits (for tests).
    static func make(_ prefix: String, second: Int64, random: UInt64) -> String {
        var out = Array(prefix.utf8)
        let s = UInt64(clamping: max(0, second))
        for shift in stride(from: 30, through: 0, by: -5) { out.append(alphabet[Int((s >> UInt64(shift)) & 31)]) }
        for shift in stride(from: 35, through: 0, by: -5) { out.append(alphabet[Int((random >> UInt64(shift)) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }
}
