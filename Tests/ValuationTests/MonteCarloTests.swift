import Foundation
import Testing
import Valuation

@Suite("Monte-Carlo methods")
struct MonteCarloTests {
    /// Eight points of Iris, two classes mixed, and a validation set from the rest.
    private func smallProblem() throws -> KNNUtility {
        let iris = try Datasets.iris
        let training = iris.subset([0, 1, 50, 51, 52, 100, 101, 55])
        let validation = iris.subset(Array(stride(from: 2, to: 150, by: 7)))
        return try KNNUtility(training: training, validation: validation, k: 3)
    }

    @Test("TMC-Shapley agrees with Shapley by enumeration on 8 records, within its own reported error")
    func tmcAgreesWithEnumeration() throws {
        let utility = try smallProblem()
        let exact = try EnumeratedShapley.values(utility: utility)
        let estimate = try TruncatedMonteCarloShapley(
            errorTolerance: 0.005, truncationTolerance: 0, maximumPermutations: 20_000
        )
        .values(utility: utility)
        #expect(estimate.converged)
        for (index, value) in exact.enumerated() {
            let error = abs(estimate.values[index] - value)
            // Three standard errors: the chance that any of eight is off by more is under 2%.
            #expect(
                error <= 3 * estimate.standardErrors[index] + 1e-12,
                "record \(index): \(estimate.values[index]) vs exact \(value), error \(estimate.standardErrors[index])")
        }
        // Efficiency holds for the exact values: they sum to v(D) − v(∅).
        #expect(abs(exact.reduce(0, +) - utility.accuracy(of: 0..<8)) < 1e-12)
    }

    @Test("TMC-Shapley with truncation stays close to enumeration and reports when it stops early")
    func truncationKeepsValuesClose() throws {
        let utility = try smallProblem()
        let exact = try EnumeratedShapley.values(utility: utility)
        let estimate = try TruncatedMonteCarloShapley(errorTolerance: 0.01, maximumPermutations: 5_000).values(
            utility: utility)
        #expect(estimate.converged)
        let worst = zip(exact, estimate.values).map { abs($0 - $1) }.max()!
        #expect(worst < 0.08, "largest difference \(worst)")
        let capped = try TruncatedMonteCarloShapley(
            errorTolerance: 1e-6, minimumPermutations: 10, maximumPermutations: 20
        )
        .values(utility: utility)
        #expect(!capped.converged && capped.samples == 20)
    }

    @Test("Data Banzhaf by maximum sample reuse agrees with Banzhaf by enumeration within its error")
    func banzhafAgreesWithEnumeration() throws {
        let utility = try smallProblem()
        let n = utility.trainingCount
        var exact = [Double](repeating: 0, count: n)
        for mask in 0..<(1 << n) {
            let value = utility.accuracy(of: (0..<n).filter { mask & (1 << $0) != 0 })
            for point in 0..<n { exact[point] += (mask & (1 << point) != 0 ? value : -value) / Double(1 << (n - 1)) }
        }
        let estimate = try DataBanzhaf(errorTolerance: 0.005, maximumSamples: 100_000).values(utility: utility)
        #expect(estimate.converged)
        for index in 0..<n {
            #expect(abs(estimate.values[index] - exact[index]) <= 3 * estimate.standardErrors[index] + 1e-12)
        }
    }

    @Test("the same seed gives the same estimate")
    func seeded() throws {
        let utility = try smallProblem()
        let first = try TruncatedMonteCarloShapley(maximumPermutations: 200, seed: 5).values(utility: utility)
        let second = try TruncatedMonteCarloShapley(maximumPermutations: 200, seed: 5).values(utility: utility)
        #expect(first == second)
    }
}
