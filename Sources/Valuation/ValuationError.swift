/// What can go wrong in data valuation. Descriptions name the offending field, never a value.
public struct ValuationError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        case invalidInput, notFound, conflict
    }

    private enum Base: Equatable, Sendable {
        case invalid(String)
        case emptyDataset
        case neighbours(k: Int, count: Int)
        case taskNotFound
        case jobNotFound
        case recordNotFound
        case jobFinished
    }

    private let base: Base

    private init(_ base: Base) { self.base = base }

    public static func invalid(_ why: String) -> Self { Self(.invalid(why)) }
    public static let emptyDataset = Self(.emptyDataset)
    public static func neighbours(_ k: Int, count: Int) -> Self { Self(.neighbours(k: k, count: count)) }
    public static let taskNotFound = Self(.taskNotFound)
    public static let jobNotFound = Self(.jobNotFound)
    public static let recordNotFound = Self(.recordNotFound)
    public static let jobFinished = Self(.jobFinished)

    public var kind: Kind {
        switch base {
        case .invalid, .emptyDataset, .neighbours: .invalidInput
        case .taskNotFound, .jobNotFound, .recordNotFound: .notFound
        case .jobFinished: .conflict
        }
    }

    public var description: String {
        switch base {
        case .invalid(let why): why
        case .emptyDataset: "the dataset has no usable records"
        case .neighbours(let k, let count):
            "k must be between 1 and the number of training records (\(count)); got \(k)"
        case .taskNotFound: "No such valuation task."
        case .jobNotFound: "No such valuation job."
        case .recordNotFound: "No such data record."
        case .jobFinished: "the job has already finished"
        }
    }
}
