import Foundation

/// Locates the committed media fixtures relative to this source file, so tests run from any
/// working directory.
public enum MediaFixtures {
    /// `Tests/Fixtures/media`.
    public static let directory = Repository.fixtures.appendingPathComponent("media")

    /// A fixture's URL.
    public static func url(_ name: String) -> URL { directory.appendingPathComponent(name) }
    /// A fixture's path.
    public static func path(_ name: String) -> String { url(name).path }
    /// A fixture's bytes (empty when missing, so the test that reads it fails on its content).
    public static func bytes(_ name: String) -> [UInt8] { [UInt8]((try? Data(contentsOf: url(name))) ?? Data()) }

    /// Every video fixture.
    public static let videos = ["moov-first.mp4", "moov-last.mp4", "fragmented.mp4", "movie.mov", "clip.m4v", "clip.avi",
                         "rotated.mp4", "long-audio.mp4", "long-audio-fragmented.mp4", "long-audio.avi"]
    /// Every image fixture.
    public static let images = ["image.jpg", "image-orientation6.jpg", "image.png", "image.bmp", "image.webp", "image-lossless.webp"]
}
