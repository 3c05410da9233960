import Foundation

extension MediaProbe {
    /// The most bytes an image sent inline may have: base64 grows it by a third, and a request
    /// body of tens of megabytes is a mistake (upload the file and pass its URL instead).
    public static let maximumInlineImageBytes: Int64 = 10_000_000

    /// A local image as a `data:image/...;base64,...` URI, for providers that take the image
    /// inline (the AI/ML API's `image_url`), with its probe. The format is read from the bytes,
    /// never the file name; a file that is not a JPEG, PNG, BMP or WEBP image is an error.
    public static func dataURI(forImageAt path: String) throws(ProbeError) -> (uri: String, probe: ImageProbe) {
        let probe = try probeImage(path)
        if let size = probe.sizeBytes, size > maximumInlineImageBytes {
            throw .tooManyBytes(limit: maximumInlineImageBytes)
        }
        guard let data = FileManager.default.contents(atPath: path) else { throw .io("\(path) could not be read") }
        guard data.count <= maximumInlineImageBytes else { throw .tooManyBytes(limit: maximumInlineImageBytes) }
        let mime = switch probe.format {
        case .jpeg: "image/jpeg"
        case .png: "image/png"
        case .bmp: "image/bmp"
        case .webp: "image/webp"
        }
        return ("data:\(mime);base64," + data.base64EncodedString(), probe)
    }

    /// Whether a location is an inline `data:` URI rather than a path or a URL.
    public static func isDataURI(_ location: String) -> Bool { location.lowercased().hasPrefix("data:") }
}
