public import Foundation

/// Storage of data records, valuation tasks, jobs and their per-record results.
public protocol ValuationRepository: Sendable {
    func insertRecord(_ record: DataRecord) async throws
    /// A subject's records, oldest first; a record whose content can no longer be opened (erased) has
    /// `nil` content.
    func records(subjectID: String) async throws -> [(record: DataRecord.Header, content: DataRecord.Content?)]
    /// One page of a category's records, by id.
    func records(
        category: String, after: UUID?, limit: Int
    ) async throws
        -> [(record: DataRecord.Header, content: DataRecord.Content?)]
    func countRecords(category: String) async throws -> Int
    /// Deletes one of a subject's records; false if there is none.
    func deleteRecord(id: UUID, subjectID: String) async throws -> Bool

    func insertTask(_ task: ValuationTask) async throws
    func task(id: UUID) async throws -> ValuationTask?
    func tasks() async throws -> [ValuationTask]

    func insertJob(_ job: ValuationJob) async throws
    func job(id: UUID) async throws -> ValuationJob?
    func jobs(limit: Int) async throws -> [ValuationJob]
    /// Takes the oldest queued job, or a running one whose lease ran out (its runner died), and
    /// marks it running under a new lease; only job `id` when given. Several runners never take the
    /// same job.
    func claimJob(id: UUID?, leaseUntil: Date, now: Date) async throws -> ValuationJob?
    /// Puts a running job back in the queue, for a runner that is shutting down.
    func requeue(jobID: UUID) async throws
    /// Records progress and extends the lease; returns whether cancellation was requested.
    func reportProgress(jobID: UUID, progress: Double, leaseUntil: Date) async throws -> Bool
    /// Ends a job: its status, summary or error, and every record's outcome, in one transaction.
    func finishJob(
        jobID: UUID, status: JobStatus, summary: JobSummary?, error: String?, values: [RecordValue], at: Date
    ) async throws
    /// Asks a job to stop: a queued one is cancelled at once, a running one at its next progress report.
    func requestCancel(jobID: UUID, at: Date) async throws -> ValuationJob?

    func shares(jobID: UUID, limit: Int) async throws -> [SubjectShare]
    /// The subject's outcomes in the newest completed job of each task that saw their records.
    func latestValues(subjectID: String) async throws -> [(job: ValuationJob, values: [RecordValue])]
}

extension DataRecord {
    /// A record without its sealed content.
    public struct Header: Sendable, Equatable {
        public var id: UUID
        public var subjectID: String
        public var category: String
        public var purposeID: String
        public var recordedAt: Date
        public var createdAt: Date

        public init(id: UUID, subjectID: String, category: String, purposeID: String, recordedAt: Date, createdAt: Date)
        {
            self.id = id
            self.subjectID = subjectID
            self.category = category
            self.purposeID = purposeID
            self.recordedAt = recordedAt
            self.createdAt = createdAt
        }
    }

    public var header: Header {
        Header(
            id: id, subjectID: subjectID, category: category, purposeID: purposeID, recordedAt: recordedAt,
            createdAt: createdAt)
    }
}
