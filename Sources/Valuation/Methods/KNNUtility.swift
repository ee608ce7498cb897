/// The utility the Monte-Carlo methods value data with: the validation accuracy of a K-nearest-
/// neighbour classifier trained on a subset of the training points. Distances are computed once;
/// points are then added one by one, each validation point keeping its K nearest so far, so a whole
/// permutation costs O(N · V · K) instead of O(N² · V).
///
/// A prediction is the majority label among the K nearest (distance, then index); a tie goes to the
/// tied label whose member is nearest. With no training point, nothing is predicted: utility 0.
public struct KNNUtility: Sendable {
    public let k: Int
    let training: LabeledPoints
    let validation: LabeledPoints
    /// `validation.count × training.count` squared distances.
    private let distances: [Double]
    private let labelCount: Int

    public init(training: LabeledPoints, validation: LabeledPoints, k: Int) throws(ValuationError) {
        try KNNShapley.validate(training: training, validation: validation, k: k)
        self.k = k
        self.training = training
        self.validation = validation
        labelCount = (training.labels + validation.labels).max().map { $0 + 1 } ?? 0
        var distances = [Double](repeating: 0, count: validation.count * training.count)
        training.features.withUnsafeBufferPointer { train in
            validation.features.withUnsafeBufferPointer { valid in
                for v in 0..<validation.count {
                    for t in 0..<training.count {
                        distances[v * training.count + t] = LabeledPoints.squaredDistance(
                            train, t, valid, v, dimension: training.dimension)
                    }
                }
            }
        }
        self.distances = distances
    }

    public var trainingCount: Int { training.count }

    /// The accuracy of the classifier trained on exactly `subset`.
    public func accuracy(of subset: some Sequence<Int>) -> Double {
        var state = makeState()
        for index in subset { state.insert(index) }
        return state.accuracy
    }

    func makeState() -> State { State(utility: self) }

    /// A classifier being trained point by point.
    struct State {
        let utility: KNNUtility
        /// Per validation point, its nearest training points so far, nearest first.
        private var nearest: [[Neighbour]]
        private var correct: [Bool]
        private var correctCount = 0
        private var votes: KNNVote

        init(utility: KNNUtility) {
            self.utility = utility
            nearest = Array(repeating: [], count: utility.validation.count)
            for v in nearest.indices { nearest[v].reserveCapacity(utility.k + 1) }
            correct = Array(repeating: false, count: utility.validation.count)
            votes = KNNVote(labelCount: utility.labelCount)
        }

        var accuracy: Double { Double(correctCount) / Double(utility.validation.count) }

        mutating func insert(_ index: Int) {
            let k = utility.k
            for v in 0..<utility.validation.count {
                let candidate = Neighbour(
                    distance: utility.distances[v * utility.training.count + index], index: Int32(index))
                if nearest[v].count == k, let last = nearest[v].last, !(candidate < last) { continue }
                let position = nearest[v].firstIndex { candidate < $0 } ?? nearest[v].count
                nearest[v].insert(candidate, at: position)
                if nearest[v].count > k { nearest[v].removeLast() }
                let isCorrect = predict(v) == utility.validation.labels[v]
                if isCorrect != correct[v] {
                    correct[v] = isCorrect
                    correctCount += isCorrect ? 1 : -1
                }
            }
        }

        private mutating func predict(_ v: Int) -> Int {
            let labels = utility.training.labels
            return votes.winner(nearestFirst: nearest[v].lazy.map { labels[Int($0.index)] })
        }
    }
}

/// The K-nearest-neighbour prediction: the majority label among the neighbours; a tie goes to the
/// tied label whose member is nearest; no neighbour predicts nothing (-1).
struct KNNVote {
    private var counts: [Int]

    init(labelCount: Int) {
        counts = Array(repeating: 0, count: labelCount)
    }

    mutating func winner(nearestFirst labels: some Collection<Int>) -> Int {
        for label in labels { counts[label] += 1 }
        var best = -1
        var bestVotes = 0
        // Walking nearest first, a label only wins with strictly more votes, so ties go to the nearest.
        for label in labels where counts[label] > bestVotes {
            best = label
            bestVotes = counts[label]
        }
        for label in labels { counts[label] = 0 }
        return best
    }
}
