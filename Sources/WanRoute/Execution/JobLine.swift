/// One line of a `--jobs` JSON Lines file: a job and its inputs.
///
/// `{"id": "j1", "image": "https://…/face.png", "video": "https://…/dance.mp4", "duration": "12.5",
///   "behavior": "replace", "resolution": "720p", "mode": "wan-pro", "tags": {"customer": "film"}}`
/// Only `image` and `video` are required; without `duration` the caller probes the video.
public struct JobLine: Sendable, Equatable {
    /// The line's `id`, or the caller's default (such as the line number) when absent.
    public var id: String
    /// The character image's http(s) URL (`image`).
    public var imageURL: String
    /// The reference video's http(s) URL (`video`).
    public var videoURL: String
    /// The reference video's duration; nil when the line gives none and the video must be probed.
    public var duration: Seconds?
    /// The behaviour asked for (`behavior`); `animate` when absent.
    public var behavior: Behavior
    /// A required output resolution, or nil for any.
    public var resolution: Resolution?
    /// A required mode, or nil for any.
    public var mode: Mode?
    /// Free labels for routing policies and reports; empty when absent.
    public var tags: [String: String]

    /// Parses the text of line `line` of `file`; diagnostics carry the file, the line and JSON paths.
    public static func parse(_ text: String, file: String, line: Int, defaultID: String) -> (JobLine?, [Diagnostic]) {
        let sink = DiagnosticSink(file: file, line: line)
        guard let root = sink.parseJSON(text) else { return (nil, sink.diagnostics) }
        guard let r = ObjectReader(root, path: "$", sink: sink) else { return (nil, sink.diagnostics) }
        let id = r.string("id", required: false) ?? defaultID
        let image = url(r, "image")
        let video = url(r, "video")
        var duration: Seconds?
        if let value = r.value("duration", required: false) {
            // One rule for durations in every file (policies too): a decimal string, never a JSON number.
            if let micros = sink.decimal(value, path: "$.duration", scale: Seconds.scale, example: "\"12.5\"",
                                         numberReason: "durations are read exactly, as in policy files") {
                let d = Seconds(micros: micros)
                if d.isValidJobDuration { duration = d } else {
                    sink.error("$.duration", "expected a positive number of seconds up to \(Seconds.longestJob.decimalString) (a day) such as \"12.5\"")
                }
            }
        }
        let behavior = r.word("behavior", as: Behavior.self, required: false) ?? .animate
        let resolution = r.word("resolution", as: Resolution.self, required: false)
        let mode = r.word("mode", as: Mode.self, required: false)
        let tags = r.stringMap("tags")
        r.finish()
        guard !sink.hasErrors, let image, let video else { return (nil, sink.diagnostics) }
        return (JobLine(id: id, imageURL: image, videoURL: video, duration: duration, behavior: behavior,
                        resolution: resolution, mode: mode, tags: tags), sink.diagnostics)
    }

    private static func url(_ r: ObjectReader, _ key: String) -> String? {
        guard let s = r.string(key) else { return nil }
        guard MediaProbe.isRemote(s) else {
            r.sink.error(r.childPath(key), "\"\(URLText.forMessage(s))\" is not an http(s) URL; providers fetch inputs from a public URL")
            return nil
        }
        return s
    }
}
