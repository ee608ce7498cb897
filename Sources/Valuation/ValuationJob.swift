public import Foundation

public enum JobStatus: String, Sendable, Codable {
    case queued, running, completed, failed, cancelled

    public var isFinal: Bool { self == .completed || self == .failed || self == .cancelled }
}

/// Why a record was left out of a valuation.
public enum ExclusionReason: String, Sendable, Codable, CaseIterable {
    /// Its purpose is not currently granted by its subject.
    case noConsent = "no_consent"
    /// Its subject has restricted processing (GDPR Art. 18).
    case restricted
    /// Its subject's account has not confirmed its email yet.
    case unconfirmed = "unconfirmed_email"
    /// Its subject was erased: its content can no longer be read.
    case erased
    /// It lacks a feature or the label, or a feature is not a finite number.
    case incomplete
}

/// What a finished job found, without any per-subject detail.
public struct JobSummary: Sendable, Codable, Equatable {
    public var method: MethodSpec
    public var recordsCounted: Int
    public var recordsExcluded: [String: Int]
    public var subjects: Int
    public var validationPoints: Int
    /// Validation accuracy of the K-nearest-neighbour model on every counted record.
    public var accuracy: Double
    /// Monte-Carlo methods: samples drawn and whether the stopping rule was met.
    public var samples: Int?
    public var converged: Bool
    public var payoutPool: Double?
    public var currency: String
    public var totalPositiveValue: Double

    public init(
        method: MethodSpec, recordsCounted: Int, recordsExcluded: [String: Int], subjects: Int,
        validationPoints: Int, accuracy: Double, samples: Int?, converged: Bool, payoutPool: Double?,
        currency: String, totalPositiveValue: Double
    ) {
        self.method = method
        self.recordsCounted = recordsCounted
        self.recordsExcluded = recordsExcluded
        self.subjects = subjects
        self.validationPoints = validationPoints
        self.accuracy = accuracy
        self.samples = samples
        self.converged = converged
        self.payoutPool = payoutPool
        self.currency = currency
        self.totalPositiveValue = totalPositiveValue
    }
}

/// One run of a task.
public struct ValuationJob: Sendable, Equatable, Identifiable {
    public var id: UUID
    public var taskID: UUID
    public var status: JobStatus
    /// 0…1.
    public var progress: Double
    public var createdAt: Date
    public var startedAt: Date?
    public var finishedAt: Date?
    /// Why it failed or was cancelled.
    public var error: String?
    public var cancelRequested: Bool
    /// How many times a runner has picked it up; a restart re-queues a job whose runner died.
    public var attempts: Int
    public var summary: JobSummary?

    public init(id: UUID = UUID(), taskID: UUID, createdAt: Date = Date()) {
        self.id = id
        self.taskID = taskID
        status = .queued
        progress = 0
        self.createdAt = createdAt
        cancelRequested = false
        attempts = 0
    }

    /// Estimated time left, from the progress so far.
    public func estimatedRemaining(at now: Date) -> TimeInterval? {
        guard status == .running, let startedAt, progress > 0.01 else { return nil }
        let elapsed = now.timeIntervalSince(startedAt)
        return elapsed * (1 - progress) / progress
    }
}

/// A record's outcome in a job: its value, or why it was left out.
public struct RecordValue: Sendable, Equatable {
    public var recordID: UUID
    public var subjectID: String
    public var value: Double?
    public var standardError: Double?
    public var excluded: ExclusionReason?

    public init(
        recordID: UUID, subjectID: String, value: Double?, standardError: Double?, excluded: ExclusionReason?
    ) {
        self.recordID = recordID
        self.subjectID = subjectID
        self.value = value
        self.standardError = standardError
        self.excluded = excluded
    }
}

/// A subject's share of a job: the sum of their records' values (the aggregation the API documents)
/// and, when the task has a pool, their payout.
public struct SubjectShare: Sendable, Equatable {
    public var subjectID: String
    public var records: Int
    public var excluded: Int
    public var value: Double
    public var positiveValue: Double

    public init(subjectID: String, records: Int, excluded: Int, value: Double, positiveValue: Double) {
        self.subjectID = subjectID
        self.records = records
        self.excluded = excluded
        self.value = value
        self.positiveValue = positiveValue
    }

    /// `pool × Σ max(0, v_i) / Σ over all counted records of max(0, v_j)`.
    public func payout(pool: Double?, totalPositive: Double) -> Double? {
        guard let pool else { return nil }
        return totalPositive > 0 ? pool * positiveValue / totalPositive : 0
    }
}
