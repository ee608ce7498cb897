extension PriceBook {
    private static let ft2013 = "Financial Times, 'How much is your personal data worth?', 12 June 2013"
    private static let oecd2013 =
        "OECD (2013), 'Exploring the Economics of Personal Data', OECD Digital Economy Papers No. 220"
    private static let policy = "no public market price; a policy value of this deployment"

    /// The default price book (USD per record). See docs/valuation.md for how each figure was chosen.
    public static let standard = PriceBook(
        currency: "USD", sensitivityMultiplier: 3, freshnessHalfLifeDays: 365,
        categories: [
            "demographics": .init(
                base: 0.0007, low: 0.0005, high: 0.001, special: false,
                expectedAttributes: ["age", "gender", "postcode"], source: ft2013),
            "purchase_intent": .init(
                base: 0.0021, low: 0.0005, high: 0.0026, special: false,
                expectedAttributes: ["product", "budget", "horizon_days"], source: ft2013),
            "life_events": .init(
                base: 0.11, low: 0.05, high: 0.11, special: false,
                expectedAttributes: ["event", "expected_date"], source: ft2013),
            "health": .init(
                base: 0.26, low: 0.1, high: 0.3, special: true,
                expectedAttributes: ["condition", "since"], source: ft2013),
            "contact": .init(
                base: 0.5, low: 0.25, high: 1, special: false,
                expectedAttributes: ["email", "postcode"], source: oecd2013),
            "financial": .init(
                base: 2, low: 0.5, high: 2.5, special: false,
                expectedAttributes: ["income_band", "credit_score"], source: oecd2013),
            "biometric": .init(
                base: 1, low: 0.5, high: 2, special: true, expectedAttributes: ["kind", "template_version"],
                source: policy),
            "measurements": .init(
                base: 0.01, low: 0.001, high: 0.05, special: false, expectedAttributes: [], source: policy),
            "other": .init(
                base: 0.0005, low: 0.0001, high: 0.005, special: false, expectedAttributes: [], source: policy),
        ])
}
