import Foundation
import WanRoute

/// The options that describe a job, shared by every command that prices or routes one.
enum JobOptions {
    /// Jobs longer than this are refused as a likely typo (a day of video).
    static let longestDuration = Seconds(whole: 86_400)

    static let specs: [OptionSpec] = [
        OptionSpec("duration", "S", help: "The reference video's length in seconds (decimal, e.g. 12.5)."),
        OptionSpec("behavior", "B", help: "animate (the image performs the video's motion; default) or replace (the image replaces the video's person)."),
        OptionSpec("resolution", "R", help: "Only offers at this output resolution: 480p, 580p or 720p."),
        OptionSpec("mode", "M", help: "Only offers in this mode: wan-std, wan-pro or standard."),
        OptionSpec("pricing", "DIR", help: "Read pricing tables from DIR instead of the built-in copy of pricing/."),
    ]

    /// The catalog named by `--pricing`, or the built-in one.
    static func catalog(_ args: ParsedArguments, _ context: Context) throws(CLIError) -> PriceCatalog {
        do {
            if let dir = args.value("pricing") {
                return try PriceCatalog.load(directory: context.url(dir))
            }
            return try PriceCatalog.builtIn()
        } catch {
            switch error {
            case .invalid(let diagnostics): throw .data(diagnostics)
            case .unreadable, .noPricingFiles: throw .dataMessage(error.description)
            }
        }
    }

    /// The job the options describe.
    static func job(_ args: ParsedArguments) throws(CLIError) -> Job {
        guard let text = args.value("duration") else {
            throw .usage("give the reference video's length with --duration S (seconds)")
        }
        let duration = try parseDuration(text)
        return Job(
            behavior: try word(args, "behavior", Behavior.self) ?? .animate,
            duration: duration,
            resolution: try word(args, "resolution", Resolution.self),
            mode: try word(args, "mode", Mode.self)
        )
    }

    static func parseDuration(_ text: String) throws(CLIError) -> Seconds {
        guard let d = Seconds(decimal: text) else {
            throw .usage("--duration '\(text)' is not a number of seconds such as 12 or 12.5 (at most 6 decimals)")
        }
        guard d.micros > 0 else { throw .usage("--duration must be a positive number of seconds, not '\(text)'") }
        guard d <= longestDuration else { throw .usage("--duration \(text) is longer than a day (\(longestDuration.decimalString) s); check the value") }
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
        let raw = args.values("provider")
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
