/// Money's stable wire forms, shared by every output, the ledger and embedders.
extension Money {
    /// `{"amount": "0.20", "currency": "USD"}`: the JSON form of money everywhere (a decimal
    /// string, never a JSON number, so no reader rounds it).
    public var json: JSONValue {
        .object([JSONMember("amount", .string(decimalString)), JSONMember("currency", .string(currency.code))])
    }

    /// The two CSV columns of an amount, `<name>_amount` and `<name>_currency`: the decimal string
    /// and the currency code, or two empty fields when the amount is unknown.
    public static func csvFields(_ money: Money?) -> [String] {
        [money?.decimalString ?? "", money?.currency.code ?? ""]
    }
}
