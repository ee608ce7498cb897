/// Data Banzhaf values (Wang and Jia, "Data Banzhaf: A Robust Data Valuation Framework for Machine
/// Learning", AISTATS 2023) by the maximum-sample-reuse estimator: draw subsets that hold each point
/// with probability ½, evaluate the utility once per subset, and value each point as the mean utility
/// of the subsets holding it minus the mean of those that do not. Every sample serves every point.
///
/// Stops like ``TruncatedMonteCarloShapley``: after `minimumSamples`, once every standard error
/// (of the difference of the two means) is at most `errorTolerance`, or after `maximumSamples`.
public struct DataBanzhaf: Sendable {
    public var errorTolerance: Double
    public var minimumSamples: Int
    public var maximumSamples: Int
    public var seed: UInt64

    public init(errorTolerance: Double = 0.01, minimumSamples: Int = 100, maximumSamples: Int = 5000, seed: UInt64 = 1)
    {
        self.errorTolerance = errorTolerance
        self.minimumSamples = minimumSamples
        self.maximumSamples = maximumSamples
        self.seed = seed
    }

    public func values(
        utility: KNNUtility, control: ComputeControl = ComputeControl()
    ) throws -> MonteCarloEstimate {
        let n = utility.trainingCount
        var inside = RunningMoments(points: n)
        var outside = RunningMoments(points: n)
        var generator = SeededGenerator(seed: seed)
        var member = [Bool](repeating: false, count: n)
        var samples = 0
        var converged = false
        func standardError(_ point: Int) -> Double {
            (inside.variance(point) / Double(max(inside.count[point], 1))
                + outside.variance(point) / Double(max(outside.count[point], 1))).squareRoot()
        }
        while samples < maximumSamples {
            try control.checkCancellation()
            var state = utility.makeState()
            for index in 0..<n {
                member[index] = generator.next() & 1 == 1
                if member[index] { state.insert(index) }
            }
            let score = state.accuracy
            for index in 0..<n {
                if member[index] { inside.add(score, to: index) } else { outside.add(score, to: index) }
            }
            samples += 1
            if samples >= minimumSamples, (0..<n).allSatisfy({ standardError($0) <= errorTolerance }) {
                converged = true
                break
            }
            control.report(Double(samples) / Double(maximumSamples))
        }
        return MonteCarloEstimate(
            values: (0..<n).map { inside.mean[$0] - outside.mean[$0] },
            standardErrors: (0..<n).map(standardError), samples: samples, converged: converged)
    }
}
