import Foundation
import Testing
import Valuation

@Suite("Valuation refuses bad input")
struct BadInputTests {
    let training = try! LabeledPoints(rows: [[0, 0], [1, 1], [2, 2]], labels: [0, 1, 0])
    let validation = try! LabeledPoints(rows: [[0.5, 0.5]], labels: [1])

    @Test("K must be between 1 and N", arguments: [0, -1, 4])
    func neighbours(k: Int) {
        #expect(throws: ValuationError.neighbours(k, count: 3)) {
            try KNNShapley.values(training: training, validation: validation, k: k)
        }
    }

    @Test("empty datasets, mismatched dimensions and non-finite values are refused")
    func shapes() throws {
        #expect(throws: ValuationError.self) { try LabeledPoints(rows: [], labels: []) }
        #expect(throws: ValuationError.self) { try LabeledPoints(rows: [[1, 2], [3]], labels: [0, 1]) }
        #expect(throws: ValuationError.self) { try LabeledPoints(rows: [[1, .nan]], labels: [0]) }
        #expect(throws: ValuationError.self) { try LabeledPoints(rows: [[1, .infinity]], labels: [0]) }
        #expect(throws: ValuationError.self) { try LabeledPoints(rows: [[1, 2]], labels: [0, 1]) }
        #expect(throws: ValuationError.self) { try LabeledPoints(csv: "1,2,a\n") }
        #expect(throws: ValuationError.self) { try LabeledPoints(csv: "1,x,0\n") }
        #expect(throws: ValuationError.self) { try LabeledPoints(csv: "1,nan,0\n") }
        let wide = try LabeledPoints(rows: [[0, 0, 0]], labels: [0])
        #expect(throws: ValuationError.self) { try KNNShapley.values(training: training, validation: wide, k: 1) }
        let empty = try LabeledPoints(dimension: 2, features: [], labels: [])
        #expect(throws: ValuationError.emptyDataset) {
            try KNNShapley.values(training: empty, validation: validation, k: 1)
        }
        #expect(throws: ValuationError.self) { try KNNShapley.values(training: training, validation: empty, k: 1) }
    }

    @Test("a task with a validation point lacking its label or a feature, or too many points, is refused")
    func tasks() {
        func task(_ validation: [ValidationPoint], k: Int = 3) -> ValuationTask {
            ValuationTask(
                name: "t", category: "measurements", features: ["a", "b"], label: "y", validation: validation,
                method: MethodSpec(name: .knnShapley, k: k), payoutPool: nil, createdBy: "admin")
        }
        let good = ValidationPoint(features: ["a": 1, "b": 2], label: "x")
        var limits = ValuationLimits()
        #expect(throws: Never.self) { try task([good]).validate(limits: limits, priceBook: .standard) }
        #expect(throws: ValuationError.self) {
            try task([ValidationPoint(features: ["a": 1, "b": 2], label: "")]).validate(
                limits: limits, priceBook: .standard)
        }
        #expect(throws: ValuationError.self) {
            try task([ValidationPoint(features: ["a": 1], label: "x")]).validate(limits: limits, priceBook: .standard)
        }
        #expect(throws: ValuationError.self) {
            try task([ValidationPoint(features: ["a": 1, "b": .nan], label: "x")]).validate(
                limits: limits, priceBook: .standard)
        }
        #expect(throws: ValuationError.self) { try task([], k: 1).validate(limits: limits, priceBook: .standard) }
        #expect(throws: ValuationError.self) { try task([good], k: 0).validate(limits: limits, priceBook: .standard) }
        limits.maximumValidationPoints = 2
        #expect(throws: ValuationError.self) {
            try task([good, good, good]).validate(limits: limits, priceBook: .standard)
        }
    }
}
