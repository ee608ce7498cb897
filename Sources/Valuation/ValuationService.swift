public import Foundation

/// Whether a subject's records may be valued now: the purposes they currently grant, and whether
/// they restricted processing. The app answers this from ZynConsent and the restriction registry.
public struct SubjectStanding: Sendable, Equatable {
    public var grantedPurposes: Set<String>
    public var restricted: Bool
    /// The subject's account has not confirmed its email, and the policy keeps such accounts unvalued.
    public var unconfirmed: Bool

    public init(grantedPurposes: Set<String>, restricted: Bool, unconfirmed: Bool = false) {
        self.grantedPurposes = grantedPurposes
        self.restricted = restricted
        self.unconfirmed = unconfirmed
    }

    /// Why a record for `purpose` may not be counted, if it may not.
    public func exclusion(purpose: String) -> ExclusionReason? {
        if restricted { return .restricted }
        if unconfirmed { return .unconfirmed }
        return grantedPurposes.contains(purpose) ? nil : .noConsent
    }
}

/// Valyze: stores data records, defines valuation tasks and runs their jobs.
public final class ValuationService: Sendable {
    public let repository: any ValuationRepository
    public let priceBook: PriceBook
    public let limits: ValuationLimits
    /// Threads one job's exact KNN-Shapley may use.
    public let parallelism: Int
    let standing: @Sendable (String) async throws -> SubjectStanding

    public init(
        repository: any ValuationRepository, priceBook: PriceBook = .standard, limits: ValuationLimits = .init(),
        parallelism: Int = 1, standing: @escaping @Sendable (String) async throws -> SubjectStanding
    ) {
        self.repository = repository
        self.priceBook = priceBook
        self.limits = limits
        self.parallelism = parallelism
        self.standing = standing
    }

    public func store(_ record: DataRecord) async throws {
        try record.validate(priceBook: priceBook)
        try await repository.insertRecord(record)
    }

    public func createTask(_ task: ValuationTask) async throws -> ValuationTask {
        try task.validate(limits: limits, priceBook: priceBook)
        try await repository.insertTask(task)
        return task
    }

    /// Queues a run of `taskID`, refusing one that cannot succeed with the records stored now.
    public func createJob(taskID: UUID, at date: Date = Date()) async throws -> ValuationJob {
        guard let task = try await repository.task(id: taskID) else { throw ValuationError.taskNotFound }
        let stored = try await repository.countRecords(category: task.category)
        guard stored > 0 else { throw ValuationError.emptyDataset }
        guard task.method.k <= stored else { throw ValuationError.neighbours(task.method.k, count: stored) }
        let job = ValuationJob(taskID: taskID, createdAt: date)
        try await repository.insertJob(job)
        return job
    }

    public func cancel(jobID: UUID, at date: Date = Date()) async throws -> ValuationJob {
        guard let job = try await repository.requestCancel(jobID: jobID, at: date) else {
            throw ValuationError.jobNotFound
        }
        return job
    }

    /// A job claimed more often than this (its runner died each time) fails instead of running again.
    public static let maximumAttempts = 3

    /// Claims one waiting job (job `id`, when given) and runs it to its end. Returns false when none
    /// was waiting.
    @discardableResult
    public func runNextJob(id: UUID? = nil, lease: TimeInterval = 60, now: Date = Date()) async throws -> Bool {
        guard let job = try await repository.claimJob(id: id, leaseUntil: now.addingTimeInterval(lease), now: now)
        else { return false }
        if job.attempts > Self.maximumAttempts {
            try await repository.finishJob(
                jobID: job.id, status: .failed, summary: nil,
                error: "stopped after \(Self.maximumAttempts) attempts that did not finish", values: [], at: Date())
        } else if job.cancelRequested {
            try await repository.finishJob(
                jobID: job.id, status: .cancelled, summary: nil, error: "cancelled", values: [], at: Date())
        } else {
            await run(job, lease: lease)
        }
        return true
    }

    private func run(_ job: ValuationJob, lease: TimeInterval) async {
        let control = ComputeControl()
        do {
            guard let task = try await repository.task(id: job.taskID) else { throw ValuationError.taskNotFound }
            let dataset = try await assemble(task)
            let outcome = try await withTaskCancellationHandler {
                try await compute(dataset, task: task, job: job, lease: lease, control: control)
            } onCancel: {
                control.cancel()
            }
            try await repository.finishJob(
                jobID: job.id, status: .completed,
                summary: dataset.summary(task: task, outcome: outcome, currency: priceBook.currency), error: nil,
                values: dataset.recordValues(outcome), at: Date())
        } catch  where Task.isCancelled {
            // The runner is shutting down, not the job being cancelled: another runner (or this one
            // after a restart) takes it from the start. Detached, because this task is cancelled.
            let repository = self.repository
            try? await Task.detached { try await repository.requeue(jobID: job.id) }.value
        } catch {
            let status: JobStatus = error is CancellationError ? .cancelled : .failed
            let reason =
                (error as? ValuationError)?.description ?? (status == .cancelled ? "cancelled" : "internal error")
            try? await repository.finishJob(
                jobID: job.id, status: status, summary: nil, error: reason, values: [], at: Date())
        }
    }

    /// Runs the method on its own threads while reporting progress (and renewing the lease) every
    /// second; a cancellation requested through the API stops it at the next report.
    private func compute(
        _ dataset: ValuationDataset, task: ValuationTask, job: ValuationJob, lease: TimeInterval,
        control: ComputeControl
    ) async throws -> ValuationOutcome {
        try await withThrowingTaskGroup(of: ValuationOutcome?.self) { group in
            group.addTask { try await ComputeControl.offload { try dataset.value(task.method, self, control) } }
            group.addTask {
                while true {
                    try await Task.sleep(for: .seconds(1))
                    let cancel = try await self.repository.reportProgress(
                        jobID: job.id, progress: control.progress, leaseUntil: Date().addingTimeInterval(lease))
                    if cancel { control.cancel() }
                }
            }
            defer {
                control.cancel()
                group.cancelAll()
            }
            guard let outcome = try await group.next() ?? nil else { throw CancellationError() }
            return outcome
        }
    }

    /// Reads the task's records page by page and splits them into those that count and those that
    /// do not, with the reason.
    func assemble(_ task: ValuationTask) async throws -> ValuationDataset {
        var dataset = ValuationDataset(task: task)
        var standings: [String: SubjectStanding] = [:]
        var after: UUID?
        while true {
            let page = try await repository.records(category: task.category, after: after, limit: 5_000)
            for (header, content) in page {
                let standing: SubjectStanding
                if let known = standings[header.subjectID] {
                    standing = known
                } else {
                    standing = try await self.standing(header.subjectID)
                    standings[header.subjectID] = standing
                }
                dataset.add(header, content: content, standing: standing)
            }
            guard page.count == 5_000, let last = page.last else { break }
            after = last.record.id
        }
        return dataset
    }
}
