/// Truncated Monte-Carlo Shapley (Ghorbani and Zou, "Data Shapley: Equitable Valuation of Data for
/// Machine Learning", ICML 2019, Algorithm 1) with the K-nearest-neighbour utility.
///
/// Each iteration draws a random permutation and adds the points in its order, crediting each with
/// the change in validation accuracy it causes. Once the accuracy so far is closer than
/// `truncationTolerance` to the accuracy on all points (0 never truncates), the rest of the permutation is credited 0,
/// which is where the method saves its time.
///
/// **Stopping rule.** After at least `minimumPermutations`, sampling stops as soon as every point's
/// standard error of the mean is at most `errorTolerance`, or after `maximumPermutations`; the
/// result says which (`converged`).
public struct TruncatedMonteCarloShapley: Sendable {
    public var errorTolerance: Double
    public var truncationTolerance: Double
    public var minimumPermutations: Int
    public var maximumPermutations: Int
    public var seed: UInt64

    public init(
        errorTolerance: Double = 0.01, truncationTolerance: Double = 0.01, minimumPermutations: Int = 50,
        maximumPermutations: Int = 2000, seed: UInt64 = 1
    ) {
        self.errorTolerance = errorTolerance
        self.truncationTolerance = truncationTolerance
        self.minimumPermutations = minimumPermutations
        self.maximumPermutations = maximumPermutations
        self.seed = seed
    }

    public func values(
        utility: KNNUtility, control: ComputeControl = ComputeControl()
    ) throws -> MonteCarloEstimate {
        let n = utility.trainingCount
        let full = utility.accuracy(of: 0..<n)
        var moments = RunningMoments(points: n)
        var generator = SeededGenerator(seed: seed)
        var order = Array(0..<n)
        var permutations = 0
        var converged = false
        while permutations < maximumPermutations {
            try control.checkCancellation()
            order.shuffle(using: &generator)
            var state = utility.makeState()
            var previous = 0.0
            var truncated = false
            for index in order {
                if !truncated, abs(full - previous) < truncationTolerance { truncated = true }
                if truncated {
                    moments.add(0, to: index)
                    continue
                }
                state.insert(index)
                let score = state.accuracy
                moments.add(score - previous, to: index)
                previous = score
            }
            permutations += 1
            if permutations >= minimumPermutations, (0..<n).allSatisfy({ moments.standardError($0) <= errorTolerance })
            {
                converged = true
                break
            }
            control.report(Double(permutations) / Double(maximumPermutations))
        }
        return MonteCarloEstimate(
            values: moments.mean, standardErrors: (0..<n).map(moments.standardError), samples: permutations,
            converged: converged)
    }
}
