/// Values numbered 0, 1, 2... in the order first seen: the replay and the summaries keep small
/// integers per job instead of strings and arrays.
struct Numbering<Key: Hashable> {
    /// The values, each at its number.
    private(set) var values: [Key] = []
    private var index: [Key: Int32] = [:]

    /// The number of `key`, given the next one when first seen.
    mutating func number(_ key: Key) -> Int32 {
        if let n = index[key] { return n }
        let n = Int32(values.count)
        values.append(key)
        index[key] = n
        return n
    }
}
