public import Foundation

/// The data-valuation methods a task can use.
public enum MethodName: String, Sendable, Codable, CaseIterable {
    case knnShapley = "knn_shapley"
    case tmcShapley = "tmc_shapley"
    case dataBanzhaf = "data_banzhaf"
}

/// A method and its parameters. Unset parameters take the documented defaults.
public struct MethodSpec: Sendable, Codable, Equatable {
    public var name: MethodName
    public var k: Int
    /// Monte-Carlo methods: stop once every standard error is at most this.
    public var errorTolerance: Double?
    /// TMC-Shapley: credit 0 once accuracy is this close to the full dataset's.
    public var truncationTolerance: Double?
    /// Monte-Carlo methods: the sample budget (permutations or subsets).
    public var maximumSamples: Int?
    public var seed: UInt64?

    public init(
        name: MethodName, k: Int, errorTolerance: Double? = nil, truncationTolerance: Double? = nil,
        maximumSamples: Int? = nil, seed: UInt64? = nil
    ) {
        self.name = name
        self.k = k
        self.errorTolerance = errorTolerance
        self.truncationTolerance = truncationTolerance
        self.maximumSamples = maximumSamples
        self.seed = seed
    }

    var tmc: TruncatedMonteCarloShapley {
        var method = TruncatedMonteCarloShapley()
        if let errorTolerance { method.errorTolerance = errorTolerance }
        if let truncationTolerance { method.truncationTolerance = truncationTolerance }
        if let maximumSamples { method.maximumPermutations = maximumSamples }
        if let seed { method.seed = seed }
        return method
    }

    var banzhaf: DataBanzhaf {
        var method = DataBanzhaf()
        if let errorTolerance { method.errorTolerance = errorTolerance }
        if let maximumSamples { method.maximumSamples = maximumSamples }
        if let seed { method.seed = seed }
        return method
    }
}

/// One point of a task's validation set: feature values by attribute name, and its label.
public struct ValidationPoint: Sendable, Codable, Equatable {
    public var features: [String: Double]
    public var label: String

    public init(features: [String: Double], label: String) {
        self.features = features
        self.label = label
    }
}

/// Limits that keep one task from taking the server over.
public struct ValuationLimits: Sendable, Equatable {
    public var maximumValidationPoints = 5_000
    public var maximumFeatures = 256
    /// The Monte-Carlo methods evaluate a model per point per sample; beyond this, use knn_shapley.
    public var maximumMonteCarloRecords = 2_000
    public var maximumSamples = 100_000
    public init() {}
}

/// What an admin asks to be valued: the consented records of one category, described by some of
/// their numeric attributes and a label, scored against a validation set with a method.
public struct ValuationTask: Sendable, Codable, Equatable, Identifiable {
    public var id: UUID
    public var name: String
    public var category: String
    public var features: [String]
    public var label: String
    public var validation: [ValidationPoint]
    public var method: MethodSpec
    /// Money to split among subjects in proportion to their positive values, in the price book's currency.
    public var payoutPool: Double?
    public var createdAt: Date
    public var createdBy: String

    public init(
        id: UUID = UUID(), name: String, category: String, features: [String], label: String,
        validation: [ValidationPoint], method: MethodSpec, payoutPool: Double?, createdAt: Date = Date(),
        createdBy: String
    ) {
        self.id = id
        self.name = name
        self.category = category
        self.features = features
        self.label = label
        self.validation = validation
        self.method = method
        self.payoutPool = payoutPool
        self.createdAt = createdAt
        self.createdBy = createdBy
    }

    /// Checks everything that can be checked before any record is read.
    public func validate(limits: ValuationLimits, priceBook: PriceBook) throws(ValuationError) {
        guard !name.isEmpty, name.count <= 200 else { throw .invalid("name: 1 to 200 characters") }
        guard priceBook.categories[category] != nil else { throw .invalid("category: not in the price book") }
        guard !features.isEmpty, features.count <= limits.maximumFeatures else {
            throw .invalid("features: between 1 and \(limits.maximumFeatures) attribute names")
        }
        guard Set(features).count == features.count else { throw .invalid("features: names must be distinct") }
        guard !label.isEmpty else { throw .invalid("label: an attribute name is needed") }
        guard !features.contains(label) else { throw .invalid("label: must not also be a feature") }
        guard !validation.isEmpty else { throw .invalid("validation: at least one point is needed") }
        guard validation.count <= limits.maximumValidationPoints else {
            throw .invalid("validation: at most \(limits.maximumValidationPoints) points")
        }
        for (index, point) in validation.enumerated() {
            guard !point.label.isEmpty else { throw .invalid("validation[\(index)].label: missing") }
            guard point.features.count == features.count, features.allSatisfy({ point.features[$0] != nil }) else {
                throw .invalid("validation[\(index)].features: needs exactly \(features.joined(separator: ", "))")
            }
            guard point.features.values.allSatisfy(\.isFinite) else {
                throw .invalid("validation[\(index)].features: must be finite numbers")
            }
        }
        guard method.k >= 1 else { throw .invalid("method.k: must be at least 1") }
        if let tolerance = method.errorTolerance, !(tolerance > 0 && tolerance.isFinite) {
            throw .invalid("method.errorTolerance: must be positive")
        }
        if let tolerance = method.truncationTolerance, !(tolerance >= 0 && tolerance <= 1) {
            throw .invalid("method.truncationTolerance: must be between 0 and 1")
        }
        if let samples = method.maximumSamples, !(1...limits.maximumSamples).contains(samples) {
            throw .invalid("method.maximumSamples: between 1 and \(limits.maximumSamples)")
        }
        if let pool = payoutPool, !(pool >= 0 && pool.isFinite) {
            throw .invalid("payoutPool: must be a non-negative amount")
        }
    }
}
