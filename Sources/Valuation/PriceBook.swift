public import Foundation

/// What a record of each category is worth before any data-valuation method looks at it, and the
/// multipliers applied to it. The figures and their sources are in docs/valuation.md; deployments
/// override them with `QSPP_PRICE_BOOK` (a JSON file of this shape).
public struct PriceBook: Sendable, Codable, Equatable {
    public struct Category: Sendable, Codable, Equatable {
        /// Market value of one record, in `currency`: the midpoint of the published range.
        public var base: Double
        /// The published range, used for the confidence of a price-book value.
        public var low: Double
        public var high: Double
        /// A special category of GDPR Art. 9 (health, biometrics, beliefs, …).
        public var special: Bool
        /// The attributes a complete record of this category has.
        public var expectedAttributes: [String]
        public var source: String

        public init(
            base: Double, low: Double, high: Double, special: Bool, expectedAttributes: [String], source: String
        ) {
            self.base = base
            self.low = low
            self.high = high
            self.special = special
            self.expectedAttributes = expectedAttributes
            self.source = source
        }
    }

    public var currency: String
    /// Multiplier for special-category (or self-declared sensitive) data.
    public var sensitivityMultiplier: Double
    /// A record's value halves every this many days after it was observed.
    public var freshnessHalfLifeDays: Double
    public var categories: [String: Category]

    /// The breakdown of one record's price.
    public struct Price: Sendable, Equatable, Codable {
        public var base: Double
        public var sensitivity: Double
        public var freshness: Double
        public var completeness: Double
        public var value: Double
    }

    public func price(_ category: String, attributes: Set<String>, sensitive: Bool, ageDays: Double) -> Price? {
        guard let entry = categories[category] else { return nil }
        let sensitivity = entry.special || sensitive ? sensitivityMultiplier : 1
        let freshness = pow(0.5, max(0, ageDays) / freshnessHalfLifeDays)
        let expected = entry.expectedAttributes
        let completeness =
            expected.isEmpty ? 1 : Double(expected.filter(attributes.contains).count) / Double(expected.count)
        return Price(
            base: entry.base, sensitivity: sensitivity, freshness: freshness, completeness: completeness,
            value: entry.base * sensitivity * freshness * completeness)
    }

    public func price(_ record: DataRecord, at now: Date) -> Price? {
        price(
            record.category, attributes: Set(record.content.attributes.keys), sensitive: false,
            ageDays: now.timeIntervalSince(record.recordedAt) / 86_400)
    }

    /// How far the published range lets a price be trusted: 1 − (high − low) / (high + low).
    public func rangeConfidence(_ category: String) -> Double {
        guard let entry = categories[category], entry.high + entry.low > 0 else { return 0 }
        return max(0, 1 - (entry.high - entry.low) / (entry.high + entry.low))
    }

    public func validate() throws(ValuationError) {
        guard !categories.isEmpty else { throw .invalid("price book: no categories") }
        guard sensitivityMultiplier >= 1, sensitivityMultiplier.isFinite else {
            throw .invalid("price book: sensitivityMultiplier must be at least 1")
        }
        guard freshnessHalfLifeDays > 0, freshnessHalfLifeDays.isFinite else {
            throw .invalid("price book: freshnessHalfLifeDays must be positive")
        }
        for (name, entry) in categories {
            guard entry.low >= 0, entry.low <= entry.base, entry.base <= entry.high, entry.high.isFinite else {
                throw .invalid("price book: \(name) needs 0 ≤ low ≤ base ≤ high")
            }
        }
    }
}
