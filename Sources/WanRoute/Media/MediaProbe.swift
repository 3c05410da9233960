import Foundation

/// Reads duration, size, rotation and format from a video's or image's headers, locally or
/// over HTTP(S) Range requests; use it before quoting or submitting a job.
///
/// Every function blocks the calling thread until it has an answer or a ``ProbeError``; the work
/// is bounded by ``ProbeOptions`` (bytes read, time-outs, redirects), whatever the input.
public enum MediaProbe {
    /// Probes a video at a local path or an http(s) URL; use it for a job's reference video.
    public static func probeVideo(_ location: String, options: ProbeOptions = ProbeOptions()) throws(ProbeError) -> VideoProbe {
        try probeVideo(source: try source(for: location, options: options), options: options)
    }

    /// Probes an image at a local path or an http(s) URL; use it for a job's character image.
    public static func probeImage(_ location: String, options: ProbeOptions = ProbeOptions()) throws(ProbeError) -> ImageProbe {
        let source = try source(for: location, options: options)
        return try ImageParser.probe(source, head: try source.read(offset: 0, length: 16))
    }

    /// Probes a file whose kind is not known in advance; images are recognised by their
    /// signature, anything else is probed as a video.
    public static func probe(_ location: String, options: ProbeOptions = ProbeOptions()) throws(ProbeError) -> ProbedMedia {
        let source = try source(for: location, options: options)
        let head = try source.read(offset: 0, length: 16)
        if ImageParser.format(of: head) != nil { return .image(try ImageParser.probe(source, head: head)) }
        return .video(try probeVideo(source: source, options: options))
    }

    /// Probes a video from any byte source, deciding the container from its first bytes.
    static func probeVideo(source: ByteSource, options: ProbeOptions) throws(ProbeError) -> VideoProbe {
        let head = try source.read(offset: 0, length: 512)
        if head.isEmpty { throw .empty }
        let probe: VideoProbe
        if AVIParser.sniff(head) { probe = try AVIParser.probe(source, maxBytes: options.maxBytes) }
        else if ISOMediaParser.sniff(head) { probe = try ISOMediaParser.probe(source, maxBytes: options.maxBytes) }
        else { throw .notAVideo(looksLike: describeContent(head)) }
        return try bounded(probe)
    }

    /// The one check every container's answer passes: the values a file states are held to what
    /// a real reference video can be, so nothing downstream (pricing, display) meets an extreme.
    static func bounded(_ probe: VideoProbe) throws(ProbeError) -> VideoProbe {
        var probe = probe
        for d in [probe.duration, probe.videoDuration] where d.micros < 0 || d > Seconds.longestJob {
            throw .corrupt("it claims to last \(d.micros == .max || d.micros == .min ? "longer than any number wanroute holds" : d.description), more than the \(Seconds.longestJob) (a day) any job may be")
        }
        if let fps = probe.fps, !(fps.isFinite && fps > 0 && fps <= 10_000) { probe.fps = nil }
        return probe
    }

    /// A byte source for a local path, a `file://` URL, or an http(s) URL.
    static func source(for location: String, options: ProbeOptions) throws(ProbeError) -> ByteSource {
        if let colon = location.firstIndex(of: ":"), location[colon...].hasPrefix("://") {
            let scheme = location[..<colon].lowercased()
            if scheme == "file", let url = URL(string: location), url.isFileURL {
                return try FileByteSource(url: url, maxBytes: options.maxBytes)
            }
            return try HTTPByteSource(url: try validatedURL(location), options: options)
        }
        return try FileByteSource(url: URL(fileURLWithPath: location), maxBytes: options.maxBytes)
    }

    /// The URL if it is plain ASCII http(s) with a host (the providers accept nothing else).
    static func validatedURL(_ text: String) throws(ProbeError) -> URL {
        guard text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value != 0x7F }) else {
            throw .invalidURL(text, reason: "it contains spaces, control or non-ASCII characters (percent-encode them)")
        }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased() else {
            throw .invalidURL(text, reason: "it is not a well-formed URL")
        }
        guard scheme == "http" || scheme == "https" else {
            throw .invalidURL(text, reason: "the scheme \(scheme) is not http or https")
        }
        guard let host = url.host, !host.isEmpty else { throw .invalidURL(text, reason: "it has no host") }
        return url
    }
}
