/// Per-point estimates from sampling, with their standard errors.
public struct MonteCarloEstimate: Sendable, Equatable {
    public var values: [Double]
    public var standardErrors: [Double]
    /// Permutations (TMC-Shapley) or subsets (Banzhaf) sampled.
    public var samples: Int
    /// Whether the stopping rule was met before the sample budget ran out.
    public var converged: Bool
}

/// Welford's running mean and variance, per point.
struct RunningMoments {
    private(set) var count: [Int]
    private(set) var mean: [Double]
    private var squares: [Double]

    init(points: Int) {
        count = Array(repeating: 0, count: points)
        mean = Array(repeating: 0, count: points)
        squares = Array(repeating: 0, count: points)
    }

    mutating func add(_ value: Double, to point: Int) {
        count[point] += 1
        let delta = value - mean[point]
        mean[point] += delta / Double(count[point])
        squares[point] += delta * (value - mean[point])
    }

    /// The standard error of the mean; infinite until two samples exist.
    func standardError(_ point: Int) -> Double {
        guard count[point] > 1 else { return .infinity }
        let variance = squares[point] / Double(count[point] - 1)
        return (variance / Double(count[point])).squareRoot()
    }

    func variance(_ point: Int) -> Double {
        guard count[point] > 1 else { return .infinity }
        return squares[point] / Double(count[point] - 1)
    }
}
