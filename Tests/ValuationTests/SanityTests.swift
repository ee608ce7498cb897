import Foundation
import Testing
import Valuation

/// The experiments of Jia et al. and Ghorbani and Zou that show values mean something.
@Suite("Valuation sanity experiments")
struct SanityTests {
    @Test("with 10% of labels flipped, the lowest-valued 20% hold a clear majority of the flipped records")
    func flippedLabelsAreFound() throws {
        let (clean, validation) = Datasets.split(
            try Datasets.breastCancer.standardised(), validationFraction: 0.3, seed: 21)
        var generator = SeededGenerator(seed: 99)
        let flipped = Set(Array(0..<clean.count).shuffled(using: &generator).prefix(clean.count / 10))
        let labels = clean.labels.enumerated().map { flipped.contains($0.offset) ? 1 - $0.element : $0.element }
        let noisy = try LabeledPoints(dimension: clean.dimension, features: clean.features, labels: labels)

        let values = try KNNShapley.values(training: noisy, validation: validation, k: 5)
        let lowest = (0..<noisy.count).sorted { values[$0] < values[$1] }.prefix(noisy.count / 5)
        let found = lowest.filter(flipped.contains).count
        // A clear majority: more than two thirds of the flipped records.
        #expect(Double(found) > 2.0 / 3.0 * Double(flipped.count), "found \(found) of \(flipped.count)")
    }

    @Test("removing the highest-valued records first lowers accuracy faster than removing them at random")
    func highValueRemovalHurtsMost() throws {
        let points = try Datasets.breastCancer.standardised()
        let (training, rest) = Datasets.split(points, validationFraction: 0.4, seed: 31)
        let (validation, test) = Datasets.split(rest, validationFraction: 0.5, seed: 32)
        let values = try KNNShapley.values(training: training, validation: validation, k: 5)
        let byValue = (0..<training.count).sorted { values[$0] > values[$1] }
        var generator = SeededGenerator(seed: 33)
        func curve(_ order: [Int]) throws -> [Double] {
            let utility = try KNNUtility(training: training, validation: test, k: 5)
            return stride(from: 0, through: training.count / 2, by: training.count / 20).map { removed in
                utility.accuracy(of: order[removed...])
            }
        }
        let valued = try curve(byValue)
        // Random removal, averaged over five orders.
        var randomly = [Double](repeating: 0, count: valued.count)
        for _ in 0..<5 {
            let random = try curve(Array(0..<training.count).shuffled(using: &generator))
            for index in randomly.indices { randomly[index] += random[index] / 5 }
        }
        // Area under the accuracy curve while removing up to half the records.
        #expect(valued.reduce(0, +) < randomly.reduce(0, +), "\(valued) vs \(randomly)")
        #expect(valued.last! < randomly.last!)
    }
}
