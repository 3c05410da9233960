import Foundation
import WanRoute

/// Probes a 200 MB sparse moov-last MP4 repeatedly and reports the median time and bytes read,
/// then the request counts of remote probes against a loopback server.
func runProbeBenchmarks() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("wanroute-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let url = dir.appendingPathComponent("moov-last-200MB.mp4")
    let total: Int64 = 200_000_000
    let moov = BenchMP4.moov()
    let head = BenchMP4.box("ftyp", Array("isom".utf8) + BenchMP4.be32(512) + Array("isomiso2".utf8))
    _ = FileManager.default.createFile(atPath: url.path, contents: Data(head + BenchMP4.be32(1) + Array("mdat".utf8)
        + BenchMP4.be64(UInt64(total - Int64(head.count) - Int64(moov.count)))))
    let handle = try FileHandle(forWritingTo: url)
    try handle.truncate(atOffset: UInt64(total) - UInt64(moov.count))
    try handle.seekToEnd()
    try handle.write(contentsOf: Data(moov))
    try handle.close()

    let runs = 1000
    var times: [UInt64] = []
    var last: VideoProbe?
    for _ in 0..<runs {
        let start = DispatchTime.now().uptimeNanoseconds
        last = try MediaProbe.probeVideo(url.path)
        times.append(DispatchTime.now().uptimeNanoseconds - start)
    }
    times.sort()
    let p = last!
    print("probe local 200 MB moov-last MP4: median \(Double(times[runs / 2]) / 1000) µs over \(runs) runs, "
          + "p90 \(Double(times[runs * 9 / 10]) / 1000) µs, bytes read \(p.bytesRead), duration \(p.duration.decimalString) s")

    // Remote: the same layouts served over loopback with Range support.
    let moovFirst = head + moov + BenchMP4.box("mdat", [UInt8](repeating: 0, count: 5_000_000))
    let moovLast = head + BenchMP4.box("mdat", [UInt8](repeating: 0, count: 5_000_000)) + moov
    let files = ["/first.mp4": moovFirst, "/last.mp4": moovLast]
    let server = try LoopbackHTTPServer { request in
        guard let file = files[request.path] else { return .text(404, "") }
        guard let range = request.headers["Range"], range.hasPrefix("bytes=") else { return HTTPResponse(status: 200, body: file) }
        let parts = range.dropFirst(6).split(separator: "-").compactMap { Int($0) }
        let start = parts.first ?? 0
        guard start < file.count else { return HTTPResponse(status: 416, headers: ["Content-Range": "bytes */\(file.count)"]) }
        let end = min(file.count - 1, parts.count > 1 ? parts[1] : file.count - 1)
        return HTTPResponse(status: 206, headers: ["Content-Range": "bytes \(start)-\(end)/\(file.count)"], body: Array(file[start...end]))
    }
    defer { server.stop() }
    for path in ["/first.mp4", "/last.mp4"] {
        let r = try MediaProbe.probeVideo(server.baseURL + path)
        print("probe remote 5 MB \(r.layout.rawValue) MP4: \(r.requests) request(s), \(r.bytesRead) bytes downloaded")
    }
}

/// Just enough MP4 boxes for the benchmark file: one 4 s, 25 fps video track.
enum BenchMP4 {
    static func be32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
    static func be64(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.bigEndian) { Array($0) } }
    static func box(_ type: String, _ body: [UInt8]) -> [UInt8] { be32(UInt32(8 + body.count)) + Array(type.utf8) + body }
    static func full(_ type: String, _ body: [UInt8]) -> [UInt8] { box(type, [0, 0, 0, 0] + body) }
    static func zeros(_ n: Int) -> [UInt8] { [UInt8](repeating: 0, count: n) }

    static func moov() -> [UInt8] {
        let matrix: [UInt32] = [0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x4000_0000]
        let mvhd = full("mvhd", zeros(8) + be32(600) + be32(2400) + zeros(80))
        let tkhd = full("tkhd", zeros(8) + be32(1) + zeros(4) + be32(2400) + zeros(16) + matrix.flatMap(be32) + be32(1920 << 16) + be32(1080 << 16))
        let entry = box("avc1", zeros(6) + [0, 1] + zeros(16) + [0x07, 0x80, 0x04, 0x38] + zeros(50))
        let stbl = box("stbl", full("stsd", be32(1) + entry) + full("stsz", be32(0) + be32(100) + zeros(400)))
        let mdia = box("mdia", full("mdhd", zeros(8) + be32(12800) + be32(51200) + zeros(4))
                       + full("hdlr", zeros(4) + Array("vide".utf8) + zeros(13)) + box("minf", stbl))
        return box("moov", mvhd + box("trak", tkhd + mdia))
    }
}
