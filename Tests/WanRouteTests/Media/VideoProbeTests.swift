import Foundation
import WanRouteTestSupport
import XCTest
@testable import WanRoute

final class VideoProbeTests: XCTestCase {
    func probe(_ name: String) throws -> VideoProbe { try MediaProbe.probeVideo(MediaFixtures.path(name)) }

    func probeBytes(_ bytes: [UInt8]) throws(ProbeError) -> VideoProbe {
        try MediaProbe.probeVideo(source: MemoryByteSource(bytes), options: ProbeOptions())
    }

    func assertProbeError(_ bytes: [UInt8], _ expected: (ProbeError) -> Bool, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let p = try probeBytes(bytes)
            XCTFail("expected an error, got \(p)", file: file, line: line)
        } catch {
            XCTAssertTrue(expected(error), "unexpected error: \(error)", file: file, line: line)
        }
    }

    /// A minimal moov: 600-unit movie timescale, one video track.
    static func moov(version: UInt8 = 0, edits: [UInt64]? = nil, matrix: [Int32] = Box.identity(), large: Bool = false) -> [UInt8] {
        let body = Box.mvhd(timescale: 600, duration: 3000, version: version)
            + Box.videoTrak(tkhdDuration: 2400, mediaTimescale: 12800, mediaDuration: 51200, samples: 100,
                            matrix: matrix, edits: edits, version: version)
        return large ? Box.large("moov", body) : Box.make("moov", body)
    }

    func testFixtures() throws {
        struct Expect { var name: String; var container: VideoContainer; var layout: VideoLayout; var micros: Int64
            var size: (Int, Int); var rotation = 0; var codec: String; var videoMicros: Int64? = nil; var fps = 10.0 }
        let expected = [
            Expect(name: "moov-first.mp4", container: .mp4, layout: .moovFirst, micros: 2_000_000, size: (160, 90), codec: "avc1"),
            Expect(name: "moov-last.mp4", container: .mp4, layout: .moovLast, micros: 2_000_000, size: (160, 90), codec: "avc1"),
            Expect(name: "fragmented.mp4", container: .mp4, layout: .fragmented, micros: 2_000_000, size: (160, 90), codec: "avc1"),
            Expect(name: "movie.mov", container: .mov, layout: .moovLast, micros: 2_000_000, size: (160, 90), codec: "avc1"),
            Expect(name: "clip.m4v", container: .m4v, layout: .moovLast, micros: 2_000_000, size: (160, 90), codec: "avc1"),
            Expect(name: "clip.avi", container: .avi, layout: .riff, micros: 2_000_000, size: (160, 90), codec: "FMP4"),
            Expect(name: "rotated.mp4", container: .mp4, layout: .moovFirst, micros: 2_000_000, size: (90, 160), rotation: 90, codec: "avc1"),
            // Audio outlasts video: the container's duration (what ffprobe's format.duration says,
            // and so what a provider most likely bills) is the audio's; the video's is beside it.
            Expect(name: "long-audio.mp4", container: .mp4, layout: .moovLast, micros: 2_000_000, size: (160, 90), codec: "avc1",
                   videoMicros: 1_000_000),
            // ffprobe: format 2.128 s, video 1.128027 s (the last frame is held until the audio's fragment ends).
            Expect(name: "long-audio-fragmented.mp4", container: .mp4, layout: .fragmented, micros: 2_128_000, size: (160, 90),
                   codec: "avc1", videoMicros: 1_128_027, fps: 8.865),
            // Video 1 s (10 frames), PCM audio 2 s (8000 samples at 4 kHz) by the stream headers.
            Expect(name: "long-audio.avi", container: .avi, layout: .riff, micros: 2_000_000, size: (160, 90), codec: "FMP4",
                   videoMicros: 1_000_000),
        ]
        for e in expected {
            let p = try probe(e.name)
            XCTAssertEqual(p.container, e.container, e.name)
            XCTAssertEqual(p.layout, e.layout, e.name)
            XCTAssertEqual(p.duration, Seconds(micros: e.micros), e.name)
            XCTAssertEqual(p.videoDuration, Seconds(micros: e.videoMicros ?? e.micros), e.name)
            XCTAssertEqual(p.width, e.size.0, e.name)
            XCTAssertEqual(p.height, e.size.1, e.name)
            XCTAssertEqual(p.rotation, e.rotation, e.name)
            XCTAssertEqual(p.codec, e.codec, e.name)
            XCTAssertEqual(p.fps ?? 0, e.fps, accuracy: 0.001, e.name)
            XCTAssertEqual(p.sizeBytes, Int64(MediaFixtures.bytes(e.name).count), e.name)
            XCTAssertLessThanOrEqual(p.bytesRead, p.sizeBytes!, e.name)
            XCTAssertEqual(p.requests, 0, e.name)
        }
        let rotated = try probe("rotated.mp4")
        XCTAssertEqual([rotated.storedWidth, rotated.storedHeight], [160, 90])
    }

    func testEditListAndVersion1BoxesAndLargeSizes() throws {
        // For the video track, the edit list (1800/600 = 3 s) wins over tkhd (4 s) and mdhd (4 s);
        // the container's duration is the movie header's 3000/600 = 5 s.
        for version: UInt8 in [0, 1] {
            for large in [false, true] {
                let file = Box.ftyp() + Self.moov(version: version, edits: [600, 1200], large: large) + Box.large("mdat", [1, 2, 3])
                let p = try probeBytes(file)
                XCTAssertEqual(p.videoDuration, Seconds(whole: 3), "v\(version) large \(large)")
                XCTAssertEqual(p.duration, Seconds(whole: 5), "v\(version) large \(large)")
                XCTAssertEqual(p.fps, 25)
                XCTAssertEqual(p.layout, .moovFirst)
            }
        }
        // Without an edit list the track header's 2400/600 = 4 s is the video's.
        XCTAssertEqual(try probeBytes(Box.ftyp() + Self.moov()).videoDuration, Seconds(whole: 4))
        XCTAssertEqual(try probeBytes(Box.ftyp() + Self.moov()).duration, Seconds(whole: 5))
    }

    func testRotationsFromTheMatrix() throws {
        let cases: [([Int32], Int)] = [
            ([0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x4000_0000], 90),
            ([-0x10000, 0, 0, 0, -0x10000, 0, 0, 0, 0x4000_0000], 180),
            ([0, -0x10000, 0, 0x10000, 0, 0, 0, 0, 0x4000_0000], 270),
        ]
        for (matrix, degrees) in cases {
            let p = try probeBytes(Box.ftyp() + Self.moov(matrix: matrix))
            XCTAssertEqual(p.rotation, degrees)
            XCTAssertEqual([p.width, p.height], degrees == 180 ? [320, 180] : [180, 320])
        }
    }

    func testSizeZeroBoxRunsToTheEndOfTheFile() throws {
        let file = Box.ftyp() + Self.moov() + Box.be32(0) + Array("mdat".utf8) + [UInt8](repeating: 7, count: 100)
        XCTAssertEqual(try probeBytes(file).layout, .moovFirst)
    }

    func testMoovLastAfterSizeZeroIsReportedAsMissingIndex() {
        let file = Box.ftyp() + Box.be32(0) + Array("mdat".utf8) + Self.moov()
        assertProbeError(file) { if case .corrupt(let m) = $0 { return m.contains("moov") } else { return false } }
    }

    func testQuickTimeWithoutFtyp() throws {
        let p = try probeBytes(Box.make("wide", []) + Box.make("mdat", [0, 0]) + Self.moov())
        XCTAssertEqual(p.container, .mov)
        XCTAssertEqual(p.layout, .moovLast)
    }

    func testBadInputsGiveClearErrors() {
        assertProbeError([]) { $0 == .empty }
        assertProbeError(Array("hello, this is just a text file\n".utf8)) {
            if case .notAVideo(let looks) = $0 { return looks.contains("text") } else { return false }
        }
        assertProbeError([UInt8](repeating: 0, count: 100)) { $0 == .notAVideo(looksLike: "contains only zero bytes") }
        assertProbeError(MediaFixtures.bytes("image.png")) { $0 == .notAVideo(looksLike: "looks like a PNG image") }
        // A box claiming to be larger than the file.
        assertProbeError(Box.ftyp() + Box.be32(1_000_000) + Array("mdat".utf8)) {
            if case .boxTooLarge(let type, _, 1_000_000, _) = $0 { return type == "mdat" } else { return false }
        }
        // Size 1 with a bogus 64-bit size.
        assertProbeError(Box.ftyp() + Box.be32(1) + Array("mdat".utf8) + Box.be64(UInt64.max)) {
            if case .boxTooLarge = $0 { return true } else { return false }
        }
        assertProbeError(Box.ftyp() + Box.be32(1) + Array("mdat".utf8) + Box.be64(4)) {
            if case .invalidBoxSize(_, _, 4) = $0 { return true } else { return false }
        }
        // A size that would not advance the walk (the loop).
        assertProbeError(Box.ftyp() + Box.be32(4) + Array("free".utf8) + Self.moov()) {
            if case .invalidBoxSize("free", _, 4) = $0 { return true } else { return false }
        }
        // Truncated inside the moov.
        let whole = Box.ftyp() + Self.moov()
        assertProbeError(Array(whole.prefix(whole.count - 10))) {
            if case .boxTooLarge("moov", _, _, _) = $0 { return true } else { return false }
        }
        assertProbeError(Array(MediaFixtures.bytes("clip.avi").prefix(100))) {
            if case .boxTooLarge = $0 { return true } else { return false }
        }
        // A huge sample count with no table behind it.
        let lyingStsz = Box.ftyp() + Box.make("moov", Box.mvhd(timescale: 600, duration: 600)
            + Box.make("trak", Box.make("mdia", Box.hdlr("vide") + Box.make("minf", Box.make("stbl", Box.stsz(count: 0xFFFF_FFF0, entries: 1))))))
        assertProbeError(lyingStsz) { if case .corrupt(let m) = $0 { return m.contains("sample size table") } else { return false } }
        // Audio only.
        let audioOnly = Box.ftyp() + Box.make("moov", Box.mvhd(timescale: 600, duration: 600)
            + Box.make("trak", Box.make("mdia", Box.hdlr("soun"))))
        assertProbeError(audioOnly) { $0 == .noVideoTrack }
        // Endless tiny boxes stop at a bound.
        let manyBoxes = Box.ftyp() + Array([[UInt8]](repeating: Box.make("free", []), count: 300_000).joined())
        assertProbeError(manyBoxes) {
            if case .tooManyBoxes = $0 { return true }
            if case .tooManyBytes = $0 { return true }
            return false
        }
    }

    func testTextNamedMP4OnDisk() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("probe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("clip.mp4")
        try Data("<!DOCTYPE html><html>Not found</html>".utf8).write(to: file)
        XCTAssertThrowsError(try MediaProbe.probeVideo(file.path)) { error in
            let e = error as! ProbeError
            XCTAssertEqual(e, .notAVideo(looksLike: "looks like text (starts with \"<!DOCTYPE html><html>Not\")"))
            XCTAssertTrue(e.description.contains("not an MP4"), e.description)
        }
        XCTAssertThrowsError(try MediaProbe.probeVideo(dir.appendingPathComponent("missing.mp4").path)) { error in
            guard case .io = error as! ProbeError else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try MediaProbe.probeVideo(dir.path)) { error in
            guard case .io = error as! ProbeError else { return XCTFail("\(error)") }
        }
    }

    /// An AVI whose headers are complete but which holds no frames is an error, not a duration.
    func testAVIWithoutMediaDataIsAnError() throws {
        let avi = MediaFixtures.bytes("clip.avi")
        let movi = try XCTUnwrap(Self.find(Array("movi".utf8), in: avi)) - 8  // the LIST header before "movi"
        // The movi list cut off entirely (the RIFF size fixed up so the file is not merely truncated).
        var missing = Array(avi[..<movi])
        missing.replaceSubrange(4..<8, with: Self.le32(UInt32(missing.count - 8)))
        assertProbeError(missing) { $0 == .noMediaData }
        // An empty movi list: "LIST", size 4, "movi".
        var empty = Array(avi[..<movi]) + Array("LIST".utf8) + Self.le32(4) + Array("movi".utf8)
        empty.replaceSubrange(4..<8, with: Self.le32(UInt32(empty.count - 8)))
        assertProbeError(empty) { $0 == .noMediaData }
        XCTAssertTrue(ProbeError.noMediaData.description.contains("no media data"))
    }

    static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        return (0...(haystack.count - needle.count)).first { Array(haystack[$0..<($0 + needle.count)]) == needle }
    }

    static func le32(_ v: UInt32) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    /// A 200 MB moov-last file (sparse, so it costs no disk) is probed by seeking past its mdat.
    func testLargeMoovLastFileReadsOnlyItsHeaders() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("probe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("big.mp4")
        try SparseVideo.write(to: url, totalBytes: 200_000_000)
        let p = try MediaProbe.probeVideo(url.path)
        XCTAssertEqual(p.layout, .moovLast)
        XCTAssertEqual(p.sizeBytes, 200_000_000)
        XCTAssertEqual(p.duration, Seconds(whole: 5))
        XCTAssertLessThanOrEqual(p.bytesRead, 1 << 20)
    }
}

/// Writes a sparse moov-last MP4 of any size: ftyp, a 64-bit mdat of holes, then the moov.
enum SparseVideo {
    static func write(to url: URL, totalBytes: Int64) throws {
        let moov = VideoProbeTests.moov()
        let head = Box.ftyp()
        let mdatSize = totalBytes - Int64(head.count) - Int64(moov.count)
        XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: Data(head + Box.be32(1) + Array("mdat".utf8) + Box.be64(UInt64(mdatSize)))))
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        try handle.truncate(atOffset: UInt64(totalBytes) - UInt64(moov.count))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(moov))
    }
}
