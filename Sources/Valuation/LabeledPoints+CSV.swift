public import Foundation

extension LabeledPoints {
    /// Reads points from CSV: each line holds the features, then an integer class label.
    public init(csv: String) throws(ValuationError) {
        var features: [Double] = []
        var labels: [Int] = []
        var dimension: Int?
        for (number, line) in csv.split(whereSeparator: \.isNewline).enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count >= 2 else { throw .invalid("line \(number + 1): needs features and a label") }
            if dimension == nil { dimension = fields.count - 1 }
            guard fields.count - 1 == dimension else {
                throw .invalid("line \(number + 1): expected \(dimension ?? 0) features")
            }
            for field in fields.dropLast() {
                guard let value = Double(field) ?? Double(field.trimmingCharacters(in: .whitespaces)), value.isFinite
                else {
                    throw .invalid("line \(number + 1): features must be finite numbers")
                }
                features.append(value)
            }
            let last = fields.last!.trimmingCharacters(in: .whitespaces)
            guard let label = Int(last) ?? Double(last).flatMap({ $0 == $0.rounded() ? Int(exactly: $0) : nil }) else {
                throw .invalid("line \(number + 1): the label must be an integer")
            }
            labels.append(label)
        }
        guard let dimension else { throw .emptyDataset }
        try self.init(dimension: dimension, features: features, labels: labels)
    }

    public init(contentsOf url: URL) throws {
        try self.init(csv: try String(contentsOf: url, encoding: .utf8))
    }

    /// The points as CSV, in the form ``init(csv:)`` reads; values round-trip exactly.
    public var csv: String {
        var text = ""
        for index in 0..<count {
            text += row(index).map { "\($0)" }.joined(separator: ",") + ",\(labels[index])\n"
        }
        return text
    }

    /// Standardises every feature to mean 0 and variance 1, with the statistics of `self`.
    public func standardised() -> LabeledPoints {
        var mean = [Double](repeating: 0, count: dimension)
        var spread = [Double](repeating: 0, count: dimension)
        for index in 0..<count { for (f, value) in row(index).enumerated() { mean[f] += value / Double(count) } }
        for index in 0..<count {
            for (f, value) in row(index).enumerated() {
                spread[f] += (value - mean[f]) * (value - mean[f]) / Double(count)
            }
        }
        let deviation = spread.map { $0 > 0 ? $0.squareRoot() : 1 }
        let scaled = features.enumerated().map { offset, value in
            (value - mean[offset % dimension]) / deviation[offset % dimension]
        }
        return try! LabeledPoints(dimension: dimension, features: scaled, labels: labels)
    }
}

extension LabeledPoints {
    /// Seeded synthetic data for scale tests and benchmarks: `classes` Gaussian clusters in
    /// `dimension` dimensions, centres drawn uniformly in [−separation, separation]^d, unit variance.
    public static func synthetic(
        count: Int, dimension: Int, classes: Int = 2, separation: Double = 1.5, seed: UInt64
    ) -> LabeledPoints {
        var generator = SeededGenerator(seed: seed)
        let centres = (0..<classes).map { _ in
            (0..<dimension).map { _ in Double.random(in: -separation...separation, using: &generator) }
        }
        var features: [Double] = []
        features.reserveCapacity(count * dimension)
        var labels: [Int] = []
        for _ in 0..<count {
            let label = Int(generator.next() % UInt64(classes))
            labels.append(label)
            for f in 0..<dimension { features.append(centres[label][f] + generator.nextGaussian()) }
        }
        return try! LabeledPoints(dimension: dimension, features: features, labels: labels)
    }
}
