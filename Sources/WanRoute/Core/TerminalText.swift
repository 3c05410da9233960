/// Text that is safe to show on a terminal: control characters that could move the cursor, set
/// the window title, clear the screen or reorder what is shown are replaced by visible escapes.
///
/// Every file, URL, provider answer and key in a message is untrusted; the command line passes
/// everything it prints through ``escaped(_:)`` in one place, and ``JSONWriter`` escapes the same
/// characters inside strings.
public enum TerminalText {
    /// Whether a character must not reach a terminal raw: C0 controls other than tab and line
    /// feed (carriage return too), DEL, C1 controls, and the bidirectional embeddings, overrides
    /// and isolates (U+202A-U+202E, U+2066-U+2069) that make text display in another order.
    @inline(__always)
    public static func mustEscape(_ u: Unicode.Scalar) -> Bool {
        let v = u.value
        if v < 0x20 { return v != 0x09 && v != 0x0A }
        if v < 0x7F { return false }
        return v <= 0x9F || (0x202A...0x202E).contains(v) || (0x2066...0x2069).contains(v)
    }

    /// `text` with every character ``mustEscape(_:)`` names written as `\u001b`; a carriage
    /// return is kept only as part of a CRLF line end (CSV output uses them).
    public static func escaped(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard needsEscaping(text) else { return text }
        var out = String.UnicodeScalarView()
        var index = scalars.startIndex
        while index != scalars.endIndex {
            let u = scalars[index]
            let next = scalars.index(after: index)
            if u == "\r", next != scalars.endIndex, scalars[next] == "\n" {
                out.append(u)
            } else if mustEscape(u) {
                let hex = String(u.value, radix: 16)
                out.append(contentsOf: ("\\u" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex).unicodeScalars)
            } else {
                out.append(u)
            }
            index = next
        }
        return String(out)
    }

    /// Whether ``escaped(_:)`` would change `text`, read from its UTF-8 bytes (a CRLF line end
    /// needs nothing): a report of hundreds of megabytes passes through here.
    static func needsEscaping(_ text: String) -> Bool {
        let found = text.utf8.withContiguousStorageIfAvailable { b -> Bool in
            let n = b.count
            var i = 0
            while i < n {
                let c = b[i]
                if c < 0x20 {
                    if c != 0x09, c != 0x0A, !(c == 0x0D && i + 1 < n && b[i + 1] == 0x0A) { return true }
                } else if c == 0x7F {
                    return true
                } else if c == 0xC2 {
                    // U+0080-U+009F, the C1 controls.
                    if i + 1 < n, b[i + 1] <= 0x9F { return true }
                } else if c == 0xE2, i + 2 < n {
                    // U+202A-U+202E and U+2066-U+2069.
                    let (c1, c2) = (b[i + 1], b[i + 2])
                    if (c1 == 0x80 && (0xAA...0xAE).contains(c2)) || (c1 == 0x81 && (0xA6...0xA9).contains(c2)) { return true }
                }
                i += 1
            }
            return false
        }
        if let found { return found }
        let scalars = Array(text.unicodeScalars)
        for (i, u) in scalars.enumerated() where mustEscape(u) {
            if u == "\r", i + 1 < scalars.count, scalars[i + 1] == "\n" { continue }
            return true
        }
        return false
    }
}

/// URLs as messages show them: without credentials (`user:password@`) or a query or fragment,
/// where signed URLs and careless configurations keep secrets. Works on any text, so a URL too
/// malformed to parse is still cleaned before it is quoted.
public enum URLText {
    /// `https://user:secret@host/a/b?sig=XYZ#f` as `https://host/a/b?…`, at most 200 characters.
    public static func forMessage(_ text: String) -> String {
        var rest = Substring(text)
        var out = ""
        if let range = rest.range(of: "://") {
            out += rest[..<range.upperBound]
            rest = rest[range.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            out += authority.lastIndex(of: "@").map { authority[authority.index(after: $0)...] } ?? authority
            rest = rest[authorityEnd...]
        } else if let at = rest.firstIndex(of: "@"), rest[..<at].contains(":"), !rest[..<at].contains("/") {
            rest = rest[rest.index(after: at)...]  // user:password@host without a scheme
        }
        if let cut = rest.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            out += rest[..<cut] + "?…"
        } else {
            out += rest
        }
        return out.count <= 200 ? out : String(out.prefix(199)) + "…"
    }
}
