import Foundation

/// A `"kind": "policy-tests"` document: jobs with the decision a policy must make for each.
///
/// It sits beside its policy (`policies/production.tests.json` tests the file named by its
/// `"policy"` key, relative to its own directory). Run it with ``Router/run(_:)`` or, for a whole
/// directory, ``PolicyTestSuite/run(files:catalog:)``.
public struct PolicyTestFile: Sendable, Equatable {
    /// The policy file tested, relative to this file's directory (`production.json`).
    public var policy: String
    /// The cases, in file order.
    public var cases: [PolicyTestCase]

    /// Creates a tests file (tests build them directly; files go through ``load(_:)``).
    public init(policy: String, cases: [PolicyTestCase]) {
        self.policy = policy
        self.cases = cases
    }

    /// Reads a tests file; throws ``PolicyError/invalid(_:)`` with every problem.
    public static func load(_ file: SourceFile) throws(PolicyError) -> PolicyTestFile {
        let sink = DiagnosticSink(file: file.name)
        guard let root = ParsedDocument.parse(file, as: .policyTests, sink: sink),
              let tests = read(root, sink: sink), !sink.hasErrors else { throw .invalid(sink.diagnostics) }
        return tests
    }

    static func read(_ root: JSONValue, sink: DiagnosticSink) -> PolicyTestFile? {
        guard let r = ObjectReader(root, path: "$", sink: sink) else { return nil }
        DocumentHeader.read(r, as: .policyTests)
        let policy = r.string("policy")
        var cases: [PolicyTestCase] = []
        var names: Set<String> = []
        let items = r.array("cases") ?? []
        if items.isEmpty, r.has("cases") { sink.error("$.cases", "a tests file needs at least one case") }
        for (item, path) in items {
            guard let o = ObjectReader(item, path: path, sink: sink) else { continue }
            if let c = readCase(o) {
                if !names.insert(c.name).inserted { sink.error("\(path).name", "the case name \"\(c.name)\" is used twice") }
                cases.append(c)
            }
        }
        r.finish()
        guard let policy else { return nil }
        return PolicyTestFile(policy: policy, cases: cases)
    }

    static func readCase(_ o: ObjectReader) -> PolicyTestCase? {
        let sink = o.sink
        let name = o.string("name")
        var job: Job?
        if let j = o.object("job") {
            let behavior = j.word("behavior", as: Behavior.self)
            var duration = j.decimal("duration", scale: Seconds.scale).map(Seconds.init(micros:))
            if let d = duration, !d.isValidJobDuration {
                sink.error(j.childPath("duration"), "a job's duration must be more than 0 s")
                duration = nil
            }
            let resolution = j.word("resolution", as: Resolution.self, required: false)
            let mode = j.word("mode", as: Mode.self, required: false)
            let tags = j.stringMap("tags")
            j.finish()
            if let behavior, let duration { job = Job(behavior: behavior, duration: duration, resolution: resolution, mode: mode, tags: tags) }
        }
        var spend = SpendSnapshot()
        if let s = o.value("spend", required: false) {
            if case .object(let members) = s {
                for m in members {
                    let p = "\(o.childPath("spend")).\(m.key)"
                    guard let key = BudgetKey(m.key) else {
                        sink.error(p, "\"\(m.key)\" is not a budget key; write \"total\", \"provider:ID\" or \"tag:KEY=VALUE\"")
                        continue
                    }
                    guard let n = sink.decimal(m.value, path: p, scale: Money.scale, example: "\"120.50\" (USD spent this month)") else {
                        continue
                    }
                    spend.addSpent(Money(nanos: n, currency: .usd), to: key)
                }
            } else {
                sink.error(o.childPath("spend"), "expected an object such as {\"total\": \"120.50\"}, found \(s.typeName)")
            }
        }
        var expectation: PolicyTestCase.Expectation?
        if let e = o.object("expect") {
            let rules = e.array("rules", required: false)?.compactMap { item, path -> String? in
                guard let s = item.stringValue else { sink.error(path, "expected a rule id, found \(item.typeName)"); return nil }
                return s
            }
            if e.bool("refused", required: false) == true {
                let reason = e.string("reason_contains", required: false)
                for key in ["provider", "mode", "resolution", "cost", "usd"] where e.has(key) {
                    _ = e.value(key, required: false)
                    sink.error(e.childPath(key), "a refused case expects no \(key)")
                }
                expectation = .refused(reasonContains: reason, rules: rules)
            } else {
                let provider = e.string("provider").flatMap { s -> ProviderID? in
                    let id = ProviderID(s)
                    if id == nil { sink.error(e.childPath("provider"), "\"\(s)\" is not a provider id") }
                    return id
                }
                let mode = e.word("mode", as: Mode.self, required: false)
                let resolution = e.word("resolution", as: Resolution.self, required: false)
                var cost: Money?
                if let c = e.object("cost", required: false) { cost = PolicyFile.Context(sink: sink, catalog: nil).money(c) }
                let usd = e.decimal("usd", scale: Money.scale, required: false).map { Money(nanos: $0, currency: .usd) }
                if let provider {
                    expectation = .choice(provider: provider, mode: mode, resolution: resolution, cost: cost, usd: usd, rules: rules)
                }
            }
            e.finish()
        }
        o.finish()
        guard let name, let job, let expectation else { return nil }
        return PolicyTestCase(name: name, job: job, spend: spend, expectation: expectation)
    }
}

/// One job and the decision expected for it.
public struct PolicyTestCase: Sendable, Equatable {
    /// What the router must decide.
    public enum Expectation: Sendable, Equatable {
        /// This provider (and mode, resolution, cost in the offer's currency, USD cost when given),
        /// with exactly these rules fired when `rules` is given.
        case choice(provider: ProviderID, mode: Mode?, resolution: Resolution?, cost: Money?, usd: Money?, rules: [String]?)
        /// No offer qualifies; when given, some rejection's sentence contains `reasonContains`.
        case refused(reasonContains: String?, rules: [String]?)
    }

    /// The case's name, shown in reports.
    public var name: String
    /// The job to decide.
    public var job: Job
    /// Month-to-date spend (USD) by budget key.
    public var spend: SpendSnapshot
    /// The decision the policy must make.
    public var expectation: Expectation

    /// Creates a case; by default with no spend so far.
    public init(name: String, job: Job, spend: SpendSnapshot = .none, expectation: Expectation) {
        self.name = name
        self.job = job
        self.spend = spend
        self.expectation = expectation
    }
}

/// The outcome of a policy's test cases.
public struct PolicyTestReport: Sendable, Equatable {
    /// One case's outcome.
    public struct CaseResult: Sendable, Equatable {
        /// The case's name.
        public let name: String
        /// Nil when the case passed; else a plain sentence saying what differed.
        public let difference: String?
        /// Whether the case passed.
        public var passed: Bool { difference == nil }
    }

    /// The policy tested (its name).
    public let policy: String
    /// One result per case, in file order.
    public let results: [CaseResult]
    /// Ids of rules that fired in no case: behaviour nobody tested.
    public let untestedRules: [String]

    /// Whether every case passed.
    public var passed: Bool { results.allSatisfy(\.passed) }
}

extension Router {
    /// Runs test cases against this router's policy.
    public func run(_ tests: PolicyTestFile) -> PolicyTestReport {
        var firedEver: UInt64 = 0
        var results: [PolicyTestReport.CaseResult] = []
        for c in tests.cases {
            let d = decide(c.job, spend: c.spend)
            firedEver |= d.fired
            results.append(.init(name: c.name, difference: Self.difference(c.expectation, d)))
        }
        let untested = policy.rules.indices.filter { firedEver & (1 << UInt64($0)) == 0 }.map { policy.rules[$0].id }
        return PolicyTestReport(policy: policy.name, results: results, untestedRules: untested)
    }

    static func difference(_ expected: PolicyTestCase.Expectation, _ d: Decision) -> String? {
        var problems: [String] = []
        func checkRules(_ rules: [String]?) {
            if let rules, rules != d.firedRules {
                problems.append("expected rules [\(rules.joined(separator: ", "))] to fire, but [\(d.firedRules.joined(separator: ", "))] fired")
            }
        }
        switch expected {
        case .choice(let provider, let mode, let resolution, let cost, let usd, let rules):
            guard let choice = d.choice else {
                let why = d.rejected.map(\.description).joined(separator: "; ")
                return "expected \(provider), but the policy refused the job (\(d.refusal ?? "")): \(why)"
            }
            let o = choice.offer
            let got = "\(o.provider) \(o.mode.rawValue) \(o.resolution.rawValue)"
            if o.provider != provider { problems.append("expected provider \(provider), got \(got)") }
            if let mode, o.mode != mode { problems.append("expected mode \(mode.rawValue), got \(got)") }
            if let resolution, o.resolution != resolution { problems.append("expected resolution \(resolution.rawValue), got \(got)") }
            if let cost, choice.estimate.cost != cost {
                problems.append("expected cost \(cost), got \(choice.estimate.cost.map(\.description) ?? "unknown")")
            }
            if let usd, choice.estimate.usd != usd {
                problems.append("expected a USD cost of \(usd), got \(choice.estimate.usd.map(\.description) ?? "unknown")")
            }
            checkRules(rules)
        case .refused(let reason, let rules):
            if let c = d.choice {
                problems.append("expected a refusal, but the policy chose \(c.offer.provider) \(c.offer.mode.rawValue) \(c.offer.resolution.rawValue) at \(c.estimate.usd.map(\.description) ?? "an unknown cost")")
            } else if let reason, !d.rejected.contains(where: { $0.description.contains(reason) }) {
                problems.append("expected a rejection saying \"\(reason)\", but the reasons were: \(d.rejected.map(\.description).joined(separator: "; "))")
            }
            checkRules(rules)
        }
        return problems.isEmpty ? nil : problems.joined(separator: "; ")
    }
}

/// Runs every policy-tests file of a directory (or a list of files) against the policies they name.
public enum PolicyTestSuite {
    /// One tests file's outcome.
    public struct Outcome: Sendable, Equatable {
        /// The tests file.
        public let file: String
        /// Its cases' outcome.
        public let report: PolicyTestReport
    }

    /// Runs the `"kind": "policy-tests"` files among `files`; each names its policy file, looked up
    /// among `files` by name in the same directory. Throws when a file or its policy is invalid.
    public static func run(files: [SourceFile], catalog: PriceCatalog) throws(PolicyError) -> [Outcome] {
        var outcomes: [Outcome] = []
        for file in files where DocumentKind(of: file) == .policyTests {
            let tests = try PolicyTestFile.load(file)
            let dir = file.name.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            let wanted = dir.isEmpty ? tests.policy : "\(dir)/\(tests.policy)"
            guard let policyFile = files.first(where: { $0.name == wanted }) else {
                throw .invalid([Diagnostic(file: file.name, path: "$.policy", message: "no policy file \(wanted) beside this tests file")])
            }
            let router = try Router(policy: Policy.load(policyFile, catalog: catalog), catalog: catalog)
            outcomes.append(Outcome(file: file.name, report: router.run(tests)))
        }
        return outcomes
    }

    /// Runs every tests file in a directory (`*.json`, sorted by name).
    public static func run(directory: URL, catalog: PriceCatalog) throws(PolicyError) -> [Outcome] {
        let files: [SourceFile]
        do throws(SourceFileError) { files = try SourceFile.jsonFiles(in: directory) } catch {
            switch error { case .unreadable(let path, let reason): throw .unreadable(path: path, reason: reason) }
        }
        return try run(files: files, catalog: catalog)
    }

    /// Runs the tests built into the binary against the built-in policies.
    public static func runBuiltIn(catalog: PriceCatalog) throws(PolicyError) -> [Outcome] {
        try run(files: BuiltInDefaults.policies, catalog: catalog)
    }
}
