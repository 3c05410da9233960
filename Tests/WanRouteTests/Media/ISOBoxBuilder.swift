import Foundation

/// Helpers to hand-build ISO boxes for edge cases.
enum Box {
    static func be32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
    static func be64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
    static func be16(_ v: UInt16) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }

    /// A box with a 32-bit size.
    static func make(_ type: String, _ body: [UInt8]) -> [UInt8] { be32(UInt32(8 + body.count)) + Array(type.utf8) + body }
    /// A box with size 1 and a 64-bit largesize.
    static func large(_ type: String, _ body: [UInt8]) -> [UInt8] { be32(1) + Array(type.utf8) + be64(UInt64(16 + body.count)) + body }
    static func full(_ type: String, version: UInt8, _ body: [UInt8]) -> [UInt8] { make(type, [version, 0, 0, 0] + body) }

    static func ftyp(_ brand: String = "isom") -> [UInt8] { make("ftyp", Array(brand.utf8) + be32(512) + Array("isomiso2".utf8)) }

    static func mvhd(timescale: UInt32, duration: UInt64, version: UInt8 = 0) -> [UInt8] {
        let times = version == 1 ? be64(0) + be64(0) + be32(timescale) + be64(duration)
            : be32(0) + be32(0) + be32(timescale) + be32(UInt32(duration))
        return full("mvhd", version: version, times + [UInt8](repeating: 0, count: 80))
    }

    static func identity() -> [Int32] { [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x4000_0000] }

    static func tkhd(id: UInt32, duration: UInt64, width: UInt32, height: UInt32, matrix: [Int32] = identity(), version: UInt8 = 0) -> [UInt8] {
        let head = version == 1 ? be64(0) + be64(0) + be32(id) + be32(0) + be64(duration)
            : be32(0) + be32(0) + be32(id) + be32(0) + be32(UInt32(duration))
        let matrixBytes = matrix.flatMap { be32(UInt32(bitPattern: $0)) }
        return full("tkhd", version: version, head + [UInt8](repeating: 0, count: 16) + matrixBytes + be32(width << 16) + be32(height << 16))
    }

    static func mdhd(timescale: UInt32, duration: UInt64, version: UInt8 = 0) -> [UInt8] {
        let times = version == 1 ? be64(0) + be64(0) + be32(timescale) + be64(duration)
            : be32(0) + be32(0) + be32(timescale) + be32(UInt32(duration))
        return full("mdhd", version: version, times + [0, 0, 0, 0])
    }

    static func hdlr(_ handler: String) -> [UInt8] { full("hdlr", version: 0, be32(0) + Array(handler.utf8) + [UInt8](repeating: 0, count: 13)) }

    static func elst(_ durations: [UInt64], version: UInt8 = 0) -> [UInt8] {
        let entries = durations.flatMap { d in
            version == 1 ? be64(d) + be64(0) + be32(0x10000) : be32(UInt32(d)) + be32(0) + be32(0x10000)
        }
        return make("edts", full("elst", version: version, be32(UInt32(durations.count)) + entries))
    }

    static func stsd(codec: String, width: UInt16, height: UInt16) -> [UInt8] {
        let entry = make(codec, [UInt8](repeating: 0, count: 6) + be16(1) + [UInt8](repeating: 0, count: 16) + be16(width) + be16(height)
                         + [UInt8](repeating: 0, count: 50))
        return full("stsd", version: 0, be32(1) + entry)
    }

    static func stsz(count: UInt32, entries: Int) -> [UInt8] {
        full("stsz", version: 0, be32(0) + be32(count) + [UInt8](repeating: 0, count: entries * 4))
    }

    /// A complete video trak.
    static func videoTrak(id: UInt32 = 1, tkhdDuration: UInt64, mediaTimescale: UInt32, mediaDuration: UInt64,
                          samples: UInt32, width: UInt16 = 320, height: UInt16 = 180, matrix: [Int32] = identity(),
                          edits: [UInt64]? = nil, version: UInt8 = 0) -> [UInt8] {
        let stbl = make("stbl", stsd(codec: "avc1", width: width, height: height) + stsz(count: samples, entries: Int(samples)))
        let mdia = make("mdia", mdhd(timescale: mediaTimescale, duration: mediaDuration, version: version) + hdlr("vide")
                        + make("minf", stbl))
        return make("trak", tkhd(id: id, duration: tkhdDuration, width: UInt32(width), height: UInt32(height), matrix: matrix, version: version)
                    + (edits.map { elst($0, version: version) } ?? []) + mdia)
    }
}
