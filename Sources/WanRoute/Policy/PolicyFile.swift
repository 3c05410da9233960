import Foundation

/// Reads and validates `"kind": "policy"` documents (and checks the shape of `"kind":
/// "policy-tests"` documents), with the same diagnostics as pricing files: unknown keys are errors
/// with a "did you mean", every problem has the file, the JSON path and a sentence, and all
/// problems are reported at once. The format is documented in README.md ("Routing policies").
public enum PolicyFile {
    /// The most rules a policy may hold (the router tracks fired rules in one 64-bit word).
    public static let maximumRules = 64
    /// The most tag names a policy may declare in `tags`.
    public static let maximumDeclaredTags = 100

    /// Every problem in a policy or policy-tests file, errors and warnings; empty when the file is
    /// clean. Warnings (rules that can never fire, providers or tags nobody knows) do not stop
    /// ``Policy/load(_:catalog:)``. Use it for `wanroute validate`.
    public static func validate(_ file: SourceFile, catalog: PriceCatalog) -> [Diagnostic] {
        let sink = DiagnosticSink(file: file.name)
        guard let document = ParsedDocument.parse(file, sink: sink) else { return sink.diagnostics }
        switch DocumentKind(rawValue: document.kind) {
        case .policy: _ = readPolicy(document.root, sink: sink, catalog: catalog)
        case .policyTests: _ = PolicyTestFile.read(document.root, sink: sink)
        default: sink.error("$.kind", "\"\(document.kind)\" is not a policy document; policy files say \"policy\" or \"policy-tests\"")
        }
        return sink.diagnostics
    }

    // MARK: policy

    static func readPolicy(_ root: JSONValue, sink: DiagnosticSink, catalog: PriceCatalog?) -> Policy? {
        guard let r = ObjectReader(root, path: "$", sink: sink) else { return nil }
        let ctx = Context(sink: sink, catalog: catalog)
        DocumentHeader.read(r, as: .policy)
        let name = r.string("name")
        if let name, name.isEmpty { sink.error("$.name", "the name must not be empty") }
        let description = r.string("description", required: false)
        var knownTags: [String]?
        if let items = r.array("tags", required: false) {
            knownTags = items.compactMap { item, path in
                guard let s = item.stringValue, !s.isEmpty else {
                    sink.error(path, "expected a tag name such as \"customer\", found \(item.typeName)")
                    return nil
                }
                if let problem = Job.tagKeyProblem(s) { sink.error(path, problem); return nil }
                return s
            }
            // Checked here so every later lookup and message stays small.
            if items.count > maximumDeclaredTags {
                sink.error("$.tags", "\(items.count) tags; a policy declares at most \(maximumDeclaredTags)")
                knownTags = nil
            }
        }
        ctx.knownTags = knownTags
        let objective = r.value("objective", required: true).flatMap { ctx.objective($0, path: "$.objective") }
        let constraints = r.object("constraints", required: false).map { ctx.constraints($0, inRule: false) } ?? Constraints()
        let preference = r.value("prefer", required: false).flatMap { ctx.preference($0, path: "$.prefer") }
        var rules: [Rule] = []
        var rulePaths: [String] = []
        let ruleItems = r.array("rules", required: false) ?? []
        // Checked before any rule is read: reading and cross-checking thousands would be wasted work.
        let tooManyRules = ruleItems.count > maximumRules
        if tooManyRules {
            sink.error("$.rules", "\(ruleItems.count) rules; a policy holds at most \(maximumRules)")
        }
        var ids: [String: String] = [:]
        for (item, path) in tooManyRules ? [] : ruleItems {
            guard let o = ObjectReader(item, path: path, sink: sink) else { continue }
            if let rule = ctx.rule(o) {
                if let other = ids[rule.id] {
                    sink.error("\(path).id", "the rule id \"\(rule.id)\" is also used at \(other); give each rule its own id")
                } else {
                    ids[rule.id] = path
                }
                rules.append(rule)
                rulePaths.append(path)
            }
        }
        let failover = r.object("failover", required: false).map { ctx.failover($0) } ?? FailoverPlan()
        var budgets: [Budget] = []
        var budgetIDs: Set<String> = []
        for (item, path) in r.array("budgets", required: false) ?? [] {
            guard let o = ObjectReader(item, path: path, sink: sink) else { continue }
            if let b = ctx.budget(o) {
                if !budgetIDs.insert(b.id).inserted { sink.error("\(path).id", "the budget id \"\(b.id)\" is used twice; give each budget its own id") }
                budgets.append(b)
            }
        }
        let maxInFlight = r.value("max_in_flight", required: false).map { ctx.maxInFlight($0, path: "$.max_in_flight") } ?? [:]
        r.finish()
        ctx.warnUnreachableRules(rules, paths: rulePaths)
        guard let name, let objective else { return nil }
        return Policy(name: name, description: description, knownTags: knownTags, objective: objective, constraints: constraints,
                      preference: preference, rules: rules, failover: failover, budgets: budgets, maxInFlight: maxInFlight)
    }

    /// Shared state while reading one policy.
    final class Context {
        let sink: DiagnosticSink
        let catalog: PriceCatalog?
        var knownTags: [String]?

        init(sink: DiagnosticSink, catalog: PriceCatalog?) {
            self.sink = sink
            self.catalog = catalog
        }

        static let objectiveWords = ["cheapest", "best-quality", "fastest"]

        func objective(_ v: JSONValue, path: String) -> Objective? {
            switch v {
            case .string(let s):
                switch s {
                case "cheapest": return .cheapest
                case "best-quality": return .bestQuality
                case "fastest": return .fastest
                case "weighted":
                    sink.error(path, "a weighted objective is written {\"weights\": {\"cost\": 0.5, \"quality\": 0.3, \"latency\": 0.2}}")
                    return nil
                default:
                    var m = "\"\(s)\" is not an objective; use \"cheapest\", \"best-quality\", \"fastest\" or {\"weights\": {...}}"
                    if let g = Spelling.closest(to: s, among: Self.objectiveWords) { m += "; did you mean \"\(g)\"?" }
                    sink.error(path, m)
                    return nil
                }
            case .object:
                guard let o = ObjectReader(v, path: path, sink: sink), let w = o.object("weights") else { return nil }
                var micros: [Int64] = []
                var ok = true
                for key in ["cost", "quality", "latency"] {
                    guard let value = w.value(key, required: false) else { micros.append(0); continue }
                    guard case .number(let text) = value, case .success(let n) = FixedDecimal.parse(text, scale: 6) else {
                        sink.error(w.childPath(key), "expected a number from 0 to 1 such as 0.5, found \(value.typeName)")
                        ok = false
                        continue
                    }
                    if n < 0 { sink.error(w.childPath(key), "a weight must not be negative"); ok = false }
                    else if n > 1_000_000 { sink.error(w.childPath(key), "\(text) is above 1; each weight is from 0 to 1 and they sum to 1"); ok = false }
                    micros.append(n)
                }
                w.finish()
                o.finish()
                guard ok, micros.count == 3 else { return nil }
                let sum = micros.reduce(0, +)
                if sum != 1_000_000 {
                    sink.error(w.path, "the weights sum to \(FixedDecimal.format(sum, scale: 6)); make them sum to 1, such as cost 0.5, quality 0.3, latency 0.2")
                    return nil
                }
                return .weighted(Weights(costMicros: micros[0], qualityMicros: micros[1], latencyMicros: micros[2]))
            default:
                sink.error(path, "expected \"cheapest\", \"best-quality\", \"fastest\" or {\"weights\": {...}}, found \(v.typeName)")
                return nil
            }
        }

        func providerID(_ item: JSONValue, path: String) -> ProviderID? {
            guard let s = item.stringValue else {
                sink.error(path, "expected a provider id such as \"apixo\", found \(item.typeName)")
                return nil
            }
            guard let id = ProviderID(s) else {
                sink.error(path, "\"\(s)\" is not a provider id: use lower-case letters, digits and dashes, such as \"dashscope-intl\"")
                return nil
            }
            if let catalog, catalog.provider(id) == nil {
                let known = catalog.providers.map(\.id.rawValue)
                var m = "provider \"\(s)\" is not in the price catalog (\(known.joined(separator: ", ")))"
                if let g = Spelling.closest(to: s, among: known) { m += "; did you mean \"\(g)\"?" }
                sink.warning(path, m)
            }
            return id
        }

        func filter<E>(_ r: ObjectReader, _ key: String, parse: (JSONValue, String) -> E?) -> Filter<E>? {
            guard let f = r.object(key, required: false) else { return nil }
            func list(_ k: String) -> Set<E>? {
                guard let items = f.array(k, required: false) else { return nil }
                return Set(items.compactMap { parse($0.value, $0.path) })
            }
            let allow = list("allow")
            let deny = list("deny") ?? []
            f.finish()
            if let allow, allow.isEmpty, f.has("allow") { sink.warning(f.childPath("allow"), "an empty allow list refuses every offer") }
            return Filter(allow: allow, deny: deny)
        }

        func enumWord<E: RawRepresentable & CaseIterable>(_ item: JSONValue, path: String, as: E.Type) -> E? where E.RawValue == String {
            let allowed = E.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
            guard let s = item.stringValue else {
                sink.error(path, "expected one of \(allowed), found \(item.typeName)")
                return nil
            }
            guard let e = E(rawValue: s) else {
                sink.error(path, "\"\(s)\" is not one of \(allowed)")
                return nil
            }
            return e
        }

        func constraints(_ r: ObjectReader, inRule: Bool) -> Constraints {
            var c = Constraints()
            if let f = filter(r, "providers", parse: { self.providerID($0, path: $1) }) { c.providers = f }
            if let f = filter(r, "modes", parse: { self.enumWord($0, path: $1, as: Mode.self) }) { c.modes = f }
            if let f = filter(r, "resolutions", parse: { self.enumWord($0, path: $1, as: Resolution.self) }) { c.resolutions = f }
            if let m = r.object("max_cost", required: false) {
                c.maxCost = money(m)
                if let cost = c.maxCost, cost.currency != .usd, let catalog, catalog.exchangeRates.rate(for: cost.currency) == nil {
                    sink.error(m.childPath("currency"), "the price catalog has no exchange rate for \(cost.currency), so this limit cannot be compared in USD; write it in USD")
                }
            }
            c.maxLatency = r.decimal("max_latency_seconds", scale: Seconds.scale, required: false).map(Seconds.init(micros:))
            c.minQuality = r.integer("min_quality", in: 0...100, required: false).map { Int($0) }
            c.minConfidence = r.word("min_confidence", as: Confidence.self, required: false)
            if inRule, r.has("allow_quote_only") {
                _ = r.value("allow_quote_only", required: false)
                sink.error(r.childPath("allow_quote_only"), "only the policy's own constraints may allow quote-only providers; a rule can only add limits")
            } else {
                c.allowQuoteOnly = r.bool("allow_quote_only", required: false)
            }
            r.finish()
            return c
        }

        func money(_ o: ObjectReader) -> Money? {
            let amount = o.decimal("amount", scale: Money.scale)
            var currency: Currency?
            if let code = o.string("currency") {
                currency = Currency(code: code)
                if currency == nil {
                    sink.error(o.childPath("currency"), "\"\(code)\" is not a currency wanroute knows (\(Currency.known.map(\.code).joined(separator: ", ")))")
                }
            }
            o.finish()
            guard let amount, let currency else { return nil }
            return Money(nanos: amount, currency: currency)
        }

        func preference(_ v: JSONValue, path: String) -> Preference? {
            if case .array(let items) = v {
                return Preference(providers: items.enumerated().compactMap { providerID($0.element, path: "\(path)[\($0.offset)]") })
            }
            guard let o = ObjectReader(v, path: path, sink: sink) else { return nil }
            let providers = o.array("providers")?.compactMap { providerID($0.value, path: $0.path) }
            let rank = o.word("rank", as: Preference.Rank.self, required: false) ?? .tieBreak
            o.finish()
            guard let providers else { return nil }
            return Preference(providers: providers, rank: rank)
        }

        func rule(_ o: ObjectReader) -> Rule? {
            let id = o.string("id")
            if let id, id.isEmpty || id.contains(where: { $0 == " " }) {
                sink.error(o.childPath("id"), "a rule id is a short word without spaces, such as \"film-replace\"")
            }
            let description = o.string("description", required: false)
            let when = o.value("when", required: false).flatMap { condition($0, path: o.childPath("when")) } ?? (o.has("when") ? nil : .always)
            let objective = o.value("objective", required: false).flatMap { self.objective($0, path: o.childPath("objective")) }
            let constraints = o.object("constraints", required: false).map { self.constraints($0, inRule: true) } ?? Constraints()
            let preference = o.value("prefer", required: false).flatMap { self.preference($0, path: o.childPath("prefer")) }
            let stop = o.bool("stop", required: false) ?? false
            o.finish()
            if objective == nil, constraints == Constraints(), preference == nil, !o.has("objective"), !o.has("constraints"), !o.has("prefer") {
                sink.warning(o.path, "this rule changes nothing: give it an objective, constraints or prefer")
            }
            guard let id, let when else { return nil }
            return Rule(id: id, description: description, when: when, objective: objective, constraints: constraints, preference: preference, stop: stop)
        }

        // MARK: conditions

        static let conditionKeys = ["all", "any", "not", "behavior", "mode", "resolution", "duration", "tags"]
        static let valueOperators = ["eq", "ne", "in", "not_in", "exists"]

        func condition(_ v: JSONValue, path: String) -> Condition? {
            guard case .object(let members) = v else {
                sink.error(path, "expected a condition object such as {\"behavior\": \"replace\"}, found \(v.typeName)")
                return nil
            }
            if members.isEmpty {
                sink.error(path, "an empty condition; leave out \"when\" for a rule that always fires")
                return nil
            }
            var parts: [Condition] = []
            var ok = true
            for m in members {
                let p = "\(path).\(m.key)"
                var c: Condition?
                switch m.key {
                case "all", "any":
                    guard case .array(let items) = m.value, !items.isEmpty else {
                        sink.error(p, "expected a non-empty array of conditions, found \(m.value.typeName)")
                        ok = false
                        continue
                    }
                    let cs = items.enumerated().map { condition($0.element, path: "\(p)[\($0.offset)]") }
                    if cs.contains(where: { $0 == nil }) { ok = false; continue }
                    c = m.key == "all" ? .all(cs.map { $0! }) : .any(cs.map { $0! })
                case "not":
                    c = condition(m.value, path: p).map { .not($0) }
                case "behavior":
                    c = valueTests(m.value, path: p, subject: "behavior") { self.enumWord($0, path: $1, as: Behavior.self) }
                        .map { conj($0.map(Condition.behavior)) }
                    if let c { warnIfNotSold(c, path: p) }
                case "mode":
                    c = valueTests(m.value, path: p, subject: "mode") { self.enumWord($0, path: $1, as: Mode.self) }
                        .map { conj($0.map(Condition.mode)) }
                    if let c { warnIfNotSold(c, path: p) }
                case "resolution":
                    c = valueTests(m.value, path: p, subject: "resolution") { self.enumWord($0, path: $1, as: Resolution.self) }
                        .map { conj($0.map(Condition.resolution)) }
                    if let c { warnIfNotSold(c, path: p) }
                case "duration":
                    c = durationTests(m.value, path: p)
                case "tags":
                    guard case .object(let tags) = m.value, !tags.isEmpty else {
                        sink.error(p, "expected an object of tag tests such as {\"customer\": \"film\"}, found \(m.value.typeName)")
                        ok = false
                        continue
                    }
                    var tagParts: [Condition] = []
                    for t in tags {
                        let tp = "\(p).\(ObjectReader.excerpt(t.key))"
                        if let problem = Job.tagKeyProblem(t.key) { sink.error(tp, problem); ok = false; continue }
                        if let knownTags, !knownTags.contains(t.key) {
                            var msg = "tag \"\(t.key)\" is not among the policy's declared tags (\(knownTags.joined(separator: ", ")))"
                            if let g = Spelling.closest(to: t.key, among: knownTags) { msg += "; did you mean \"\(g)\"?" }
                            sink.warning(tp, msg)
                        }
                        guard let tests = valueTests(t.value, path: tp, subject: "a tag", parse: { (item: JSONValue, ip: String) -> String? in
                            guard let s = item.stringValue else {
                                self.sink.error(ip, "expected a tag value (a string), found \(item.typeName)")
                                return nil
                            }
                            return s
                        }) else { ok = false; continue }
                        tagParts += tests.map { Condition.tag(t.key, $0) }
                    }
                    c = conj(tagParts)
                default:
                    var msg = "unknown condition \"\(m.key)\"; a condition tests \"behavior\", \"mode\", \"resolution\", \"duration\" or \"tags\", or combines with \"all\", \"any\" and \"not\""
                    if let g = Spelling.closest(to: m.key, among: Self.conditionKeys) { msg += "; did you mean \"\(g)\"?" }
                    sink.error(p, msg)
                }
                if let c { parts.append(c) } else { ok = false }
            }
            guard ok else { return nil }
            return conj(parts)
        }

        func conj(_ parts: [Condition]) -> Condition { parts.count == 1 ? parts[0] : .all(parts) }

        /// A bare value (equality) or an object of operators, each becoming one test (all must hold).
        func valueTests<V>(_ v: JSONValue, path: String, subject: String, parse: (JSONValue, String) -> V?) -> [ValueTest<V>]? {
            switch v {
            case .string: return parse(v, path).map { [.equals($0)] }
            case .object(let ops):
                if ops.isEmpty {
                    sink.error(path, "an empty operator object; write a value or {\"in\": [...]}")
                    return nil
                }
                var tests: [ValueTest<V>] = []
                var ok = true
                for op in ops {
                    let p = "\(path).\(op.key)"
                    switch op.key {
                    case "eq": if let x = parse(op.value, p) { tests.append(.equals(x)) } else { ok = false }
                    case "ne": if let x = parse(op.value, p) { tests.append(.notEquals(x)) } else { ok = false }
                    case "in", "not_in":
                        guard case .array(let items) = op.value else {
                            sink.error(p, "expected an array of values, found \(op.value.typeName)")
                            ok = false
                            continue
                        }
                        let xs = items.enumerated().map { parse($0.element, "\(p)[\($0.offset)]") }
                        if xs.contains(where: { $0 == nil }) { ok = false; continue }
                        if xs.isEmpty { sink.warning(p, op.key == "in" ? "an empty list: this test is never true" : "an empty list: this test is always true") }
                        tests.append(op.key == "in" ? .oneOf(Set(xs.map { $0! })) : .noneOf(Set(xs.map { $0! })))
                    case "exists":
                        guard case .bool(let b) = op.value else {
                            sink.error(p, "expected true or false, found \(op.value.typeName)")
                            ok = false
                            continue
                        }
                        tests.append(.present(b))
                    default:
                        var msg = "\"\(op.key)\" is not an operator for \(subject); use eq, ne, in, not_in or exists"
                        if op.key.count > 2, let g = Spelling.closest(to: op.key, among: Self.valueOperators) { msg += "; did you mean \"\(g)\"?" }
                        sink.error(p, msg)
                        ok = false
                    }
                }
                return ok ? tests : nil
            default:
                sink.error(path, "expected a value such as \"720p\" or an operator object such as {\"in\": [\"480p\", \"720p\"]}, found \(v.typeName)")
                return nil
            }
        }

        func durationTests(_ v: JSONValue, path: String) -> Condition? {
            func seconds(_ value: JSONValue, _ p: String) -> Seconds? {
                sink.decimal(value, path: p, scale: Seconds.scale, example: "\"30\" or \"12.5\" (seconds)",
                             numberReason: "durations are compared exactly").map(Seconds.init(micros:))
            }
            if case .object(let ops) = v {
                if ops.isEmpty {
                    sink.error(path, "an empty operator object; write {\"gt\": \"30\"}")
                    return nil
                }
                var tests: [Condition] = []
                var ok = true
                for op in ops {
                    let p = "\(path).\(op.key)"
                    guard let o = DurationTest.Operator(rawValue: op.key) else {
                        var msg = "\"\(op.key)\" is not an operator for duration; use eq, ne, gt, gte, lt or lte"
                        if op.key.count > 2, let g = Spelling.closest(to: op.key, among: DurationTest.Operator.allCases.map(\.rawValue)) { msg += "; did you mean \"\(g)\"?" }
                        sink.error(p, msg)
                        ok = false
                        continue
                    }
                    if let s = seconds(op.value, p) { tests.append(.duration(DurationTest(o, s))) } else { ok = false }
                }
                return ok ? conj(tests) : nil
            }
            return seconds(v, path).map { .duration(DurationTest(.eq, $0)) }
        }

        func warnIfNotSold(_ c: Condition, path: String) {
            guard let catalog else { return }
            let behaviors = Set(catalog.offers.map(\.behavior)), modes = Set(catalog.offers.map(\.mode)), resolutions = Set(catalog.offers.map(\.resolution))
            func check<V: Hashable>(_ t: ValueTest<V>, _ sold: Set<V>, _ what: String, _ raw: (V) -> String) {
                switch t {
                case .equals(let v) where !sold.contains(v):
                    sink.warning(path, "no offer in the price catalog sells \(what) \(raw(v)), so this test is never true")
                case .oneOf(let s) where !s.isEmpty && s.isDisjoint(with: sold):
                    sink.warning(path, "no offer in the price catalog sells any of these \(what)s, so this test is never true")
                default: break
                }
            }
            for leaf in Self.leaves(c) {
                switch leaf {
                case .behavior(let t): check(t, behaviors, "behavior", \.rawValue)
                case .mode(let t): check(t, modes, "mode", \.rawValue)
                case .resolution(let t): check(t, resolutions, "resolution", \.rawValue)
                default: break
                }
            }
        }

        static func leaves(_ c: Condition) -> [Condition] {
            if case .all(let cs) = c { return cs.flatMap(leaves) }
            return [c]
        }

        // MARK: rules that cannot fire

        /// Why a condition can never hold, when that is cheap to see; nil otherwise.
        static func neverTrue(_ c: Condition) -> String? {
            switch c {
            case .any(let cs):
                let whys = cs.map(neverTrue)
                return whys.allSatisfy { $0 != nil } ? whys.compactMap { $0 }.first : nil
            case .behavior(.oneOf(let s)) where s.isEmpty: return "an empty \"in\" list"
            case .mode(.oneOf(let s)) where s.isEmpty: return "an empty \"in\" list"
            case .resolution(.oneOf(let s)) where s.isEmpty: return "an empty \"in\" list"
            case .tag(_, .oneOf(let s)) where s.isEmpty: return "an empty \"in\" list"
            case .all:
                let parts = leaves(c)
                for p in parts where p != c { if let why = neverTrue(p) { return why } }
                // Duration bounds.
                var low: (Int64, Bool)?   // (micros, strict)
                var high: (Int64, Bool)?
                for case .duration(let t) in parts {
                    switch t.op {
                    case .gt, .gte, .eq:
                        let b = (t.value.micros, t.op == .gt)
                        if low == nil || b.0 > low!.0 || (b.0 == low!.0 && b.1) { low = b }
                    default: break
                    }
                    switch t.op {
                    case .lt, .lte, .eq:
                        let b = (t.value.micros, t.op == .lt)
                        if high == nil || b.0 < high!.0 || (b.0 == high!.0 && b.1) { high = b }
                    default: break
                    }
                }
                if let low, let high, low.0 > high.0 || (low.0 == high.0 && (low.1 || high.1)) {
                    return "its duration bounds contradict each other (\(low.1 ? "above" : "from") \(Seconds(micros: low.0)) and \(high.1 ? "below" : "up to") \(Seconds(micros: high.0)))"
                }
                // Two different required values of one field.
                func clash<V: Hashable>(_ values: [V]) -> Bool { Set(values).count > 1 }
                var behaviors: [Behavior] = [], modes: [Mode] = [], resolutions: [Resolution] = [], tags: [String: [String]] = [:]
                for p in parts {
                    switch p {
                    case .behavior(.equals(let v)): behaviors.append(v)
                    case .mode(.equals(let v)): modes.append(v)
                    case .resolution(.equals(let v)): resolutions.append(v)
                    case .tag(let k, .equals(let v)): tags[k, default: []].append(v)
                    default: break
                    }
                }
                if clash(behaviors) || clash(modes) || clash(resolutions) || tags.values.contains(where: clash) {
                    return "it requires two different values of the same field"
                }
                return nil
            default:
                return nil
            }
        }

        func warnUnreachableRules(_ rules: [Rule], paths: [String]) {
            for (i, rule) in rules.enumerated() {
                if let why = Self.neverTrue(rule.when) {
                    sink.warning("\(paths[i]).when", "rule \"\(rule.id)\" can never fire: \(why)")
                    continue
                }
                if let earlier = rules[..<i].first(where: { $0.stop && ($0.when == .always || $0.when == rule.when) }) {
                    sink.warning(paths[i], "rule \"\(rule.id)\" is never reached: rule \"\(earlier.id)\" before it stops on \(earlier.when == .always ? "every job" : "the same condition")")
                }
            }
        }

        // MARK: failover and budgets

        func failover(_ o: ObjectReader) -> FailoverPlan {
            var plan = FailoverPlan()
            if let n = o.integer("alternates", in: 0...20, required: false) { plan.alternates = Int(n) }
            if let items = o.array("on", required: false) {
                plan.on = Set(items.compactMap { enumWord($0.value, path: $0.path, as: FailureClass.self) })
            }
            o.finish()
            if plan.alternates == 0, !plan.on.isEmpty, o.has("on") {
                sink.warning(o.childPath("on"), "there are no alternates to fail over to; set \"alternates\" above 0")
            }
            return plan
        }

        /// `{"dashscope-cn": 3}`: a whole number of tasks from 1 to 1000 per provider in the catalog.
        func maxInFlight(_ value: JSONValue, path: String) -> [ProviderID: Int] {
            guard case .object(let members) = value else {
                sink.error(path, "expected an object of provider ids and task counts such as {\"dashscope-cn\": 3}, found \(value.typeName)")
                return [:]
            }
            var limits: [ProviderID: Int] = [:]
            for m in members {
                let at = "\(path).\(m.key)"
                guard let id = providerID(.string(m.key), path: at) else { continue }
                guard case .number(let text) = m.value, let n = Int(text), (1...1_000).contains(n) else {
                    sink.error(at, "expected a whole number of tasks from 1 to 1000, found \(m.value.typeName == "a number" ? "\(m.value.wireText ?? "")" : m.value.typeName)")
                    continue
                }
                limits[id] = n
            }
            return limits
        }

        func budget(_ o: ObjectReader) -> Budget? {
            let id = o.string("id")
            let provider = o.value("provider", required: false).flatMap { providerID($0, path: o.childPath("provider")) }
            var tag = o.string("tag", required: false)
            if let t = tag, let problem = Job.tagKeyProblem(t) { sink.error(o.childPath("tag"), problem); tag = nil }
            let value = o.string("value", required: false)
            var monthly: Money?
            if let m = o.object("monthly") {
                monthly = money(m)
                if let amount = monthly, amount.currency != .usd {
                    sink.error(m.childPath("currency"), "budgets are kept in USD, like the spend they are checked against; write the amount in USD")
                    monthly = nil
                }
            }
            o.finish()
            if provider != nil, tag != nil { sink.error(o.path, "a budget covers a provider or a tag, not both; write two budgets") }
            if value != nil, tag == nil { sink.error(o.childPath("value"), "\"value\" needs a \"tag\"") }
            if let tag, let knownTags, !knownTags.contains(tag) {
                sink.warning(o.childPath("tag"), "tag \"\(tag)\" is not among the policy's declared tags (\(knownTags.joined(separator: ", ")))")
            }
            guard let id, let monthly else { return nil }
            let scope: Budget.Scope = provider.map { .provider($0) } ?? tag.map { .tag($0, value: value) } ?? .total
            return Budget(id: id, scope: scope, monthly: monthly)
        }
    }
}

extension Policy {
    /// Reads and validates a policy file against a catalog. Throws ``PolicyError/invalid(_:)`` with
    /// every diagnostic (errors and warnings) when there is any error; warnings alone do not stop it.
    public static func load(_ file: SourceFile, catalog: PriceCatalog) throws(PolicyError) -> Policy {
        let sink = DiagnosticSink(file: file.name)
        guard let root = ParsedDocument.parse(file, as: .policy, sink: sink) else { throw .invalid(sink.diagnostics) }
        let policy = PolicyFile.readPolicy(root, sink: sink, catalog: catalog)
        guard let policy, !sink.hasErrors else { throw .invalid(sink.diagnostics) }
        return policy
    }

    /// Reads a policy file from disk.
    public static func load(contentsOf url: URL, catalog: PriceCatalog) throws(PolicyError) -> Policy {
        let file: SourceFile
        do throws(SourceFileError) { file = try SourceFile.read(url) } catch {
            switch error { case .unreadable(let path, let reason): throw .unreadable(path: path, reason: reason) }
        }
        return try load(file, catalog: catalog)
    }

    /// The names of the policies built into the binary (a copy of the repository's `policies/`).
    public static var builtInNames: [String] {
        BuiltInDefaults.policies.filter { DocumentKind(of: $0) == .policy }.map { builtInName($0.name) }
    }

    /// A built-in policy by name (`production`, `cheapest`, ...).
    public static func builtIn(named name: String, catalog: PriceCatalog) throws(PolicyError) -> Policy {
        guard let file = builtInFile(named: name) else { throw .noSuchPolicy(name: name, known: builtInNames) }
        return try load(file, catalog: catalog)
    }

    /// The text of a built-in policy by name, or nil (for its ``SourceDigest/policy(_:)``).
    public static func builtInFile(named name: String) -> SourceFile? {
        BuiltInDefaults.policies.first { builtInName($0.name) == name && DocumentKind(of: $0) == .policy }
    }

    static func builtInName(_ fileName: String) -> String {
        let last = fileName.split(separator: "/").last.map(String.init) ?? fileName
        return last.hasSuffix(".json") ? String(last.dropLast(5)) : last
    }
}
