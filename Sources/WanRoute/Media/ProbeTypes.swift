import Foundation

/// The container family of a reference video, decided from its bytes, never its file name.
public enum VideoContainer: String, Sendable, Equatable, CaseIterable {
    /// ISO base media file (ftyp brand such as isom, mp41, mp42, avc1, dash).
    case mp4
    /// QuickTime movie (ftyp brand `qt  `, or an old file without ftyp).
    case mov
    /// Apple's iTunes video (ftyp brand `M4V `, `M4VH`, `M4VP`).
    case m4v
    /// RIFF AVI.
    case avi
}

/// Where the index (moov) of a video sits, which decides how many remote reads a probe needs.
public enum VideoLayout: String, Sendable, Equatable {
    /// The index precedes the media data: one read from the start is enough ("fast start").
    case moovFirst = "moov-first"
    /// The index follows the media data: the probe seeks past it.
    case moovLast = "moov-last"
    /// Fragmented MP4 (moov + mvex, then moof/mdat pairs).
    case fragmented
    /// RIFF AVI: headers (hdrl) come first.
    case riff
}

/// The facts a provider checks about a reference video, read from its container headers.
///
/// Use it to price a job (``duration`` is what providers bill) and to check provider limits
/// before uploading.
public struct VideoProbe: Sendable, Equatable {
    /// The container family.
    public var container: VideoContainer
    /// Where the index sits in the file.
    public var layout: VideoLayout
    /// The container's duration, what quotes and billing use: the longest track or stream (MP4,
    /// MOV, M4V: the movie header, or the longest track's fragments; AVI: the longest stream), as
    /// ffprobe's `format.duration` reports it. No provider says how it measures the reference
    /// video, and this reading never estimates below the bill.
    public var duration: Seconds
    /// The video track's own presentation duration (with edit lists); shorter than ``duration``
    /// when audio outlasts the video.
    public var videoDuration: Seconds
    /// Width as displayed, after the rotation in the track matrix.
    public var width: Int
    /// Height as displayed, after the rotation in the track matrix.
    public var height: Int
    /// Width of the coded frames as stored in the sample entry.
    public var storedWidth: Int
    /// Height of the coded frames as stored in the sample entry.
    public var storedHeight: Int
    /// Clockwise display rotation in degrees: 0, 90, 180 or 270.
    public var rotation: Int
    /// Frames per second, when the container states or implies it.
    public var fps: Double?
    /// The codec four-character code, such as `avc1`, `hvc1`, `mp4v`, `H264`.
    public var codec: String?
    /// The whole file's size in bytes, when known (a server may not say).
    public var sizeBytes: Int64?
    /// Bytes actually read (or downloaded) to answer.
    public var bytesRead: Int64
    /// HTTP requests made to answer; 0 for a local file.
    public var requests: Int
}

/// The image formats the providers accept as the character image.
public enum ImageFormat: String, Sendable, Equatable, CaseIterable {
    /// JPEG (JFIF or EXIF).
    case jpeg
    /// PNG.
    case png
    /// Windows bitmap.
    case bmp
    /// WebP (lossy VP8, lossless VP8L, or extended VP8X).
    case webp
}

/// The facts a provider checks about a character image, read from its header bytes only.
///
/// Use it to check the size and aspect limits before uploading an image.
public struct ImageProbe: Sendable, Equatable {
    /// The image format.
    public var format: ImageFormat
    /// Width as displayed, after the EXIF orientation.
    public var width: Int
    /// Height as displayed, after the EXIF orientation.
    public var height: Int
    /// Width as stored in the header.
    public var storedWidth: Int
    /// Height as stored in the header.
    public var storedHeight: Int
    /// The EXIF orientation, 1-8 (1 when absent); 5-8 swap width and height.
    public var orientation: Int
    /// The whole file's size in bytes, when known.
    public var sizeBytes: Int64?
    /// Bytes actually read (or downloaded) to answer.
    public var bytesRead: Int64
    /// HTTP requests made to answer; 0 for a local file.
    public var requests: Int
}

/// A probed file of either kind, as returned by ``MediaProbe/probe(_:options:)``.
public enum ProbedMedia: Sendable, Equatable {
    /// A video container.
    case video(VideoProbe)
    /// An image.
    case image(ImageProbe)
}

/// Limits on how much work a probe may do; use the defaults unless a test needs them tighter.
public struct ProbeOptions: Sendable, Equatable {
    /// Hard cap on bytes read from a file or downloaded from a server.
    public var maxBytes: Int64
    /// Bytes asked for by the first remote request (and the read-ahead of later ones).
    public var chunkSize: Int
    /// Seconds one HTTP request may take before it is abandoned.
    public var requestTimeout: Double
    /// Seconds the whole remote probe may take, across requests and redirects.
    public var overallTimeout: Double
    /// Redirects followed before giving up.
    public var maxRedirects: Int

    /// Creates options; every argument has a sensible default.
    public init(maxBytes: Int64 = 8 << 20, chunkSize: Int = 64 << 10, requestTimeout: Double = 10,
                overallTimeout: Double = 30, maxRedirects: Int = 5) {
        self.maxBytes = maxBytes
        self.chunkSize = chunkSize
        self.requestTimeout = requestTimeout
        self.overallTimeout = overallTimeout
        self.maxRedirects = maxRedirects
    }
}

/// Why a file could not be probed; every ``description`` says what was wrong and what to do.
public enum ProbeError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The file has no bytes at all.
    case empty
    /// The file ends before a structure it started (`what` names the structure).
    case truncated(String)
    /// The bytes are not a supported video container; `looksLike` says what they resemble.
    case notAVideo(looksLike: String)
    /// The bytes are not a supported image; `looksLike` says what they resemble.
    case notAnImage(looksLike: String)
    /// A box or chunk claims to extend past its file or parent.
    case boxTooLarge(type: String, offset: Int64, size: Int64, available: Int64)
    /// A box or chunk states a size that cannot be right (smaller than its own header).
    case invalidBoxSize(type: String, offset: Int64, size: Int64)
    /// More boxes than any real file has (a sign of a loop or garbage).
    case tooManyBoxes(limit: Int)
    /// Boxes nested deeper than any real file nests them.
    case nestingTooDeep(limit: Int)
    /// A field contradicts the data around it, such as an entry count larger than its table.
    case corrupt(String)
    /// The container holds no video track.
    case noVideoTrack
    /// The headers are complete but the file holds no media data (an AVI whose `movi` list is missing or empty).
    case noMediaData
    /// The file could not be opened or read.
    case io(String)
    /// The server could not be reached or the connection failed.
    case network(String)
    /// The server answered with an HTTP error status.
    case httpStatus(Int, url: String)
    /// The server did not answer in time.
    case timeout(seconds: Double)
    /// The probe needed more bytes than the configured cap.
    case tooManyBytes(limit: Int64)
    /// The location is not an acceptable http(s) URL.
    case invalidURL(String, reason: String)
    /// The server redirected more times than allowed.
    case tooManyRedirects(limit: Int)

    /// A plain sentence: what was wrong with the file or URL, and what to do about it.
    public var description: String {
        switch self {
        case .empty:
            return "The file is empty (0 bytes); export or download it again."
        case .truncated(let what):
            return "The file ends inside \(what); it is truncated, so download or export it again."
        case .notAVideo(let looks):
            return "The file is not an MP4, MOV, M4V or AVI video: it \(looks). Convert it to MP4 (H.264) and try again."
        case .notAnImage(let looks):
            return "The file is not a JPEG, PNG, BMP or WEBP image: it \(looks). Convert it to JPEG or PNG and try again."
        case .boxTooLarge(let type, let offset, let size, let available):
            return "The '\(type)' box at byte \(offset) claims \(size) bytes but only \(available) remain; the file is truncated or corrupt, so export or download it again."
        case .invalidBoxSize(let type, let offset, let size):
            return "The '\(type)' box at byte \(offset) has an impossible size (\(size)); the file is corrupt, so export it again."
        case .tooManyBoxes(let limit):
            return "The file has more than \(limit) boxes, which no real video has; it is corrupt, so export it again."
        case .nestingTooDeep(let limit):
            return "The file nests boxes deeper than \(limit) levels, which no real video does; it is corrupt, so export it again."
        case .corrupt(let what):
            return "The file is corrupt: \(what). Export it again."
        case .noVideoTrack:
            return "The file has no video track (audio only?); use a file with a video track."
        case .noMediaData:
            return "The file has complete headers but no media data (its 'movi' list is missing or empty), so there is nothing to generate from; the recording may not have finished, so export it again."
        case .io(let what):
            return "Could not read the file: \(what). Check the path and permissions."
        case .network(let what):
            return "Could not download the file: \(what). Check the URL and the network connection."
        case .httpStatus(let status, let url):
            return "The server answered HTTP \(status) for \(URLText.forMessage(url)); check that the URL is public and correct."
        case .timeout(let seconds):
            return "The server did not answer within \(seconds) s; check the URL or try again later."
        case .tooManyBytes(let limit):
            return "Probing needed more than \(limit) bytes, the configured cap; the file's index is unusually large or the server sent the whole file, so move the moov to the front (ffmpeg -movflags +faststart) or raise the cap."
        case .invalidURL(let url, let reason):
            return "The URL \(URLText.forMessage(url)) is not usable: \(reason). Use a plain ASCII http:// or https:// URL."
        case .tooManyRedirects(let limit):
            return "The server redirected more than \(limit) times; use the final URL directly."
        }
    }
}
