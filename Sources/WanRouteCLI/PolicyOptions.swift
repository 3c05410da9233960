import Foundation
import WanRoute

/// `--policy FILE|NAME` and `--tag KEY=VALUE`, shared by the commands that route jobs.
enum PolicyOptions {
    static let specs: [OptionSpec] = [
        OptionSpec("policy", "FILE|NAME", help: "A policy file, or the name of a built-in policy: \(Policy.builtInNames.joined(separator: ", "))."),
        OptionSpec("tag", "KEY=VALUE", repeatable: true, help: "A label the policy's rules and budgets can test (repeat for several)."),
    ]

    /// The router for `--policy`: a file when one exists at that path, else a built-in name.
    static func router(_ args: ParsedArguments, _ context: Context, catalog: PriceCatalog) throws(CLIError) -> Router {
        guard let given = args.value("policy") else {
            throw .usage("name a policy with --policy FILE or one of \(Policy.builtInNames.joined(separator: ", "))")
        }
        let url = context.url(given)
        do {
            let policy: Policy
            if FileManager.default.fileExists(atPath: url.path) {
                policy = try Policy.load(contentsOf: url, catalog: catalog)
            } else if Policy.builtInNames.contains(given) {
                policy = try Policy.builtIn(named: given, catalog: catalog)
            } else {
                throw CLIError.usage("--policy '\(given)' is neither a file nor a built-in policy (\(Policy.builtInNames.joined(separator: ", ")))")
            }
            return try Router(policy: policy, catalog: catalog)
        } catch let error as CLIError {
            throw error
        } catch let error as PolicyError {
            switch error {
            case .invalid(let diagnostics): throw .data(diagnostics)
            default: throw .dataMessage(error.description)
            }
        } catch {
            throw .failure("\(error)")
        }
    }

    /// The `--tag KEY=VALUE` pairs; a malformed or repeated key is a usage error.
    static func tags(_ args: ParsedArguments) throws(CLIError) -> [String: String] {
        var tags: [String: String] = [:]
        for text in args.values("tag") {
            guard let eq = text.firstIndex(of: "="), eq != text.startIndex else {
                throw .usage("--tag '\(text)' is not KEY=VALUE (for example --tag customer=film)")
            }
            let key = String(text[..<eq])
            guard tags[key] == nil else { throw .usage("--tag \(key) is given more than once") }
            tags[key] = String(text[text.index(after: eq)...])
        }
        return tags
    }
}
