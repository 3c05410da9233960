import Foundation
import WanRoute

/// The options that describe a job, shared by every command that prices or routes one.
enum JobOptions {
    /// Jobs longer than this are refused as a likely typo (a day of video): the library's bound.
    static let longestDuration = Seconds.longestJob

    static let specs: [OptionSpec] = [
        OptionSpec("duration", "S", help: "The reference video's length in seconds (decimal, e.g. 12.5); with --video, skips probing it."),
        OptionSpec("video", "PATH|URL", help: "The reference video (MP4, MOV, M4V, AVI): its duration, size and format are read from its headers."),
        OptionSpec("image", "PATH|URL", help: "The character image (JPEG, PNG, BMP, WEBP), checked against each provider's limits."),
        OptionSpec("behavior", "B", help: "animate (the image performs the video's motion; default) or replace (the image replaces the video's person)."),
        OptionSpec("resolution", "R", help: "Only offers at this output resolution: 480p, 580p or 720p."),
        OptionSpec("mode", "M", help: "Only offers in this mode: wan-std, wan-pro or standard."),
        OptionSpec("pricing", "DIR", help: "Read pricing tables from DIR instead of the built-in copy of pricing/."),
        contractSpec,
    ]

    static let contractSpec = OptionSpec("contract", "FILE|DIR", repeatable: true,
        help: "Lay your negotiated prices over the tables: a contract-prices file, or a directory of them (and of pricing or exchange-rates files); shown with confidence contract.")

    /// The catalog named by `--pricing`, or the built-in one.
    static func catalog(_ args: ParsedArguments, _ context: Context) throws(CLIError) -> PriceCatalog {
        let overlays = try context.sourceFiles(args.values("contract"))
        do {
            if let dir = args.value("pricing") {
                let url = context.url(dir)
                var isDirectory: ObjCBool = false
                guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
                    throw CLIError.usage("--pricing '\(dir)' is not a directory; name a directory of pricing files such as ./pricing")
                }
                if overlays.isEmpty { return try PriceCatalog.load(directory: url) }
                return try PriceCatalog.load(files: try SourceFile.jsonFiles(in: url), overlays: overlays)
            }
            return try PriceCatalog.builtIn(overlays: overlays)
        } catch let error as CLIError {
            throw error
        } catch let error as SourceFileError {
            throw .dataMessage("\(error)")
        } catch let error as PricingError {
            switch error {
            case .invalid(let diagnostics): throw .data(diagnostics)
            case .unreadable, .noPricingFiles: throw .dataMessage(error.description)
            }
        } catch {
            throw .failure("\(error)")
        }
    }

    /// The job the options describe: `--duration`, or the duration probed from `--video`.
    ///
    /// `--duration` with `--video` skips probing the video (its URL is still checked); `--image`
    /// is probed whenever given. A probe failure is a data error (exit 65) or, for a file that
    /// cannot be reached, a failure (exit 1).
    static func job(_ args: ParsedArguments, _ context: Context, probeImage shouldProbeImage: Bool = true) throws(CLIError) -> Job {
        let videoLocation = args.value("video")
        var duration: Seconds?
        if let text = args.value("duration") { duration = try parseDuration(text) }
        var video: MediaFacts?
        if let location = videoLocation {
            let url = MediaProbe.isRemote(location) ? location : nil
            if duration == nil {
                let probe = try probedVideo(location, context)
                duration = probe.duration
                video = probe.facts(url: url)
            } else {
                video = MediaFacts(url: url)
            }
        }
        guard let duration else {
            throw .usage("give the reference video with --video PATH|URL or its length with --duration S (seconds)")
        }
        let image = try args.value("image").map { location throws(CLIError) in
            let url = MediaProbe.isRemote(location) ? location : nil
            return shouldProbeImage ? try probeImage(location, context).facts(url: url) : MediaFacts(url: url)
        }
        return Job(
            behavior: try word(args, "behavior", Behavior.self) ?? .animate,
            duration: duration,
            resolution: try word(args, "resolution", Resolution.self),
            mode: try word(args, "mode", Mode.self),
            video: video,
            image: image
        )
    }

    /// A local path relative to the current directory, or the URL unchanged.
    /// Anything with a scheme (`file://`, `ftp://`) is left to the library, which reads file URLs
    /// and names any other scheme in its error, rather than glued onto the current directory.
    static func location(_ text: String, _ context: Context) -> String {
        MediaProbe.isRemote(text) || text.contains("://") ? text : context.url(text).path
    }

    /// A local path that does not exist is a usage error, the same in every command (exit 64).
    static func requireExisting(_ location: String, _ context: Context, flag: String? = nil) throws(CLIError) {
        // A URL of another scheme (file://, ftp://) is the library's to read or refuse by name.
        guard !MediaProbe.isRemote(location), !MediaProbe.isDataURI(location), !location.contains("://") else { return }
        if !FileManager.default.fileExists(atPath: context.url(location).path) {
            throw .usage("\(flag.map { "\($0) " } ?? "")'\(location)' does not exist")
        }
    }

    static func probeVideo(_ location: String, _ context: Context) throws(CLIError) -> VideoProbe {
        try requireExisting(location, context, flag: "--video")
        do { return try MediaProbe.probeVideo(Self.location(location, context)) } catch { throw probeFailure(location, error) }
    }

    /// A probed video whose duration a job can have: `quote`, `route` and `run` (flags or a jobs
    /// file) all refuse a 0 s video here, before anything is priced or submitted.
    static func probedVideo(_ location: String, _ context: Context) throws(CLIError) -> VideoProbe {
        let probe = try probeVideo(location, context)
        guard probe.duration.isValidJobDuration else {
            throw .dataMessage("\(location): the video's duration is \(probe.duration); nothing to bill or generate")
        }
        return probe
    }

    static func probeImage(_ location: String, _ context: Context) throws(CLIError) -> ImageProbe {
        try requireExisting(location, context, flag: "--image")
        do { return try MediaProbe.probeImage(Self.location(location, context)) } catch { throw probeFailure(location, error) }
    }

    /// Unreachable files are failures (exit 1); files that are there but wrong are data errors (65).
    static func probeFailure(_ location: String, _ error: ProbeError) -> CLIError {
        let location = URLText.forMessage(location)
        switch error {
        case .network, .httpStatus, .timeout, .tooManyRedirects, .io:
            return .failure("\(location): \(error)")
        default:
            return .dataMessage("\(location): \(error)")
        }
    }

    /// A number of seconds from the option `--flag` (`duration`, `deadline`), named in every error.
    static func parseDuration(_ text: String, flag: String = "duration") throws(CLIError) -> Seconds {
        // People type ".5" and "12."; the exact reader wants "0.5" and "12".
        var normal = text.hasPrefix(".") ? "0" + text : text
        if normal.hasSuffix("."), normal.count > 1 { normal.removeLast() }
        guard let d = Seconds(decimal: normal) else {
            throw .usage("--\(flag) '\(text)' is not a number of seconds such as 12 or 12.5 (at most 6 decimals)")
        }
        guard d.micros > 0 else { throw .usage("--\(flag) must be a positive number of seconds, not '\(text)'") }
        guard d <= longestDuration else { throw .usage("--\(flag) \(text) is longer than a day (\(longestDuration.decimalString) s); check the value") }
        return d
    }

    static func word<E: RawRepresentable & CaseIterable>(_ args: ParsedArguments, _ name: String, _: E.Type) throws(CLIError) -> E? where E.RawValue == String {
        guard let text = args.value(name) else { return nil }
        guard let e = E(rawValue: text) else {
            throw .usage("'\(text)' is not a valid --\(name) (\(E.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return e
    }

    /// The `--provider` ids, each checked against the catalog; nil when none were given.
    static func providers(_ args: ParsedArguments, _ catalog: PriceCatalog) throws(CLIError) -> Set<ProviderID>? {
        // `--provider a,b` and `--provider a --provider b` mean the same.
        let raw = args.values("provider").flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
        if raw.isEmpty { return nil }
        var ids = Set<ProviderID>()
        let known = catalog.providers.map(\.id.rawValue)
        for text in raw {
            guard let id = ProviderID(text), catalog.provider(id) != nil else {
                let guess = Spelling.closest(to: text, among: known).map { " (did you mean '\($0)'?)" } ?? ""
                throw .usage("unknown provider '\(text)'\(guess); known: \(known.joined(separator: ", "))")
            }
            ids.insert(id)
        }
        return ids
    }
}
