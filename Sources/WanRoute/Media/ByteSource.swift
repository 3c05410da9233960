import Foundation

/// The largest file size or offset any byte source reports (1 PiB). A server claiming more
/// (`Content-Range: bytes 0-99/9223372036854775807`) is refused, so every offset + length a
/// parser computes stays far inside Int64.
let maximumFileBytes: Int64 = 1 << 50

/// Random access to a file's bytes wherever it lives, so one parser reads local and remote files.
///
/// Parsers ask only for the ranges they need (box headers, then the index), which is what keeps
/// a 200 MB moov-last probe to a few kilobytes.
protocol ByteSource: AnyObject {
    /// The total size, when known (a remote source learns it from its first answer).
    var size: Int64? { get }
    /// Bytes read or downloaded so far.
    var bytesRead: Int64 { get }
    /// HTTP requests made so far (0 for local sources).
    var requests: Int { get }
    /// Up to `length` bytes from `offset`; fewer only at the end of the file.
    func read(offset: Int64, length: Int) throws(ProbeError) -> [UInt8]
}

extension ByteSource {
    /// Exactly `length` bytes from `offset`, or `.truncated` naming `what` was being read.
    func readExactly(offset: Int64, length: Int, what: String) throws(ProbeError) -> [UInt8] {
        guard offset >= 0, offset <= maximumFileBytes, length >= 0, length <= Int(maximumFileBytes) else { throw .truncated(what) }
        let bytes = try read(offset: offset, length: length)
        guard bytes.count == length else { throw .truncated(what) }
        return bytes
    }
}

/// A local file read with seeks, so skipped media data is never read.
final class FileByteSource: ByteSource {
    private let handle: FileHandle
    private let maxBytes: Int64
    let size: Int64?
    private(set) var bytesRead: Int64 = 0
    var requests: Int { 0 }

    init(url: URL, maxBytes: Int64) throws(ProbeError) {
        // Opened without blocking and checked to be a regular file: a FIFO would wait forever for
        // a writer, and a device (/dev/zero) never ends and cannot seek.
        switch LocalFile.open(url.path) {
        case .failure(let why):
            throw .io("\(url.path) \(why)")
        case .success(let opened):
            guard let size = opened.size else {
                close(opened.descriptor)
                throw .io("\(url.path) is a device, not a file")
            }
            handle = FileHandle(fileDescriptor: opened.descriptor, closeOnDealloc: true)
            self.size = size
        }
        self.maxBytes = maxBytes
    }

    deinit { try? handle.close() }

    func read(offset: Int64, length: Int) throws(ProbeError) -> [UInt8] {
        guard let size, offset >= 0, length > 0, offset < size else { return [] }
        let count = Int(min(Int64(length), size - offset))
        guard bytesRead + Int64(count) <= maxBytes else { throw .tooManyBytes(limit: maxBytes) }
        do {
            try handle.seek(toOffset: UInt64(offset))
            let data = try handle.read(upToCount: count) ?? Data()
            bytesRead += Int64(data.count)
            return [UInt8](data)
        } catch {
            throw .io("reading \(count) bytes at offset \(offset) failed (\(error.localizedDescription))")
        }
    }
}

/// Bytes already in memory: tests, fuzzing, and callers that hold an upload buffer.
final class MemoryByteSource: ByteSource {
    private let bytes: [UInt8]
    private let maxBytes: Int64
    private(set) var bytesRead: Int64 = 0
    var size: Int64? { Int64(bytes.count) }
    var requests: Int { 0 }

    init(_ bytes: [UInt8], maxBytes: Int64 = ProbeOptions().maxBytes) {
        self.bytes = bytes
        self.maxBytes = maxBytes
    }

    func read(offset: Int64, length: Int) throws(ProbeError) -> [UInt8] {
        guard offset >= 0, length > 0, offset < Int64(bytes.count) else { return [] }
        let end = Int(min(Int64(bytes.count), offset + Int64(length)))
        let slice = bytes[Int(offset)..<end]
        guard bytesRead + Int64(slice.count) <= maxBytes else { throw .tooManyBytes(limit: maxBytes) }
        bytesRead += Int64(slice.count)
        return Array(slice)
    }
}

/// Big-endian and little-endian field access with bounds checks, for parsing a buffered box.
struct Bytes {
    let data: [UInt8]
    /// What is being parsed, for the `.truncated` message.
    let what: String

    init(_ data: [UInt8], _ what: String) {
        self.data = data
        self.what = what
    }

    var count: Int { data.count }

    func has(_ offset: Int, _ length: Int) -> Bool {
        offset >= 0 && length >= 0 && offset <= data.count - length
    }

    func be(_ offset: Int, _ length: Int) throws(ProbeError) -> UInt64 {
        guard has(offset, length) else { throw .truncated(what) }
        var v: UInt64 = 0
        for i in 0..<length { v = v << 8 | UInt64(data[offset + i]) }
        return v
    }

    func le(_ offset: Int, _ length: Int) throws(ProbeError) -> UInt64 {
        guard has(offset, length) else { throw .truncated(what) }
        var v: UInt64 = 0
        for i in stride(from: length - 1, through: 0, by: -1) { v = v << 8 | UInt64(data[offset + i]) }
        return v
    }

    func u8(_ o: Int) throws(ProbeError) -> Int { Int(try be(o, 1)) }
    func u16(_ o: Int) throws(ProbeError) -> Int { Int(try be(o, 2)) }
    func u32(_ o: Int) throws(ProbeError) -> Int64 { Int64(try be(o, 4)) }
    func i32(_ o: Int) throws(ProbeError) -> Int64 { Int64(Int32(truncatingIfNeeded: try be(o, 4))) }
    /// A 64-bit field; values above Int64.max are refused rather than wrapped negative.
    func u64(_ o: Int) throws(ProbeError) -> Int64 {
        let v = try be(o, 8)
        guard v <= UInt64(Int64.max) else { throw .corrupt("a 64-bit field in \(what) is larger than any file") }
        return Int64(v)
    }
    func le16(_ o: Int) throws(ProbeError) -> Int { Int(try le(o, 2)) }
    func le32(_ o: Int) throws(ProbeError) -> Int64 { Int64(try le(o, 4)) }
    func lei32(_ o: Int) throws(ProbeError) -> Int64 { Int64(Int32(truncatingIfNeeded: try le(o, 4))) }

    func fourCC(_ o: Int) throws(ProbeError) -> String {
        guard has(o, 4) else { throw .truncated(what) }
        return fourCCString(data[o..<o + 4])
    }
}

/// Four bytes as text, with non-printable bytes shown as `?` so messages stay readable.
func fourCCString<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    String(bytes.map { (0x20...0x7E).contains($0) ? Character(UnicodeScalar($0)) : "?" })
}

/// What the first bytes of an unrecognised file look like, for "not a video" messages.
func describeContent(_ head: [UInt8]) -> String {
    func starts(_ s: String) -> Bool { head.starts(with: Array(s.utf8)) }
    if head.isEmpty { return "is empty" }
    if head.allSatisfy({ $0 == 0 }) { return "contains only zero bytes" }
    if head.starts(with: [0xFF, 0xD8, 0xFF]) { return "looks like a JPEG image" }
    if head.starts(with: [0x89, 0x50, 0x4E, 0x47]) { return "looks like a PNG image" }
    if starts("GIF8") { return "looks like a GIF image" }
    if starts("BM") && head.count >= 14 { return "looks like a BMP image" }
    if starts("RIFF") && head.count >= 12 {
        let kind = fourCCString(head[8..<12])
        return kind == "WEBP" ? "looks like a WEBP image" : kind == "AVI " ? "looks like an AVI video" : "looks like a RIFF '\(kind)' file"
    }
    if head.starts(with: [0x1A, 0x45, 0xDF, 0xA3]) { return "looks like a Matroska/WebM video" }
    if starts("FLV") { return "looks like a Flash (FLV) video" }
    if head.count >= 189 && head[0] == 0x47 && head[188] == 0x47 { return "looks like an MPEG transport stream" }
    if head.count >= 8 && fourCCString(head[4..<8]) == "ftyp" { return "looks like an ISO media file" }
    if starts("ID3") || starts("fLaC") || starts("OggS") { return "looks like an audio file" }
    if starts("%PDF") { return "looks like a PDF document" }
    if starts("PK\u{3}\u{4}") { return "looks like a ZIP archive" }
    let sample = head.prefix(512)
    let printable = sample.filter { (0x20...0x7E).contains($0) || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D || $0 >= 0x80 }
    if printable.count * 100 >= sample.count * 95 {
        let text = String(decoding: sample.prefix(24), as: UTF8.self)
            .map { $0.isNewline || $0 == "\t" ? " " : $0 }
        return "looks like text (starts with \"\(String(text))\")"
    }
    let hex = head.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
    return "starts with bytes \(hex), which match no known format"
}
