/// RFC 4180 CSV: fields with commas, quotes or line breaks are quoted, quotes doubled.
public enum CSV {
    /// One record, CRLF-terminated. Built as bytes, each field copied whole unless it needs quotes
    /// (then its quotes doubled by hand), and made a String once: a FOCUS export writes millions of
    /// fields, and appending them to a String one by one cost a quarter of its time.
    public static func line(_ fields: [String]) -> String {
        var size = 2
        for f in fields { size += f.utf8.count + 1 }
        var out: [UInt8] = []
        out.reserveCapacity(size)
        for (i, field) in fields.enumerated() {
            if i > 0 { out.append(0x2C) }
            var f = field
            f.withUTF8 { u in
                guard u.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) else {
                    out.append(contentsOf: u)
                    return
                }
                out.append(0x22)
                for b in u {
                    out.append(b)
                    if b == 0x22 { out.append(0x22) }
                }
                out.append(0x22)
            }
        }
        out.append(0x0D)
        out.append(0x0A)
        return String(decoding: out, as: UTF8.self)
    }
}
