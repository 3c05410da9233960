import Foundation

/// Reads a ledger file's lines in large chunks, verifies each line's checksum, and applies the
/// torn-tail rule: the bytes after the last newline, and a last complete line whose checksum fails,
/// are a torn tail (the last write of a process that died); a bad line with more lines after it is
/// damage, reported with its line number.
struct LedgerFileScanner {
    /// Where a scan stopped.
    struct End {
        /// The offset just after the last good line.
        var offset: Int64
        /// Lines read (good ones), counting from the file's start.
        var lines: Int
        /// The last good line's sequence number and checksum (nil when none was read).
        var last: (sequence: Int64, crc: UInt32)?
        /// Why the bytes after ``offset`` are a torn tail, when there are any.
        var torn: String?
    }

    static let chunk = 8 << 20

    /// Scans `[from, to)` of `file`, whose line `from` starts at `firstLine` (1-based), calling `body`
    /// with each verified line (without its newline), its line number and the offset after it.
    static func scan(_ file: FileDescriptor, name: String, from: Int64, to: Int64, firstLine: Int,
                     _ body: (UnsafeRawBufferPointer, Int, Int64) throws -> Void) throws -> End {
        var end = End(offset: from, lines: firstLine - 1, last: nil, torn: nil)
        let span = max(0, to - from)
        var buffer = [UInt8](repeating: 0, count: Int(min(Int64(chunk), span)) + Int(min(Int64(ledgerMaximumLineBytes + 1), span)))
        var carried = 0            // bytes of an unfinished line at the buffer's start
        var position = from        // file offset of buffer[carried]
        var bad: (line: Int, reason: String)?
        while position < to {
            let want = Int(min(Int64(chunk), to - position))
            let got = try buffer.withUnsafeMutableBytes { b in
                try file.read(into: UnsafeMutableRawBufferPointer(rebasing: b[carried..<(carried + want)]), at: position)
            }
            if got == 0 { break }
            let filled = carried + got
            let base = position - Int64(carried)   // file offset of buffer[0]
            var lineStart = 0
            try buffer.withUnsafeBytes { b in
                var i = carried
                while let nl = memchrIndex(b, UInt8(ascii: "\n"), from: i, to: filled) {
                    let line = UnsafeRawBufferPointer(rebasing: b[lineStart..<nl])
                    let number = end.lines + (bad == nil ? 1 : 2)
                    if let previous = bad {
                        throw LedgerError.damaged(file: name, line: previous.line, reason: previous.reason)
                    }
                    if line.count > ledgerMaximumLineBytes {
                        bad = (number, "the line is longer than \(ledgerMaximumLineBytes) bytes")
                    } else if !LedgerCodec.verify(line) {
                        bad = (number, LedgerLineError.badChecksum.description)
                    } else {
                        let after = base + Int64(nl + 1)
                        try body(line, number, after)
                        end.lines = number
                        end.offset = after
                        end.last = (LedgerCodec.envelope(line)?.sequence ?? 0, storedCRC(line))
                    }
                    lineStart = nl + 1
                    i = nl + 1
                }
            }
            carried = filled - lineStart
            if carried > ledgerMaximumLineBytes {
                // No newline within the limit: damage if anything follows, else a torn tail.
                if position + Int64(got) < to {
                    throw LedgerError.damaged(file: name, line: end.lines + 1, reason: "the line is longer than \(ledgerMaximumLineBytes) bytes")
                }
            }
            if carried > 0, lineStart > 0 {
                buffer.withUnsafeMutableBytes { b in
                    b.baseAddress!.copyMemory(from: b.baseAddress! + lineStart, byteCount: carried)
                }
            }
            if carried > ledgerMaximumLineBytes { carried = 0 }
            position += Int64(got)
        }
        if bad != nil {
            end.torn = "its last line's checksum does not match"
        } else if end.offset < to {
            end.torn = "no final newline"
        }
        return end
    }

    /// The 8 hex digits of a verified line's checksum.
    static func storedCRC(_ line: UnsafeRawBufferPointer) -> UInt32 {
        var v: UInt32 = 0
        // Both versions' trailers end in the 8 digits and `"}`.
        for i in (line.count - 10)..<(line.count - 2) {
            let b = line[i]
            v = v << 4 | UInt32(b <= 0x39 ? b - 0x30 : b - 0x61 + 10)
        }
        return v
    }

    /// Reads the complete line that ends just before `offset` (whose byte `offset - 1` is a newline);
    /// nil when there is none.
    static func line(endingAt offset: Int64, in file: FileDescriptor) throws -> [UInt8]? {
        guard offset > 0 else { return nil }
        var window = 4096
        while true {
            let start = max(0, offset - Int64(window))
            let bytes = try file.read(at: start, count: Int(offset - start))
            guard bytes.count == Int(offset - start), bytes.last == UInt8(ascii: "\n") else { return nil }
            if let nl = bytes.dropLast().lastIndex(of: UInt8(ascii: "\n")) {
                return Array(bytes[(nl + 1)..<(bytes.count - 1)])
            }
            if start == 0 { return Array(bytes.dropLast()) }
            if window > ledgerMaximumLineBytes + 2 { return nil }
            window *= 4
        }
    }
}

extension LedgerFileScanner {
    /// The line (without its newline) starting at `offset`, and the offset after its newline; nil
    /// when no complete line of at most ``ledgerMaximumLineBytes`` starts there.
    static func line(startingAt offset: Int64, in file: FileDescriptor) throws -> (line: [UInt8], next: Int64)? {
        var window = 1024
        while true {
            let bytes = try file.read(at: offset, count: window)
            if let nl = bytes.firstIndex(of: UInt8(ascii: "\n")) { return (Array(bytes[..<nl]), offset + Int64(nl) + 1) }
            if bytes.count < window || window > ledgerMaximumLineBytes { return nil }
            window *= 4
        }
    }

    /// The offset of the first line that starts at or after `offset` (just after a newline), or
    /// nil when none does within a line's greatest length.
    static func lineStart(atOrAfter offset: Int64, in file: FileDescriptor) throws -> Int64? {
        guard offset > 0 else { return 0 }
        var at = offset - 1
        // Lines are short: read a little first, more only for a long one.
        var window = 1024
        while at - offset <= Int64(ledgerMaximumLineBytes) {
            let bytes = try file.read(at: at, count: window)
            if let nl = bytes.firstIndex(of: UInt8(ascii: "\n")) { return at + Int64(nl) + 1 }
            if bytes.count < window { return nil }
            at += Int64(bytes.count)
            window = min(window * 4, 65_536)
        }
        return nil
    }

    /// The verified line (without its newline) whose sequence number is `sequence` among the
    /// first `size` bytes of `file`, found by bisection (a file's lines are in sequence order);
    /// nil when there is none. Reads about 2 log2(size) short pieces of the file.
    static func line(withSequence sequence: Int64, in file: FileDescriptor, size: Int64) throws -> [UInt8]? {
        // The line, if there is one, starts in [low, high); `low` is always a line's start.
        var low: Int64 = 0, high = size
        while low < high {
            let middle = low + (high - low) / 2
            guard let start = try lineStart(atOrAfter: middle, in: file) else { high = middle; continue }
            if start >= high {
                high = middle
                continue
            }
            // A line not complete within `size` (another process may be appending) is not there yet:
            // what a reader looks up always lies before the lines it read.
            guard let (text, next) = try line(startingAt: start, in: file), next <= size else {
                high = start
                continue
            }
            let found: Int64? = text.withUnsafeBytes { b in LedgerCodec.verify(b) ? LedgerCodec.envelope(b)?.sequence : nil }
            guard let found else { return nil }
            if found == sequence { return text }
            if found < sequence { low = next } else { high = start }
        }
        return nil
    }

    /// The record of the line whose sequence number is `sequence` (see
    /// ``line(withSequence:in:size:)``), read alone: what a `ctx` member names is a line that
    /// leaves nothing out. Nil when there is no such line or it cannot be read alone.
    static func record(withSequence sequence: Int64, in file: FileDescriptor) -> LedgerRecord? {
        guard let size = try? file.size(), let line = try? line(withSequence: sequence, in: file, size: size) else { return nil }
        return try? LedgerCodec.decode(line)
    }
}

/// The index of the first `byte` in `b[from..<to]`, by `memchr`.
@inline(__always)
func memchrIndex(_ b: UnsafeRawBufferPointer, _ byte: UInt8, from: Int, to: Int) -> Int? {
    guard from < to, let base = b.baseAddress else { return nil }
    guard let p = memchr(base + from, Int32(byte), to - from) else { return nil }
    return base.distance(to: UnsafeRawPointer(p))
}
