/// Checks any mix of wanroute data files (pricing tables, exchange rates, policies and their
/// test cases) and reports
/// every problem in all of them at once.
///
/// Use it behind `wanroute validate`, or in a service's own start-up checks.
public enum DataFileValidator {
    /// The diagnostics of `files`, errors and warnings, in file order.
    ///
    /// Pricing files are also checked as a set (one file per provider; a rate for every currency).
    /// When the set has no exchange-rates file, the built-in one stands in, so a single pricing
    /// file can be checked on its own.
    public static func validate(_ files: [SourceFile]) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        var pricing: [SourceFile] = []
        var rates: [SourceFile] = []
        var policies: [SourceFile] = []
        var contracts: [SourceFile] = []
        for file in files {
            let result = PricingFile.read(file)
            switch result.content {
            case .provider: pricing.append(file)
            case .exchangeRates: rates.append(file)
            case .contract: contracts.append(file)
            case .other(DocumentKind.policy.rawValue), .other(DocumentKind.policyTests.rawValue):
                policies.append(file)
            case .other(let kind):
                let kinds = DocumentKind.dataFiles.map(\.rawValue)
                var message = "\"\(kind)\" is not a kind of file wanroute reads (\(kinds.map { "\"\($0)\"" }.joined(separator: ", ")))"
                if let guess = Spelling.closest(to: kind, among: kinds) { message += "; did you mean \"\(guess)\"?" }
                diagnostics.append(Diagnostic(file: file.name, path: "$.kind", message: message))
            case .none:
                // Unreadable or invalid: report what reading found; a set check would repeat it.
                diagnostics += result.diagnostics
            }
        }
        // Policies are checked against the pricing files being checked, or the built-in catalog.
        var catalog: PriceCatalog? = try? PriceCatalog.builtIn()
        if !pricing.isEmpty {
            let set = pricing + (rates.isEmpty ? BuiltInDefaults.pricing.filter { $0.name.hasSuffix("/exchange-rates.json") } : rates)
            do {
                let loaded = try PriceCatalog.load(files: set)
                diagnostics += loaded.warnings
                catalog = loaded
            } catch {
                if case .invalid(let d) = error { diagnostics += d }
            }
        } else {
            for file in rates { diagnostics += PricingFile.read(file).diagnostics }
        }
        if let catalog {
            for file in policies { diagnostics += PolicyFile.validate(file, catalog: catalog) }
        }
        // Contract prices are checked laid over the pricing files being checked, or the built-in tables.
        let base = pricing.isEmpty ? BuiltInDefaults.pricing : pricing + rates
        for file in contracts {
            do {
                _ = try PriceCatalog.load(files: base, overlays: [file])
            } catch {
                if case .invalid(let d) = error { diagnostics += d.filter { $0.file == file.name } }
            }
        }
        let order = Dictionary(files.enumerated().map { ($0.element.name, $0.offset) }, uniquingKeysWith: { a, _ in a })
        return diagnostics.enumerated().sorted {
            let (a, b) = (order[$0.element.file] ?? .max, order[$1.element.file] ?? .max)
            return a != b ? a < b : $0.offset < $1.offset
        }.map(\.element)
    }
}
