/// The run line: one job's report as the stable JSON object `wanroute run` prints, the ledger
/// stores and embedders read (documented in README, "Running jobs"). Keys are never renamed or
/// removed; new keys may be added.
extension JobReport {
    /// The report as its stable JSON object.
    public var json: JSONValue {
        .object([
            JSONMember("id", .string(id)),
            JSONMember("status", .string(status.rawValue)),
            JSONMember("provider", .optional(provider?.rawValue)),
            JSONMember("mode", .optional(mode?.rawValue)),
            JSONMember("resolution", .optional(resolution?.rawValue)),
            JSONMember("task_id", .optional(taskID)),
            JSONMember("result_url", .optional(resultURL)),
            JSONMember("estimated_cost", estimatedCost?.json ?? .null),
            JSONMember("actual_cost", actualCost?.json ?? .null),
            JSONMember("actual_cost_source", .optional(actualCostSource?.rawValue)),
            JSONMember("estimated_usd", Self.usdJSON(estimatedUSD, converted: estimatedCost?.currency != .usd)),
            JSONMember("actual_usd", Self.usdJSON(actualUSD, converted: actualCost?.currency != .usd)),
            JSONMember("cost_alert", .optional(costAlert)),
            JSONMember("billed", billed?.json ?? .null),
            JSONMember("attempts", .array(attempts.map(\.json))),
            JSONMember("message", .string(message)),
        ])
    }

    /// `{"amount", "currency": "USD", "converted"}` (as `quote` writes `usd`), or null.
    static func usdJSON(_ usd: Money?, converted: Bool) -> JSONValue {
        usd.map { .object([JSONMember("amount", .string($0.decimalString)), JSONMember("currency", .string("USD")), JSONMember("converted", .bool(converted))]) } ?? .null
    }

    /// The report as one compact JSON line, newline included.
    public var jsonLine: String { JSONWriter.compact(json) + "\n" }
}

extension Attempt {
    /// The attempt as the stable JSON object inside a run line's `attempts`.
    public var json: JSONValue {
        .object([
            JSONMember("provider", .string(provider.rawValue)),
            JSONMember("mode", .string(mode.rawValue)),
            JSONMember("resolution", .string(resolution.rawValue)),
            JSONMember("task_id", .optional(taskID)),
            JSONMember("outcome", .string(outcome.rawValue)),
            JSONMember("failure", .optional(failure?.rawValue)),
            JSONMember("submissions", .number(String(submissions))),
            JSONMember("actual_cost", actualCost?.json ?? .null),
            JSONMember("actual_cost_source", .optional(actualCostSource?.rawValue)),
            JSONMember("detail", .string(detail)),
        ])
    }
}

extension BilledQuantity {
    /// `{"seconds", "ratio", "credits", "cost"}`: the first three strings or null, as the provider
    /// reported them; `cost` the money it reported (`{"amount", "currency"}`) or null.
    public var json: JSONValue {
        .object([
            JSONMember("seconds", .optional(seconds?.decimalString)),
            JSONMember("ratio", .optional(ratio)),
            JSONMember("credits", .optional(credits)),
            JSONMember("cost", cost?.json ?? .null),
        ])
    }
}
