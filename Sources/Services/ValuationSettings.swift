import Foundation
public import Valuation

/// What data is worth and how much work one valuation job may take.
public struct ValuationSettings: Sendable {
    /// What each category of data is worth; docs/valuation.md documents the default.
    public var priceBook = PriceBook.standard
    public var limits = ValuationLimits()
    /// Threads a valuation job may use: by default half the cores, so requests keep the rest.
    public var threads = max(1, ProcessInfo.processInfo.activeProcessorCount / 2)

    public init() {}

    public init(reader: SettingsReader) throws(InvalidSetting) {
        let qspp = reader.scoped(to: "qspp")
        priceBook = try qspp.parsed("price.book", Self.readPriceBook(at:)) ?? priceBook
        let valuation = qspp.scoped(to: "valuation")
        threads = try valuation.integer("threads", atLeast: 1, default: threads)
        limits.maximumValidationPoints = try valuation.integer(
            "max.validation.points", atLeast: 1, default: limits.maximumValidationPoints)
        limits.maximumMonteCarloRecords = try valuation.integer(
            "max.monte.carlo.records", atLeast: 2, default: limits.maximumMonteCarloRecords)
    }

    /// A book that breaks a pricing rule is refused with that rule; one that cannot be read, with the path.
    private static func readPriceBook(at path: String) throws -> PriceBook {
        do {
            let book = try JSONDecoder().decode(PriceBook.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
            try book.validate()
            return book
        } catch let error as ValuationError {
            throw error
        } catch {
            throw SettingsReader.Refusal("cannot read '\(path)' as a price book (see docs/valuation.md)")
        }
    }
}
