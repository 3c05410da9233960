/// Reads image dimensions (and JPEG EXIF orientation) from header bytes only.
enum ImageParser {
    /// JPEG segments before the frame header; real files have a dozen.
    static let maxSegments = 1_000

    static func format(of head: [UInt8]) -> ImageFormat? {
        if head.starts(with: [0xFF, 0xD8, 0xFF]) { return .jpeg }
        if head.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if head.count >= 12 && head.starts(with: Array("RIFF".utf8)) && fourCCString(head[8..<12]) == "WEBP" { return .webp }
        if head.starts(with: Array("BM".utf8)) { return .bmp }
        return nil
    }

    static func probe(_ source: ByteSource, head: [UInt8]) throws(ProbeError) -> ImageProbe {
        guard let format = format(of: head) else {
            throw head.isEmpty ? .empty : .notAnImage(looksLike: describeContent(head))
        }
        var orientation = 1
        let size: (Int, Int)
        switch format {
        case .png:
            let b = Bytes(try source.readExactly(offset: 0, length: 24, what: "the PNG header"), "the PNG header")
            guard try b.fourCC(12) == "IHDR" else { throw .corrupt("the PNG does not start with an IHDR chunk") }
            size = (Int(try b.u32(16)), Int(try b.u32(20)))
        case .bmp:
            let b = Bytes(try source.readExactly(offset: 0, length: 26, what: "the BMP header"), "the BMP header")
            if try b.le32(14) == 12 {
                size = (try b.le16(18), try b.le16(20))
            } else {
                // A negative height means rows are stored top-down; the image is as tall either way.
                size = (Int(try b.lei32(18).magnitude), Int(try b.lei32(22).magnitude))
            }
        case .webp:
            size = try webpSize(Bytes(try source.readExactly(offset: 0, length: 30, what: "the WEBP header"), "the WEBP header"))
        case .jpeg:
            (size, orientation) = try jpegSize(source)
        }
        guard size.0 > 0, size.1 > 0 else { throw .corrupt("the image states a width or height of 0") }
        let swap = orientation >= 5
        return ImageProbe(format: format, width: swap ? size.1 : size.0, height: swap ? size.0 : size.1,
                          storedWidth: size.0, storedHeight: size.1, orientation: orientation,
                          sizeBytes: source.size, bytesRead: source.bytesRead, requests: source.requests)
    }

    static func webpSize(_ b: Bytes) throws(ProbeError) -> (Int, Int) {
        switch try b.fourCC(12) {
        case "VP8 ":
            guard try b.be(23, 3) == 0x9D012A else { throw .corrupt("the WEBP VP8 frame has no start code") }
            return (try b.le16(26) & 0x3FFF, try b.le16(28) & 0x3FFF)
        case "VP8L":
            guard try b.u8(20) == 0x2F else { throw .corrupt("the WEBP VP8L frame has no signature") }
            let bits = try b.le32(21)
            return (Int(bits & 0x3FFF) + 1, Int((bits >> 14) & 0x3FFF) + 1)
        case "VP8X":
            return (Int(try b.le(24, 3)) + 1, Int(try b.le(27, 3)) + 1)
        case let other:
            throw .corrupt("the WEBP starts with an unknown '\(other)' chunk")
        }
    }

    /// Walks JPEG segments to the frame header (SOFn), noting the EXIF orientation on the way.
    static func jpegSize(_ source: ByteSource) throws(ProbeError) -> ((Int, Int), Int) {
        var offset: Int64 = 2
        var orientation = 1
        for _ in 0..<maxSegments {
            let b = Bytes(try source.read(offset: offset, length: 4), "a JPEG segment header")
            guard try b.u8(0) == 0xFF else { throw .corrupt("a JPEG segment at byte \(offset) does not start with a marker") }
            let marker = try b.u8(1)
            if marker == 0xFF { offset += 1; continue }  // fill byte
            if (0xD0...0xD7).contains(marker) || marker == 0x01 { offset += 2; continue }  // no length
            if marker == 0xD9 || marker == 0xDA { throw .corrupt("the JPEG has image data before any frame header") }
            let length = try b.u16(2)
            guard length >= 2 else { throw .corrupt("the JPEG segment at byte \(offset) states a length of \(length), shorter than its own length field") }
            let isFrame = (0xC0...0xCF).contains(marker) && ![0xC4, 0xC8, 0xCC].contains(marker)
            if isFrame {
                let f = Bytes(try source.readExactly(offset: offset + 4, length: 5, what: "the JPEG frame header"), "the JPEG frame header")
                return ((try f.u16(3), try f.u16(1)), orientation)
            }
            if marker == 0xE1 {
                let segment = try source.readExactly(offset: offset + 4, length: length - 2, what: "the JPEG EXIF segment")
                orientation = exifOrientation(segment) ?? orientation
            }
            offset += 2 + Int64(length)
        }
        throw .corrupt("no JPEG frame header within the first \(maxSegments) segments")
    }

    /// The orientation tag (0x0112) of IFD0 in an APP1 "Exif" segment, or nil.
    static func exifOrientation(_ segment: [UInt8]) -> Int? {
        guard segment.starts(with: Array("Exif\0\0".utf8)) else { return nil }
        let tiff = Bytes(Array(segment.dropFirst(6)), "the EXIF block")
        guard let order = try? tiff.be(0, 2) else { return nil }
        let little = order == 0x4949  // "II"
        func u16(_ o: Int) throws(ProbeError) -> Int { little ? try tiff.le16(o) : try tiff.u16(o) }
        func u32(_ o: Int) throws(ProbeError) -> Int64 { little ? try tiff.le32(o) : try tiff.u32(o) }
        do {
            let ifd = Int(try u32(4))
            let count = try u16(ifd)
            for i in 0..<count {
                let entry = ifd + 2 + i * 12
                if try u16(entry) == 0x0112 {
                    let value = try u16(entry + 8)
                    return (1...8).contains(value) ? value : nil
                }
            }
        } catch {
            return nil  // a broken EXIF block does not make the image unusable
        }
        return nil
    }
}
