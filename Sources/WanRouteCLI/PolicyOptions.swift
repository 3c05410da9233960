import Foundation
import WanRoute

/// `--policy FILE|NAME` and `--tag KEY=VALUE`, shared by the commands that route jobs.
enum PolicyOptions {
    static let specs: [OptionSpec] = [
        OptionSpec("policy", "FILE|NAME", help: "The routing policy: a policy file, or when no such file exists a built-in policy (\(Policy.builtInNames.joined(separator: ", ")))."),
        OptionSpec("tag", "KEY=VALUE", repeatable: true, help: "A job tag the policy's rules and budgets read (repeat for several), e.g. --tag customer=film."),
    ]

    /// The router for `--policy`, compiled against `catalog`.
    static func router(_ args: ParsedArguments, _ context: Context, catalog: PriceCatalog) throws(CLIError) -> Router {
        guard let text = args.value("policy") else {
            throw .usage("give the routing policy with --policy FILE|NAME (built-in: \(Policy.builtInNames.joined(separator: ", ")))")
        }
        return try routerAndDigest(text, context, catalog: catalog).router
    }

    /// The router for `--policy` (given) and the digest of the policy's text, which `run` records.
    static func routerAndDigest(_ text: String, _ context: Context, catalog: PriceCatalog) throws(CLIError) -> (router: Router, digest: String) {
        let (policy, digest) = try policyAndDigest(text, catalog, context)
        do { return (try Router(policy: policy, catalog: catalog), digest) } catch { throw CLIError(error) }
    }

    /// The `--tag KEY=VALUE` options as a dictionary; a malformed or repeated key is a usage error.
    static func tags(_ args: ParsedArguments) throws(CLIError) -> [String: String] {
        var tags: [String: String] = [:]
        for text in args.values("tag") {
            guard let eq = text.firstIndex(of: "="), eq != text.startIndex, text.index(after: eq) != text.endIndex else {
                throw .usage("--tag '\(text)' is not KEY=VALUE (e.g. --tag customer=film)")
            }
            let key = String(text[..<eq])
            if let problem = Job.tagKeyProblem(key) { throw .usage("--tag '\(text)': \(problem)") }
            guard tags[key] == nil else { throw .usage("--tag \(key) is given more than once") }
            tags[key] = String(text[text.index(after: eq)...])
        }
        return tags
    }

    /// Warnings for job tags the policy does not declare (when it declares its `tags`), with a
    /// guess for a misspelt key, as `validate` warns about such tags in files.
    static func undeclaredTags(_ tags: [String: String], _ policy: Policy) -> [String] {
        guard let known = policy.knownTags else { return [] }
        return tags.keys.sorted().filter { !known.contains($0) }.map { key in
            var message = "tag \"\(key)\" is not among policy \"\(policy.name)\"'s declared tags (\(known.joined(separator: ", "))), so no rule or budget reads it"
            if let guess = Spelling.closest(to: key, among: known) { message += "; did you mean \"\(guess)\"?" }
            return message
        }
    }

    /// A policy file when `text` names one; else a built-in policy; else a usage error listing the built-in names.
    static func policy(_ text: String, _ catalog: PriceCatalog, _ context: Context) throws(CLIError) -> Policy {
        try policyAndDigest(text, catalog, context).policy
    }

    /// The policy, as ``policy(_:_:_:)``, with the digest of the very text it was read from.
    static func policyAndDigest(_ text: String, _ catalog: PriceCatalog, _ context: Context) throws(CLIError) -> (policy: Policy, digest: String) {
        let url = context.url(text)
        var isDirectory: ObjCBool = false
        let file: SourceFile
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { throw .usage("--policy '\(text)' is a directory; give a policy file or a built-in policy name") }
            do throws(SourceFileError) { file = try SourceFile.read(url) } catch {
                switch error { case .unreadable(let path, let reason): throw CLIError(PolicyError.unreadable(path: path, reason: reason)) }
            }
        } else {
            let names = Policy.builtInNames
            guard let builtIn = Policy.builtInFile(named: text) else {
                let guess = Spelling.closest(to: text, among: names).map { " (did you mean '\($0)'?)" } ?? ""
                throw .usage("--policy '\(text)' is neither a policy file nor a built-in policy\(guess); built-in: \(names.joined(separator: ", "))")
            }
            file = builtIn
        }
        do { return (try Policy.load(file, catalog: catalog), SourceDigest.policy(file)) } catch { throw CLIError(error) }
    }
}
