/// RFC 4180 CSV: fields with commas, quotes or line breaks are quoted, quotes doubled.
public enum CSV {
    /// One record, CRLF-terminated. Scans bytes rather than Characters and doubles quotes by hand:
    /// a FOCUS export writes millions of fields, and Foundation's string replacing costs
    /// microseconds a call.
    public static func line(_ fields: [String]) -> String {
        var out = ""
        var bytes = 2
        for f in fields { bytes += f.utf8.count + 1 }
        out.reserveCapacity(bytes)
        for (i, f) in fields.enumerated() {
            if i > 0 { out += "," }
            if f.utf8.contains(where: { $0 == 0x2C || $0 == 0x22 || $0 == 0x0A || $0 == 0x0D }) {
                var quoted: [UInt8] = [0x22]
                for b in f.utf8 {
                    quoted.append(b)
                    if b == 0x22 { quoted.append(0x22) }
                }
                quoted.append(0x22)
                out += String(decoding: quoted, as: UTF8.self)
            } else {
                out += f
            }
        }
        return out + "\r\n"
    }
}
