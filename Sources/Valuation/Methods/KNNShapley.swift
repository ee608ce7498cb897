import Foundation
import Synchronization

/// Exact Shapley values of training points for a K-nearest-neighbour classifier whose utility is the
/// likelihood of the right label (Jia et al., "Efficient Task-Specific Data Valuation for Nearest
/// Neighbor Algorithms", VLDB 2019, Theorem 1). For each validation point the training points are
/// sorted by distance, closest first (ties by index), as α₁…α_N, and
///
///     s(α_N) = 1[y(α_N) = y] / N
///     s(α_i) = s(α_{i+1}) + (1[y(α_i) = y] − 1[y(α_{i+1}) = y]) / max(K, i)
///
/// which is O(N log N) per validation point with a comparison sort, and linear here with a radix
/// sort (``DistanceOrder``). The value of a training point is the mean of its `s` over the
/// validation points.
public enum KNNShapley {
    /// Runs on the calling thread and `parallelism − 1` threads of its own.
    public static func values(
        training: LabeledPoints, validation: LabeledPoints, k: Int,
        parallelism: Int = ProcessInfo.processInfo.activeProcessorCount, control: ComputeControl = ComputeControl()
    ) throws -> [Double] {
        try valuesAndAccuracy(
            training: training, validation: validation, k: k, parallelism: parallelism, control: control
        ).values
    }

    /// The values, and the validation accuracy of the K-nearest-neighbour classifier on every training
    /// point (``KNNVote``), read off the same sorted orders rather than computing the distances again.
    public static func valuesAndAccuracy(
        training: LabeledPoints, validation: LabeledPoints, k: Int,
        parallelism: Int = ProcessInfo.processInfo.activeProcessorCount, control: ComputeControl = ComputeControl()
    ) throws -> (values: [Double], accuracy: Double) {
        try validate(training: training, validation: validation, k: k)
        let lanes = max(1, min(parallelism, validation.count))
        let partials = Mutex<[(values: [Double], correct: Int)]>([])
        let failure = Mutex<(any Error)?>(nil)
        ComputeControl.onOwnThreads(lanes) { lane in
            do {
                let points = stride(from: lane, to: validation.count, by: lanes)
                let partial = try accumulate(training: training, validation: validation, points: points, k: k) {
                    try control.checkCancellation()
                    control.finishUnit(of: validation.count)
                }
                partials.withLock { $0.append(partial) }
            } catch {
                control.cancel()
                failure.withLock { $0 = error }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
        var total = [Double](repeating: 0, count: training.count)
        var correct = 0
        for partial in partials.withLock({ $0 }) {
            for index in total.indices { total[index] += partial.values[index] }
            correct += partial.correct
        }
        let scale = 1 / Double(validation.count)
        return (total.map { $0 * scale }, Double(correct) * scale)
    }

    static func validate(training: LabeledPoints, validation: LabeledPoints, k: Int) throws(ValuationError) {
        guard training.count > 0 else { throw .emptyDataset }
        guard validation.count > 0 else { throw .invalid("the validation set is empty") }
        guard k >= 1, k <= training.count else { throw .neighbours(k, count: training.count) }
        try training.requireSameDimension(as: validation)
    }

    /// The sum of `s` over `points`, one training-sized buffer per call, and how many of the points
    /// the classifier predicts right.
    private static func accumulate(
        training: LabeledPoints, validation: LabeledPoints, points: some Sequence<Int>, k: Int,
        onPoint: () throws -> Void
    ) throws -> (values: [Double], correct: Int) {
        let n = training.count
        var total = [Double](repeating: 0, count: n)
        var correct = 0
        var votes = KNNVote(labelCount: (training.labels + validation.labels).max()! + 1)
        var order = DistanceOrder(count: n)
        let trainingLabels = training.labels
        try training.features.withUnsafeBufferPointer { train in
            try validation.features.withUnsafeBufferPointer { valid in
                for point in points {
                    for i in 0..<n {
                        order.set(
                            i,
                            distance: LabeledPoints.squaredDistance(
                                train, i, valid, point, dimension: training.dimension))
                    }
                    order.sort()
                    let sorted = order.indices
                    let label = validation.labels[point]
                    if votes.winner(nearestFirst: sorted[0..<k].lazy.map { trainingLabels[Int($0)] }) == label {
                        correct += 1
                    }
                    let farthest = Int(sorted[n - 1])
                    var previousMatch = trainingLabels[farthest] == label ? 1.0 : 0.0
                    var previousValue = previousMatch / Double(n)
                    total[farthest] += previousValue
                    var position = n - 1
                    while position >= 1 {
                        let index = Int(sorted[position - 1])
                        let match = trainingLabels[index] == label ? 1.0 : 0.0
                        previousValue += (match - previousMatch) / Double(max(k, position))
                        total[index] += previousValue
                        previousMatch = match
                        position -= 1
                    }
                    try onPoint()
                }
            }
        }
        return (total, correct)
    }
}

/// A training point's distance to a query; ordered by distance, then index, so ties sort the same
/// way on every run.
struct Neighbour: Comparable {
    var distance: Double
    var index: Int32

    static func < (lhs: Neighbour, rhs: Neighbour) -> Bool {
        lhs.distance < rhs.distance || (lhs.distance == rhs.distance && lhs.index < rhs.index)
    }
}
