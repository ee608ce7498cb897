/// Points with class labels, stored row-major for cache-friendly distance loops.
public struct LabeledPoints: Sendable, Equatable {
    public let dimension: Int
    /// `count × dimension` values; row `i` is `features[i * dimension ..< (i + 1) * dimension]`.
    public let features: [Double]
    /// Class indices; equal labels mean the same class.
    public let labels: [Int]

    public var count: Int { labels.count }

    public init(dimension: Int, features: [Double], labels: [Int]) throws(ValuationError) {
        guard dimension > 0 else { throw .invalid("points need at least one feature") }
        guard features.count == dimension * labels.count else {
            throw .invalid("every point must have \(dimension) features")
        }
        guard features.allSatisfy(\.isFinite) else { throw .invalid("features must be finite numbers") }
        self.dimension = dimension
        self.features = features
        self.labels = labels
    }

    public init(rows: [[Double]], labels: [Int]) throws(ValuationError) {
        guard rows.count == labels.count else { throw .invalid("every point needs exactly one label") }
        guard let dimension = rows.first?.count else { throw .emptyDataset }
        guard rows.allSatisfy({ $0.count == dimension }) else {
            throw .invalid("every point must have \(dimension) features")
        }
        try self.init(dimension: dimension, features: rows.flatMap { $0 }, labels: labels)
    }

    public func row(_ index: Int) -> ArraySlice<Double> {
        features[index * dimension..<(index + 1) * dimension]
    }

    /// The points at `indices`, in that order.
    public func subset(_ indices: some Collection<Int>) -> LabeledPoints {
        var rows: [Double] = []
        rows.reserveCapacity(indices.count * dimension)
        for index in indices { rows.append(contentsOf: row(index)) }
        // Rows taken from valid points are valid.
        return try! LabeledPoints(dimension: dimension, features: rows, labels: indices.map { labels[$0] })
    }

    /// Checks that `other` can be compared with these points.
    func requireSameDimension(as other: LabeledPoints) throws(ValuationError) {
        guard other.dimension == dimension else {
            throw .invalid("validation points have \(other.dimension) features, training points \(dimension)")
        }
    }
}

extension LabeledPoints {
    /// Squared Euclidean distance between row `i` here and row `j` of `other`.
    @inline(__always)
    static func squaredDistance(
        _ a: UnsafeBufferPointer<Double>, _ i: Int, _ b: UnsafeBufferPointer<Double>, _ j: Int, dimension: Int
    ) -> Double {
        var sum = 0.0
        let x = i * dimension
        let y = j * dimension
        for f in 0..<dimension {
            let difference = a[x + f] - b[y + f]
            sum += difference * difference
        }
        return sum
    }
}
