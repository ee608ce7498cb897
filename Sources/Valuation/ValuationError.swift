/// What can go wrong in data valuation. Descriptions name the offending field, never a value.
public struct ValuationError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        case invalidInput, notFound, conflict
    }
    public let kind: Kind
    public let description: String

    private init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    public static func invalid(_ why: String) -> Self { Self(.invalidInput, why) }
    public static let emptyDataset = Self(.invalidInput, "the dataset has no usable records")
    public static func neighbours(_ k: Int, count: Int) -> Self {
        Self(.invalidInput, "k must be between 1 and the number of training records (\(count)); got \(k)")
    }
    public static let taskNotFound = Self(.notFound, "No such valuation task.")
    public static let jobNotFound = Self(.notFound, "No such valuation job.")
    public static let recordNotFound = Self(.notFound, "No such data record.")
    public static let jobFinished = Self(.conflict, "the job has already finished")
}
