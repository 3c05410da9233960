import Foundation
import WanRouteTestSupport
@testable import WanRoute

/// Builds routers from small inline policies against the shipped catalog.
enum Policies {
    static let catalog: PriceCatalog = try! Repository.catalog()

    /// A policy document from the members after `kind`, `version` and `name`.
    static func text(_ body: String) -> String {
        "{\"kind\": \"policy\", \"version\": 1, \"name\": \"t\", \(body)}"
    }

    static func router(_ body: String) throws -> Router {
        try Router(policy: Policy.load(SourceFile(name: "t.json", text: text(body)), catalog: catalog), catalog: catalog)
    }

    static func production() throws -> Router {
        try Router(policy: Policy.builtIn(named: "production", catalog: catalog), catalog: catalog)
    }
}

func job(_ behavior: Behavior = .animate, _ seconds: String, _ resolution: Resolution? = nil, _ mode: Mode? = nil, tags: [String: String] = [:]) -> Job {
    Job(behavior: behavior, duration: Seconds(decimal: seconds)!, resolution: resolution, mode: mode, tags: tags)
}

func usd(_ s: String) -> Money { Money(decimal: s, currency: .usd)! }

extension Decision {
    var choiceKey: String? { choice.map { "\($0.offer.provider)/\($0.offer.mode.rawValue)/\($0.offer.resolution.rawValue)" } }
    func reasons(_ provider: String, _ mode: Mode, _ resolution: Resolution) -> [String] {
        rejected.first { $0.offer.provider.rawValue == provider && $0.offer.mode == mode && $0.offer.resolution == resolution }?.reasons.map(\.description) ?? []
    }
}
