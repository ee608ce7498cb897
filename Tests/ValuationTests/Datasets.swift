import Foundation
import Valuation

enum Datasets {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func load(_ name: String) throws -> LabeledPoints {
        try LabeledPoints(contentsOf: fixtures.appendingPathComponent("datasets/\(name).csv"))
    }

    static var iris: LabeledPoints { get throws { try load("iris") } }
    static var breastCancer: LabeledPoints { get throws { try load("breast_cancer_wisconsin_diagnostic") } }

    /// The points with every feature moved by a seeded amount of at most 1e-6.
    static func jittered(_ points: LabeledPoints, seed: UInt64) -> LabeledPoints {
        var generator = SeededGenerator(seed: seed)
        let features = points.features.map { $0 + Double.random(in: -1e-6...1e-6, using: &generator) }
        return try! LabeledPoints(dimension: points.dimension, features: features, labels: points.labels)
    }

    /// A seeded split: every `validationEvery`-th point (after a seeded shuffle) is for validation.
    static func split(
        _ points: LabeledPoints, validationFraction: Double, seed: UInt64
    ) -> (LabeledPoints, LabeledPoints) {
        var generator = SeededGenerator(seed: seed)
        let order = Array(0..<points.count).shuffled(using: &generator)
        let cut = Int(Double(points.count) * (1 - validationFraction))
        return (points.subset(order[..<cut]), points.subset(order[cut...]))
    }
}

/// Runs pyDVL on the same points and returns its values in training order.
enum PyDVL {
    static func knnShapley(training: LabeledPoints, validation: LabeledPoints, k: Int) throws -> [Double] {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("qspp-pydvl-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let trainingFile = directory.appendingPathComponent("training.csv")
        let validationFile = directory.appendingPathComponent("validation.csv")
        let output = directory.appendingPathComponent("values.csv")
        try training.csv.write(to: trainingFile, atomically: true, encoding: .utf8)
        try validation.csv.write(to: validationFile, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", Datasets.fixtures.appendingPathComponent("pydvl_knn_shapley.py").path,
            trainingFile.path, validationFile.path, String(k), output.path,
        ]
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw PyDVLFailed(status: process.terminationStatus) }
        return try String(contentsOf: output, encoding: .utf8).split(whereSeparator: \.isNewline).map {
            guard let value = Double($0) else { throw PyDVLFailed(status: -1) }
            return value
        }
    }

    struct PyDVLFailed: Error {
        let status: Int32
    }
}
