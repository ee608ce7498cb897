import Consent
import Foundation
import Hummingbird
import Kernel
import PQCrypto
import Valuation

/// A data record as the API takes it.
struct DataRecordInput: Decodable {
    var category: String
    var purpose: String
    var attributes: [String: AttributeValue]
    var label: String?
    var source: String
    /// When the data was observed; the time of the request by default.
    var recordedAt: String?

    enum CodingKeys: String, CodingKey { case category, purpose, attributes, label, source, recordedAt }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        category = try container.decode(String.self, forKey: .category)
        purpose = try container.decode(String.self, forKey: .purpose)
        attributes = try container.decode([String: AttributeValue].self, forKey: .attributes)
        label = try container.decodeIfPresent(String.self, forKey: .label)
        source = try container.decode(String.self, forKey: .source)
        recordedAt = try container.decodeIfPresent(String.self, forKey: .recordedAt)
    }
}

struct DataRecordOutput: ResponseCodable {
    var id: String
    var subjectId: String
    var category: String
    var purpose: String
    /// Absent once the subject's keys are destroyed.
    var attributes: [String: AttributeValue]?
    var label: String?
    var source: String?
    var recordedAt: String
    var createdAt: String

    init(_ header: DataRecord.Header, _ content: DataRecord.Content?) {
        id = header.id.lowercasedString
        subjectId = header.subjectID
        category = header.category
        purpose = header.purposeID
        attributes = content?.attributes
        label = content?.label
        source = content?.source
        recordedAt = RFC3339.string(from: header.recordedAt)
        createdAt = RFC3339.string(from: header.createdAt)
    }
}

struct DataRecordList: ResponseCodable {
    var records: [DataRecordOutput]
}

/// A task as an admin defines it.
struct TaskInput: Decodable {
    var name: String
    var category: String
    var features: [String]
    var label: String
    var validation: [ValidationPoint]
    var method: MethodSpec
    var payoutPool: Double?
}

struct TaskOutput: ResponseCodable {
    var id: String
    var name: String
    var category: String
    var features: [String]
    var label: String
    var validationPoints: Int
    var method: MethodSpec
    var payoutPool: Double?
    var currency: String
    var createdAt: String
    var createdBy: String

    init(_ task: ValuationTask, currency: String) {
        id = task.id.lowercasedString
        name = task.name
        category = task.category
        features = task.features
        label = task.label
        validationPoints = task.validation.count
        method = task.method
        payoutPool = task.payoutPool
        self.currency = currency
        createdAt = RFC3339.string(from: task.createdAt)
        createdBy = task.createdBy
    }
}

struct TaskList: ResponseCodable {
    var tasks: [TaskOutput]
}

struct JobOutput: ResponseCodable {
    struct Share: Codable {
        var subjectId: String
        var records: Int
        var excludedRecords: Int
        var value: Double
        var positiveValue: Double
        var payout: Double?
    }

    var id: String
    var taskId: String
    var status: String
    var progressPercent: Double
    var etaSeconds: Double?
    var createdAt: String
    var startedAt: String?
    var finishedAt: String?
    var error: String?
    var cancelRequested: Bool
    var attempts: Int
    var summary: JobSummary?
    /// Subjects by value, highest first; each value is the sum of the subject's record values.
    var subjects: [Share]?

    init(_ job: ValuationJob, shares: [SubjectShare]? = nil, now: Date = Date()) {
        id = job.id.lowercasedString
        taskId = job.taskID.lowercasedString
        status = job.status.rawValue
        progressPercent = (job.progress * 1000).rounded() / 10
        etaSeconds = job.estimatedRemaining(at: now).map { $0.rounded() }
        createdAt = RFC3339.string(from: job.createdAt)
        startedAt = job.startedAt.map(RFC3339.string(from:))
        finishedAt = job.finishedAt.map(RFC3339.string(from:))
        error = job.error
        cancelRequested = job.cancelRequested
        attempts = job.attempts
        summary = job.summary
        subjects = shares?.map { share in
            Share(
                subjectId: share.subjectID, records: share.records, excludedRecords: share.excluded, value: share.value,
                positiveValue: share.positiveValue,
                payout: share.payout(
                    pool: job.summary?.payoutPool, totalPositive: job.summary?.totalPositiveValue ?? 0))
        }
    }
}

struct JobList: ResponseCodable {
    var jobs: [JobOutput]
}
