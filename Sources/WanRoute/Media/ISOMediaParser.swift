/// Reads MP4, MOV and M4V (ISO base media / QuickTime) headers: top-level boxes by seeking,
/// then the moov (and, for fragmented files, moof) boxes from memory.
enum ISOMediaParser {
    /// No real file has this many boxes; a garbage or looping file is stopped here.
    static let maxBoxes = 200_000
    /// The deepest box path read is moov/trak/mdia/minf/stbl/stsd: far below this.
    static let maxDepth = 12
    /// Top-level box types that may open a QuickTime file that has no ftyp.
    static let quickTimeOpeners: Set<String> = ["moov", "mdat", "wide", "free", "skip", "pnot"]

    /// Whether the first bytes look like an ISO/QuickTime file (ftyp, or a known first box).
    static func sniff(_ head: [UInt8]) -> Bool {
        guard head.count >= 8 else { return false }
        let type = fourCCString(head[4..<8])
        let size32 = Bytes(head, "").be32OrZero(0)
        return type == "ftyp" || (quickTimeOpeners.contains(type) && (size32 == 0 || size32 == 1 || size32 >= 8))
    }

    /// A box header: its type, where its body starts and where it ends (nil = unknown end).
    struct Header {
        var type: String
        var headerSize: Int
        var end: Int64?
    }

    /// Parses the header at `head` (the first bytes of a box at `offset`); `limit` is where the
    /// enclosing file or box ends, when known.
    static func header(_ head: [UInt8], offset: Int64, limit: Int64?) throws(ProbeError) -> Header {
        let b = Bytes(head, "a box header")
        let size32 = try b.u32(0)
        let type = try b.fourCC(4)
        var headerSize = 8
        var size: Int64?
        if size32 == 1 {
            let large = try b.be(8, 8)
            guard large <= UInt64(Int64.max) else {
                throw .boxTooLarge(type: type, offset: offset, size: Int64.max, available: limit.map { $0 - offset } ?? 0)
            }
            size = Int64(large)
            headerSize = 16
        } else if size32 != 0 {
            size = size32
        }
        if type == "uuid" { headerSize += 16 }
        guard let size else { return Header(type: type, headerSize: headerSize, end: limit) }
        // A size below the header would not advance the walk: the classic loop.
        guard size >= Int64(headerSize) else { throw .invalidBoxSize(type: type, offset: offset, size: size) }
        if let limit, size > limit - offset {
            throw .boxTooLarge(type: type, offset: offset, size: size, available: limit - offset)
        }
        // Without a known limit the end must still be a position a file can have.
        let (end, overflow) = offset.addingReportingOverflow(size)
        guard !overflow, end <= maximumFileBytes else {
            throw .boxTooLarge(type: type, offset: offset, size: size, available: limit.map { $0 - offset } ?? 0)
        }
        return Header(type: type, headerSize: headerSize, end: end)
    }

    /// A child box inside a buffer: its type and body range.
    struct Child {
        var type: String
        var body: Bytes
    }

    /// The child boxes of `buffer`, counting each against `budget`.
    static func children(_ buffer: Bytes, depth: Int, budget: inout Int) throws(ProbeError) -> [Child] {
        guard depth <= maxDepth else { throw .nestingTooDeep(limit: maxDepth) }
        var result: [Child] = []
        var at = 0
        while at + 8 <= buffer.count {
            budget += 1
            guard budget <= maxBoxes else { throw .tooManyBoxes(limit: maxBoxes) }
            let head = Array(buffer.data[at..<min(buffer.count, at + 32)])
            let h = try header(head, offset: Int64(at), limit: Int64(buffer.count))
            let end = Int(h.end ?? Int64(buffer.count))
            guard at + h.headerSize <= end else { throw .truncated("the '\(h.type)' box") }
            result.append(Child(type: h.type, body: Bytes(Array(buffer.data[(at + h.headerSize)..<end]), "the '\(h.type)' box")))
            at = end
        }
        return result
    }

    /// What a track's headers say.
    struct Track {
        var id: Int64 = 0
        var handler = ""
        var tkhdDuration: Int64 = 0
        var matrix: (a: Int64, b: Int64, c: Int64, d: Int64) = (0x10000, 0, 0, 0x10000)
        var tkhdWidth = 0
        var tkhdHeight = 0
        var editDuration: Int64 = 0
        var mediaTimescale: Int64 = 0
        var mediaDuration: Int64 = 0
        var codec: String?
        var entryWidth = 0
        var entryHeight = 0
        var sampleCount: Int64 = 0
    }

    /// What the moov says.
    struct Movie {
        var timescale: Int64 = 0
        var duration: Int64 = 0
        var tracks: [Track] = []
        var fragmented = false
        var fragmentDuration: Int64 = 0
        var trexDurations: [Int64: Int64] = [:]
    }

    /// A v0 duration of all ones means "unknown"; treat it as absent.
    static func known(_ v: Int64, version: Int) -> Int64 {
        version == 0 && v == 0xFFFF_FFFF ? 0 : v
    }

    /// The timescale and duration of an `mvhd` or `mdhd` body, whose layout its version picks.
    static func timescaleAndDuration(_ b: Bytes) throws(ProbeError) -> (timescale: Int64, duration: Int64) {
        let v = try b.u8(0)
        return (try b.u32(v == 1 ? 20 : 12), known(v == 1 ? try b.u64(24) : try b.u32(16), version: v))
    }

    static func parseMovie(_ moov: Bytes) throws(ProbeError) -> Movie {
        var budget = 0
        var movie = Movie()
        for box in try children(moov, depth: 1, budget: &budget) {
            let b = box.body
            switch box.type {
            case "mvhd":
                (movie.timescale, movie.duration) = try timescaleAndDuration(b)
            case "trak":
                movie.tracks.append(try parseTrack(b, budget: &budget))
            case "mvex":
                movie.fragmented = true
                for m in try children(b, depth: 2, budget: &budget) {
                    if m.type == "mehd" {
                        movie.fragmentDuration = try m.body.u8(0) == 1 ? m.body.u64(4) : m.body.u32(4)
                    } else if m.type == "trex" {
                        movie.trexDurations[try m.body.u32(4)] = try m.body.u32(12)
                    }
                }
            default: break
            }
        }
        return movie
    }

    static func parseTrack(_ trak: Bytes, budget: inout Int) throws(ProbeError) -> Track {
        var t = Track()
        for box in try children(trak, depth: 2, budget: &budget) {
            let b = box.body
            switch box.type {
            case "tkhd":
                let v = try b.u8(0)
                let base = v == 1 ? 36 : 24
                t.id = try b.u32(v == 1 ? 20 : 12)
                t.tkhdDuration = known(v == 1 ? try b.u64(28) : try b.u32(20), version: v)
                let m = base + 16
                t.matrix = (try b.i32(m), try b.i32(m + 4), try b.i32(m + 12), try b.i32(m + 16))
                t.tkhdWidth = Int(try b.u32(base + 52) >> 16)
                t.tkhdHeight = Int(try b.u32(base + 56) >> 16)
            case "edts":
                for e in try children(b, depth: 3, budget: &budget) where e.type == "elst" {
                    t.editDuration = try editListDuration(e.body)
                }
            case "mdia":
                try parseMedia(b, into: &t, budget: &budget)
            default: break
            }
        }
        return t
    }

    /// The presentation length of an edit list: the sum of its segment durations (movie timescale),
    /// empty edits (delays) included, since they are part of what plays.
    static func editListDuration(_ b: Bytes) throws(ProbeError) -> Int64 {
        let v = try b.u8(0)
        let count = try b.u32(4)
        let entrySize = v == 1 ? 20 : 12
        guard count <= Int64(b.count - 8) / Int64(entrySize) else {
            throw .corrupt("the edit list claims \(count) entries but holds room for \((b.count - 8) / entrySize)")
        }
        var total: Int64 = 0
        for i in 0..<Int(count) {
            let d = v == 1 ? try b.u64(8 + i * entrySize) : try b.u32(8 + i * entrySize)
            let (sum, overflow) = total.addingReportingOverflow(d)
            guard !overflow else { throw .corrupt("the edit list durations overflow") }
            total = sum
        }
        return total
    }

    static func parseMedia(_ mdia: Bytes, into t: inout Track, budget: inout Int) throws(ProbeError) {
        for box in try children(mdia, depth: 3, budget: &budget) {
            let b = box.body
            switch box.type {
            case "mdhd":
                (t.mediaTimescale, t.mediaDuration) = try timescaleAndDuration(b)
            case "hdlr":
                t.handler = try b.fourCC(8)
            case "minf":
                for m in try children(b, depth: 4, budget: &budget) where m.type == "stbl" {
                    for s in try children(m.body, depth: 5, budget: &budget) {
                        try parseSampleTable(s, into: &t)
                    }
                }
            default: break
            }
        }
    }

    static func parseSampleTable(_ box: Child, into t: inout Track) throws(ProbeError) {
        let b = box.body
        switch box.type {
        case "stsd":
            guard try b.u32(4) > 0, b.has(8, 8) else { return }
            t.codec = try b.fourCC(12)
            // Visual sample entries keep width and height 32 bytes into the entry; audio entries
            // read garbage here, which is harmless since only the video track's values are used.
            if b.has(40, 4) {
                t.entryWidth = try b.u16(40)
                t.entryHeight = try b.u16(42)
            }
        case "stsz", "stz2":
            let fixed = box.type == "stsz" ? try b.u32(4) : 1
            let count = try b.u32(8)
            let bitsPerEntry = box.type == "stsz" ? 32 : max(4, try b.u8(7))
            // With per-sample sizes the table must hold every entry; a larger count is a lie.
            if fixed == 0 || box.type == "stz2" {
                let room = Int64(b.count - 12) * 8 / Int64(bitsPerEntry)
                guard count <= room else {
                    throw .corrupt("the sample size table claims \(count) samples but holds room for \(room)")
                }
            }
            t.sampleCount = count
        case "stts" where t.sampleCount == 0:
            let count = try b.u32(4)
            guard count <= Int64(b.count - 8) / 8 else {
                throw .corrupt("the time-to-sample table claims \(count) entries but holds room for \((b.count - 8) / 8)")
            }
            var samples: Int64 = 0
            for i in 0..<Int(count) { samples += try b.u32(8 + i * 8) }
            t.sampleCount = samples
        default: break
        }
    }

    /// Running totals of one track's fragments: samples and duration in the track's timescale.
    struct FragmentTotals {
        var samples: Int64 = 0
        var duration: Int64 = 0
    }

    /// Adds one moof's samples and durations, per track, to the running totals.
    static func addFragment(_ moof: Bytes, trexDurations: [Int64: Int64], totals: inout [Int64: FragmentTotals]) throws(ProbeError) {
        var budget = 0
        for traf in try children(moof, depth: 1, budget: &budget) where traf.type == "traf" {
            var trackID: Int64?
            var defaultDuration: Int64 = 0
            for box in try children(traf.body, depth: 2, budget: &budget) {
                let b = box.body
                if box.type == "tfhd" {
                    let flags = try b.u32(0) & 0xFF_FFFF
                    let id = try b.u32(4)
                    trackID = id
                    defaultDuration = trexDurations[id] ?? 0
                    var at = 8
                    if flags & 0x01 != 0 { at += 8 }
                    if flags & 0x02 != 0 { at += 4 }
                    if flags & 0x08 != 0 { defaultDuration = try b.u32(at) }
                } else if box.type == "trun", let trackID {
                    let flags = try b.u32(0) & 0xFF_FFFF
                    let count = try b.u32(4)
                    var at = 8
                    if flags & 0x001 != 0 { at += 4 }
                    if flags & 0x004 != 0 { at += 4 }
                    let fields = [0x100, 0x200, 0x400, 0x800].filter { flags & Int64($0) != 0 }.count
                    let stride = fields * 4
                    if stride > 0 {
                        guard count <= Int64(max(0, b.count - at)) / Int64(stride) else {
                            throw .corrupt("a fragment's sample run claims \(count) samples but holds room for \(max(0, b.count - at) / stride)")
                        }
                    }
                    var runDuration: Int64 = 0
                    if flags & 0x100 != 0 {
                        for i in 0..<Int(count) { runDuration += try b.u32(at + i * stride) }
                    } else {
                        let (product, overflow) = count.multipliedReportingOverflow(by: defaultDuration)
                        guard !overflow else { throw .corrupt("a fragment's duration overflows") }
                        runDuration = product
                    }
                    var t = totals[trackID] ?? FragmentTotals()
                    let (d, o1) = t.duration.addingReportingOverflow(runDuration)
                    let (s, o2) = t.samples.addingReportingOverflow(count)
                    guard !o1, !o2 else { throw .corrupt("the fragments' durations overflow") }
                    t.duration = d
                    t.samples = s
                    totals[trackID] = t
                }
            }
        }
    }

    /// Probes an ISO/QuickTime file: walks top-level boxes, reads moov, and moofs when needed.
    static func probe(_ source: ByteSource, maxBytes: Int64) throws(ProbeError) -> VideoProbe {
        var container = VideoContainer.mov  // QuickTime files without ftyp stay .mov
        var offset: Int64 = 0
        var boxes = 0
        var movie: Movie?
        var layout = VideoLayout.moovFirst
        var sawMdat = false
        var videoTrack: Track?
        var fragments: [Int64: FragmentTotals] = [:]

        walk: while source.size.map({ offset < $0 }) ?? true {
            let head = try source.read(offset: offset, length: 32)
            if head.isEmpty { break }
            boxes += 1
            guard boxes <= maxBoxes else { throw .tooManyBoxes(limit: maxBoxes) }
            let h = try header(head, offset: offset, limit: source.size)
            guard let end = h.end else {
                // Size 0 ("to end of file") from a server that did not say how long the file is.
                if h.type == "mdat" && movie != nil { break }
                throw .corrupt("the '\(h.type)' box runs to the end of a file of unknown length")
            }
            let bodyStart = offset + Int64(h.headerSize)
            guard bodyStart <= end else { throw .truncated("the '\(h.type)' box") }
            switch h.type {
            case "ftyp" where offset == 0:
                let brand = try Bytes(try source.readExactly(offset: bodyStart, length: 4, what: "the 'ftyp' box"), "ftyp").fourCC(0)
                switch brand {
                case "qt  ": container = .mov
                case "M4V ", "M4VH", "M4VP": container = .m4v
                default: container = .mp4
                }
            case "moov" where movie == nil:
                guard end - bodyStart <= maxBytes else { throw .tooManyBytes(limit: maxBytes) }
                let body = try source.readExactly(offset: bodyStart, length: Int(end - bodyStart), what: "the 'moov' box")
                let m = try parseMovie(Bytes(body, "the 'moov' box"))
                movie = m
                guard let video = m.tracks.first(where: { $0.handler == "vide" }) else { throw .noVideoTrack }
                videoTrack = video
                layout = m.fragmented ? .fragmented : sawMdat ? .moovLast : .moovFirst
                if !m.fragmented { break walk }
            case "moof":
                guard let m = movie, m.fragmented else { break }
                guard end - bodyStart <= maxBytes else { throw .tooManyBytes(limit: maxBytes) }
                let body = try source.readExactly(offset: bodyStart, length: Int(end - bodyStart), what: "the 'moof' box")
                try addFragment(Bytes(body, "the 'moof' box"), trexDurations: m.trexDurations, totals: &fragments)
                // With the total in mehd, one fragment is enough for the frame rate.
                if m.fragmentDuration > 0 { break walk }
            case "mdat":
                sawMdat = true
            default: break
            }
            offset = end
        }

        guard let movie, let video = videoTrack else {
            throw .corrupt("there is no 'moov' index box (the recording may not have been finished)")
        }
        let videoFragments = fragments[video.id] ?? FragmentTotals()
        let (mediaDuration, o1) = video.mediaDuration.addingReportingOverflow(videoFragments.duration)
        let (samples, o2) = video.sampleCount.addingReportingOverflow(videoFragments.samples)
        guard !o1, !o2 else { throw .corrupt("the video track's durations overflow") }
        let videoDuration = try presentationDuration(movie, video, mediaDuration: mediaDuration)
        let duration = try containerDuration(movie, fragments: fragments, videoDuration: videoDuration)
        var fps: Double?
        if samples > 0, mediaDuration > 0, video.mediaTimescale > 0 {
            fps = Double(samples) * Double(video.mediaTimescale) / Double(mediaDuration)
        }
        let rotation = rotationDegrees(video.matrix)
        let storedWidth = video.entryWidth > 0 ? video.entryWidth : video.tkhdWidth
        let storedHeight = video.entryHeight > 0 ? video.entryHeight : video.tkhdHeight
        let swap = rotation == 90 || rotation == 270
        return VideoProbe(container: container, layout: layout, duration: duration, videoDuration: videoDuration,
                          width: swap ? storedHeight : storedWidth, height: swap ? storedWidth : storedHeight,
                          storedWidth: storedWidth, storedHeight: storedHeight, rotation: rotation, fps: fps,
                          codec: video.codec, sizeBytes: source.size, bytesRead: source.bytesRead, requests: source.requests)
    }

    /// The video track's presentation duration, falling back from edit list to track header to
    /// media header to movie header; fragmented files use mehd or the sum of their fragments.
    /// `mediaDuration` is the track's media duration plus its fragments', in its timescale.
    static func presentationDuration(_ m: Movie, _ v: Track, mediaDuration: Int64) throws(ProbeError) -> Seconds {
        if m.fragmented {
            if m.fragmentDuration > 0 && m.timescale > 0 { return Seconds(value: m.fragmentDuration, timescale: m.timescale) }
            if mediaDuration > 0 && v.mediaTimescale > 0 { return Seconds(value: mediaDuration, timescale: v.mediaTimescale) }
        }
        if m.timescale > 0 && v.editDuration > 0 { return Seconds(value: v.editDuration, timescale: m.timescale) }
        if m.timescale > 0 && v.tkhdDuration > 0 { return Seconds(value: v.tkhdDuration, timescale: m.timescale) }
        if v.mediaTimescale > 0 && v.mediaDuration > 0 { return Seconds(value: v.mediaDuration, timescale: v.mediaTimescale) }
        if m.timescale > 0 && m.duration > 0 { return Seconds(value: m.duration, timescale: m.timescale) }
        throw .corrupt("neither the video track nor the movie states a duration")
    }

    /// The container's duration, as ffprobe reports it (`format.duration`) and so as a provider
    /// most likely measures it: the longest track, not the video alone. The movie header states
    /// it; each track's own duration is taken too, so a header that understates never makes the
    /// estimate fall below the bill. Fragmented files: mehd, or the longest track's fragments.
    static func containerDuration(_ m: Movie, fragments: [Int64: FragmentTotals], videoDuration: Seconds) throws(ProbeError) -> Seconds {
        var longest = videoDuration
        func consider(_ value: Int64, _ timescale: Int64) {
            guard value > 0, timescale > 0 else { return }
            let s = Seconds(value: value, timescale: timescale)
            if s > longest { longest = s }
        }
        consider(m.duration, m.timescale)
        if m.fragmented { consider(m.fragmentDuration, m.timescale) }
        for t in m.tracks {
            if t.editDuration > 0 {
                consider(t.editDuration, m.timescale)
            } else if t.tkhdDuration > 0 {
                consider(t.tkhdDuration, m.timescale)
            }
            let (media, overflow) = t.mediaDuration.addingReportingOverflow(fragments[t.id]?.duration ?? 0)
            guard !overflow else { throw .corrupt("a track's durations overflow") }
            if t.editDuration == 0 { consider(media, t.mediaTimescale) }
        }
        return longest
    }

    /// Clockwise rotation of a tkhd matrix (a b / c d in 16.16); anything but a quarter turn is 0.
    static func rotationDegrees(_ m: (a: Int64, b: Int64, c: Int64, d: Int64)) -> Int {
        if m.a == 0 && m.d == 0 {
            if m.b > 0 && m.c < 0 { return 90 }
            if m.b < 0 && m.c > 0 { return 270 }
        } else if m.b == 0 && m.c == 0 && m.a < 0 && m.d < 0 {
            return 180
        }
        return 0
    }
}

extension Bytes {
    /// A big-endian UInt32 or 0 when out of range, for sniffing where errors do not matter.
    func be32OrZero(_ o: Int) -> Int64 { (try? u32(o)) ?? 0 }
}
