/// Reads RIFF AVI headers: the `hdrl` list (avih, then strh/strf per stream) at the file's start.
enum AVIParser {
    /// Real AVIs have a handful of top-level chunks before `hdrl`; garbage stops here.
    static let maxChunks = 10_000

    static func sniff(_ head: [UInt8]) -> Bool {
        head.count >= 12 && head.starts(with: Array("RIFF".utf8)) && fourCCString(head[8..<12]) == "AVI "
    }

    /// One RIFF chunk inside a buffer.
    struct Chunk {
        var id: String
        var body: Bytes
    }

    /// The chunks of a buffered list body; sizes are little-endian and padded to even lengths.
    static func chunks(_ b: Bytes) throws(ProbeError) -> [Chunk] {
        var result: [Chunk] = []
        var at = 0
        while at + 8 <= b.count {
            guard result.count < maxChunks else { throw .tooManyBoxes(limit: maxChunks) }
            let id = try b.fourCC(at)
            let size = try b.le32(at + 4)
            guard size <= Int64(b.count - at - 8) else {
                throw .boxTooLarge(type: id, offset: Int64(at), size: size, available: Int64(b.count - at - 8))
            }
            result.append(Chunk(id: id, body: Bytes(Array(b.data[(at + 8)..<(at + 8 + Int(size))]), "the '\(id)' chunk")))
            at += 8 + Int(size) + Int(size & 1)
        }
        return result
    }

    static func probe(_ source: ByteSource, maxBytes: Int64) throws(ProbeError) -> VideoProbe {
        var offset: Int64 = 12
        var hdrl: Bytes?
        var movieDataBytes: Int64?
        for _ in 0..<maxChunks {
            let head = try source.read(offset: offset, length: 12)
            guard head.count >= 8 else { break }
            let b = Bytes(head, "a RIFF chunk header")
            let id = try b.fourCC(0)
            let size = try b.le32(4)
            if let total = source.size, size > total - offset - 8 {
                throw .boxTooLarge(type: id, offset: offset, size: size, available: total - offset - 8)
            }
            if id == "LIST", head.count == 12, hdrl == nil, try b.fourCC(8) == "hdrl" {
                guard size <= maxBytes else { throw .tooManyBytes(limit: maxBytes) }
                guard size >= 4 else { throw .invalidBoxSize(type: "hdrl", offset: offset, size: size) }
                let body = try source.readExactly(offset: offset + 12, length: Int(size) - 4, what: "the 'hdrl' list")
                hdrl = Bytes(body, "the 'hdrl' list")
            } else if id == "LIST", head.count == 12, try b.fourCC(8) == "movi" {
                // The media data follows the headers; only its size is needed, never its bytes.
                movieDataBytes = size - 4
                break
            }
            offset += 8 + size + (size & 1)
        }
        guard let hdrl else { throw .corrupt("the AVI has no 'hdrl' header list") }
        // Headers with no frames after them: nothing a provider could generate from or bill.
        guard let movieDataBytes, movieDataBytes > 0 else { throw .noMediaData }

        var avih: Bytes?
        var video: (strh: Bytes, strf: Bytes?)?
        var longestStream: Seconds?
        for chunk in try chunks(hdrl) {
            if chunk.id == "avih" { avih = chunk.body }
            if chunk.id == "LIST", try chunk.body.fourCC(0) == "strl" {
                let inner = try chunks(Bytes(Array(chunk.body.data.dropFirst(4)), "the 'strl' list"))
                guard let strh = inner.first(where: { $0.id == "strh" })?.body else { continue }
                if let d = try streamDuration(strh), d > (longestStream ?? Seconds(micros: 0)) { longestStream = d }
                if video == nil, try strh.fourCC(0) == "vids" {
                    video = (strh, inner.first(where: { $0.id == "strf" })?.body)
                }
            }
        }
        guard let video else { throw .noVideoTrack }
        let scale = try video.strh.le32(20)
        let rate = try video.strh.le32(24)

        var videoDuration: Seconds
        var fps: Double?
        if let d = try streamDuration(video.strh) {
            videoDuration = d
            fps = Double(rate) / Double(scale)
        } else if let avih, try avih.le32(0) > 0 {
            let microsPerFrame = try avih.le32(0)
            let (micros, overflow) = try avih.le32(16).multipliedReportingOverflow(by: microsPerFrame)
            guard !overflow else { throw .corrupt("the AVI frame count overflows") }
            videoDuration = Seconds(micros: micros)
            fps = 1_000_000 / Double(microsPerFrame)
        } else {
            throw .corrupt("the AVI stream header states no frame rate")
        }
        // The container's duration is its longest stream (as ffprobe reports it).
        let duration = max(videoDuration, longestStream ?? videoDuration)

        var width = 0
        var height = 0
        var codec: String? = try video.strh.fourCC(4)
        if let strf = video.strf, strf.has(0, 20) {
            width = Int(try strf.lei32(4).magnitude)
            height = Int(try strf.lei32(8).magnitude)  // negative = top-down rows
            if try strf.le32(16) >= 0x2020_2020 { codec = try strf.fourCC(16) }
        } else if let avih {
            width = Int(try avih.le32(32))
            height = Int(try avih.le32(36))
        }
        if codec?.allSatisfy({ $0 == "?" || $0 == " " }) == true { codec = nil }
        return VideoProbe(container: .avi, layout: .riff, duration: duration, videoDuration: videoDuration, width: width, height: height,
                          storedWidth: width, storedHeight: height, rotation: 0, fps: fps, codec: codec,
                          sizeBytes: source.size, bytesRead: source.bytesRead, requests: source.requests)
    }

    /// A stream's length from its header, `(start + length) × scale / rate` seconds; nil when the
    /// header states no rate.
    static func streamDuration(_ strh: Bytes) throws(ProbeError) -> Seconds? {
        let scale = try strh.le32(20)
        let rate = try strh.le32(24)
        guard scale > 0, rate > 0 else { return nil }
        let start = strh.has(28, 4) ? try strh.le32(28) : 0
        let length = try strh.le32(32)
        let (frames, o1) = start.addingReportingOverflow(length)
        let (value, o2) = frames.multipliedReportingOverflow(by: scale)
        guard !o1, !o2 else { throw .corrupt("the AVI stream length overflows") }
        return Seconds(value: value, timescale: rate)
    }
}
