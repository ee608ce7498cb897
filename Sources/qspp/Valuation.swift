import ArgumentParser
import Foundation
import Valuation

/// Data valuation from files, outside the server: for benchmarks, for checking values against
/// another implementation, and for valuing a dataset that never enters the database.
struct ValuationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "valuation", abstract: "Compute data values from CSV files.",
        subcommands: [KNNShapleyCommand.self, Synthetic.self])

    struct KNNShapleyCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "knn-shapley",
            abstract: "Exact KNN-Shapley values of the training points (Jia et al., VLDB 2019).",
            discussion: "CSV rows are the features, then an integer label. Prints the compute time to standard error.")

        @Option(help: "Training points (CSV).") var training: String
        @Option(help: "Validation points (CSV).") var validation: String
        @Option(help: "Neighbours of the KNN model.") var k: Int
        @Option(help: "Threads; defaults to the number of cores.") var threads = ProcessInfo.processInfo
            .activeProcessorCount
        @Option(help: "Where to write one value per line, in training order.") var output: String

        func run() async throws {
            let training = try LabeledPoints(contentsOf: URL(fileURLWithPath: self.training))
            let validation = try LabeledPoints(contentsOf: URL(fileURLWithPath: self.validation))
            let started = ContinuousClock.now
            let values = try await ComputeControl.offload { [k, threads] in
                try KNNShapley.values(training: training, validation: validation, k: k, parallelism: threads)
            }
            let elapsed = ContinuousClock.now - started
            try values.map { "\($0)" }.joined(separator: "\n").appending("\n")
                .write(toFile: output, atomically: true, encoding: .utf8)
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            FileHandle.standardError.write(Data(String(format: "%.6f\n", seconds).utf8))
        }
    }

    struct Synthetic: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write seeded synthetic points (Gaussian clusters) as CSV, for scale tests.")

        @Option(help: "Points.") var count: Int
        @Option(help: "Features per point.") var dimension: Int
        @Option(help: "Classes.") var classes = 2
        @Option(help: "Seed.") var seed: UInt64 = 1
        @Option(help: "Output file.") var output: String

        func validate() throws {
            guard count > 0, dimension > 0, classes > 0 else {
                throw ValidationError("count, dimension and classes must be positive")
            }
        }

        func run() throws {
            let points = LabeledPoints.synthetic(count: count, dimension: dimension, classes: classes, seed: seed)
            try points.csv.write(toFile: output, atomically: true, encoding: .utf8)
        }
    }
}
