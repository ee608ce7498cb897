import Foundation

/// What a method produced: a value (and error, for sampling methods) per counted record.
struct ValuationOutcome: Sendable {
    var values: [Double]
    var standardErrors: [Double]?
    var samples: Int?
    var converged: Bool
    var accuracy: Double
}

/// A task's records, split into the counted (as model points) and the excluded (with reasons).
struct ValuationDataset: Sendable {
    let task: ValuationTask
    private(set) var counted: [DataRecord.Header] = []
    private(set) var excluded: [(DataRecord.Header, ExclusionReason)] = []
    private var features: [Double] = []
    private var labels: [Int] = []
    private var labelIndex: [String: Int] = [:]

    init(task: ValuationTask) {
        self.task = task
    }

    mutating func add(_ header: DataRecord.Header, content: DataRecord.Content?, standing: SubjectStanding) {
        guard let content else { return excluded.append((header, .erased)) }
        if let reason = standing.exclusion(purpose: header.purposeID) { return excluded.append((header, reason)) }
        let row = task.features.compactMap { content.attributes[$0]?.feature }
        let label = content.attributes[task.label]?.labelText ?? (task.label == "label" ? content.label : nil)
        guard row.count == task.features.count, let label else { return excluded.append((header, .incomplete)) }
        counted.append(header)
        features.append(contentsOf: row)
        labels.append(index(of: label))
    }

    private mutating func index(of label: String) -> Int {
        if let index = labelIndex[label] { return index }
        labelIndex[label] = labelIndex.count
        return labelIndex.count - 1
    }

    func points() throws(ValuationError) -> (training: LabeledPoints, validation: LabeledPoints) {
        guard !counted.isEmpty else {
            throw .invalid("no record of the task's category is counted (see the exclusions)")
        }
        var labelIndex = self.labelIndex
        var validationLabels: [Int] = []
        for point in task.validation {
            if labelIndex[point.label] == nil { labelIndex[point.label] = labelIndex.count }
            validationLabels.append(labelIndex[point.label]!)
        }
        let validationRows = task.validation.flatMap { point in task.features.map { point.features[$0]! } }
        let training = try LabeledPoints(dimension: task.features.count, features: features, labels: labels)
        let validation = try LabeledPoints(
            dimension: task.features.count, features: validationRows, labels: validationLabels)
        return (training, validation)
    }

    func value(_ method: MethodSpec, _ service: ValuationService, _ control: ComputeControl) throws -> ValuationOutcome
    {
        let (training, validation) = try points()
        guard method.k <= training.count else { throw ValuationError.neighbours(method.k, count: training.count) }
        if method.name != .knnShapley, training.count > service.limits.maximumMonteCarloRecords {
            throw ValuationError.invalid(
                "\(method.name.rawValue) is limited to \(service.limits.maximumMonteCarloRecords) records; use knn_shapley"
            )
        }
        switch method.name {
        case .knnShapley:
            let (values, accuracy) = try KNNShapley.valuesAndAccuracy(
                training: training, validation: validation, k: method.k, parallelism: service.parallelism,
                control: control)
            return ValuationOutcome(
                values: values, standardErrors: nil, samples: nil, converged: true, accuracy: accuracy)
        case .tmcShapley, .dataBanzhaf:
            let utility = try KNNUtility(training: training, validation: validation, k: method.k)
            let estimate =
                method.name == .tmcShapley
                ? try method.tmc.values(utility: utility, control: control)
                : try method.banzhaf.values(utility: utility, control: control)
            return ValuationOutcome(
                values: estimate.values, standardErrors: estimate.standardErrors, samples: estimate.samples,
                converged: estimate.converged, accuracy: utility.accuracy(of: 0..<training.count))
        }
    }

    func recordValues(_ outcome: ValuationOutcome) -> [RecordValue] {
        counted.enumerated().map { index, header in
            RecordValue(
                recordID: header.id, subjectID: header.subjectID, value: outcome.values[index],
                standardError: outcome.standardErrors?[index], excluded: nil)
        }
            + excluded.map { header, reason in
                RecordValue(
                    recordID: header.id, subjectID: header.subjectID, value: nil, standardError: nil, excluded: reason)
            }
    }

    func summary(task: ValuationTask, outcome: ValuationOutcome, currency: String) -> JobSummary {
        var reasons: [String: Int] = [:]
        for (_, reason) in excluded { reasons[reason.rawValue, default: 0] += 1 }
        return JobSummary(
            method: task.method, recordsCounted: counted.count, recordsExcluded: reasons,
            subjects: Set(counted.map(\.subjectID)).count, validationPoints: task.validation.count,
            accuracy: outcome.accuracy, samples: outcome.samples, converged: outcome.converged,
            payoutPool: task.payoutPool, currency: currency,
            totalPositiveValue: outcome.values.reduce(0) { $0 + max(0, $1) })
    }
}
