import Foundation

/// A jobs file: JSON Lines, one ``JobLine`` object per line; blank lines are skipped.
public enum JobsFile {
    /// Every valid line in file order, and every problem of every line at once (diagnostics
    /// carry the file `name` and the line). A line without `id` is `PREFIXN` (`line-N` by default);
    /// ids must be unique.
    public static func parse(_ text: String, name: String, defaultIDPrefix: String = "line-") -> (lines: [JobLine], diagnostics: [Diagnostic]) {
        var lines: [JobLine] = []
        var diagnostics: [Diagnostic] = []
        var ids = Set<String>()
        // Split on the byte "\n": Swift reads "\r\n" as one Character, so splitting the String
        // would merge every line of a CRLF file into one.
        for (index, raw) in text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).enumerated() {
            let trimmed = String(decoding: raw, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            let (line, found) = JobLine.parse(trimmed, file: name, line: index + 1, defaultID: "\(defaultIDPrefix)\(index + 1)")
            diagnostics += found
            guard let line else { continue }
            if ids.insert(line.id).inserted {
                lines.append(line)
            } else {
                diagnostics.append(Diagnostic(at: Location(file: name, line: index + 1, path: "$.id"), message: "the id \"\(line.id)\" is used by an earlier line; ids must be unique"))
            }
        }
        return (lines, diagnostics)
    }
}

extension JobLine {
    /// The order this line describes. Its own `duration` wins; without one, `probe` (the
    /// reference video's probe) gives the duration and the video's facts; nil when neither gives a
    /// duration a job can have (a probed 0 s video is not one).
    public func order(probe: VideoProbe? = nil) -> JobOrder? {
        var video = MediaFacts(url: videoURL)
        var length = duration
        if length == nil, let probe {
            length = probe.duration
            video = probe.facts(url: videoURL)
        }
        guard let length, length.isValidJobDuration else { return nil }
        let job = Job(behavior: behavior, duration: length, resolution: resolution, mode: mode,
                      video: video, image: MediaFacts(url: imageURL), tags: tags)
        return JobOrder(id: id, job: job, imageURL: imageURL, videoURL: videoURL)
    }
}
