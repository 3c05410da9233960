import Foundation
import WanRouteTestSupport
import XCTest
@testable import WanRoute

final class ImageProbeTests: XCTestCase {
    func testFixtures() throws {
        let expected: [(String, ImageFormat, Int, Int, Int)] = [
            ("image.jpg", .jpeg, 64, 48, 1),
            ("image-orientation6.jpg", .jpeg, 48, 64, 6),
            ("image.png", .png, 64, 48, 1),
            ("image.bmp", .bmp, 64, 48, 1),
            ("image.webp", .webp, 64, 48, 1),
            ("image-lossless.webp", .webp, 64, 48, 1),
        ]
        for (name, format, width, height, orientation) in expected {
            let p = try MediaProbe.probeImage(MediaFixtures.path(name))
            XCTAssertEqual(p.format, format, name)
            XCTAssertEqual([p.width, p.height], [width, height], name)
            XCTAssertEqual([p.storedWidth, p.storedHeight], [64, 48], name)
            XCTAssertEqual(p.orientation, orientation, name)
            XCTAssertEqual(p.sizeBytes, Int64(MediaFixtures.bytes(name).count), name)
            // Only headers are read (the BMP's pixels are not).
            XCTAssertLessThanOrEqual(p.bytesRead, 200, name)
        }
    }

    func testCombinedProbeDecidesByContent() throws {
        guard case .image(let image) = try MediaProbe.probe(MediaFixtures.path("image.png")) else { return XCTFail() }
        XCTAssertEqual(image.format, .png)
        guard case .video(let video) = try MediaProbe.probe(MediaFixtures.path("clip.avi")) else { return XCTFail() }
        XCTAssertEqual(video.container, .avi)
    }

    func testTopDownBMPAndVP8X() throws {
        var bmp = MediaFixtures.bytes("image.bmp")
        withUnsafeBytes(of: Int32(-48).littleEndian) { bmp.replaceSubrange(22..<26, with: $0) }
        let p = try ImageParser.probe(MemoryByteSource(bmp), head: Array(bmp.prefix(16)))
        XCTAssertEqual([p.width, p.height], [64, 48])

        // VP8X: 24-bit canvas width-1 and height-1.
        let vp8x = Array("RIFF".utf8) + [30, 0, 0, 0] + Array("WEBPVP8X".utf8) + [10, 0, 0, 0] + [0, 0, 0, 0]
            + [0xFF, 0x0F, 0x00] + [0x37, 0x04, 0x00]
        let x = try ImageParser.probe(MemoryByteSource(vp8x), head: Array(vp8x.prefix(16)))
        XCTAssertEqual([x.width, x.height], [4096, 1080])
    }

    func testBadImages() {
        for (bytes, check) in [
            ([UInt8](), { (e: ProbeError) in e == .empty }),
            (Array("GIF89a....".utf8), { $0 == .notAnImage(looksLike: "looks like a GIF image") }),
            (Array(MediaFixtures.bytes("image.jpg").prefix(20)), { if case .truncated = $0 { return true } else { return false } }),
            (Array(MediaFixtures.bytes("image.png").prefix(20)), { if case .truncated = $0 { return true } else { return false } }),
        ] as [([UInt8], (ProbeError) -> Bool)] {
            do {
                _ = try ImageParser.probe(MemoryByteSource(bytes), head: Array(bytes.prefix(16)))
                XCTFail("accepted \(bytes.prefix(8))")
            } catch {
                XCTAssertTrue(check(error), "\(error)")
            }
        }
    }
}

extension ImageProbeTests {
    func testALocalImageBecomesADataURIWithItsMediaType() throws {
        let (uri, probe) = try MediaProbe.dataURI(forImageAt: MediaFixtures.path("image.png"))
        XCTAssertEqual(probe.format, .png)
        XCTAssertTrue(uri.hasPrefix("data:image/png;base64,iVBORw0KGgo"), String(uri.prefix(40)))
        let decoded = try XCTUnwrap(Data(base64Encoded: String(uri.dropFirst("data:image/png;base64,".count))))
        XCTAssertEqual([UInt8](decoded), MediaFixtures.bytes("image.png"))
        XCTAssertTrue(try MediaProbe.dataURI(forImageAt: MediaFixtures.path("image.jpg")).uri.hasPrefix("data:image/jpeg;base64,"))
        XCTAssertThrowsError(try MediaProbe.dataURI(forImageAt: MediaFixtures.path("clip.avi")))
    }
}
