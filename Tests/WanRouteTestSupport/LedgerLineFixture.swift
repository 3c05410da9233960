import Foundation
import WanRoute

/// Hand-written ledger lines for tests of what readers accept and refuse.
public enum LedgerLineFixture {
    /// `body` (a line's text up to its checksum member) closed with a correct checksum member
    /// (`"c"` in versions 2 to 4, `"crc"` in version 1), without a newline: only what the line
    /// says stands between it and a reader.
    public static func sealed(_ body: String, checksumKey: String = "c") -> String {
        body + ",\"\(checksumKey)\":\"" + String(format: "%08x", CRC32C.checksum(body)) + "\"}"
    }
}
