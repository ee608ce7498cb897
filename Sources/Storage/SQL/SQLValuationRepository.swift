import Foundation
import Kernel
import PQCrypto
import Privacy
import Valuation

/// Valyze's records, tasks and jobs, in SQL both backends run unchanged. A record's content (its
/// attributes, label and source) is sealed under its subject's data key, bound to the record's id.
struct SQLValuationRepository: ValuationRepository {
    let database: any SQLDatabase
    let vault: PersonalDataVault

    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }()

    private static func field(_ id: UUID) -> String { "record/" + id.lowercasedString }

    func insertRecord(_ record: DataRecord) async throws {
        let json = String(decoding: try Self.encoder.encode(record.content), as: UTF8.self)
        let (sealed, key) = try vault.seal(json, subject: record.subjectID, field: Self.field(record.id))
        let keys = key.map { [$0] } ?? []
        try await database.transaction { tx in
            try await PersonalDataVault.insert(keys, tx)
            try await tx.execute(
                """
                INSERT INTO data_records (id, subject_id, category, purpose_id, content, recorded_at, created_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                """,
                [
                    .uuid(record.id), .text(record.subjectID), .text(record.category), .text(record.purposeID),
                    .optional(sealed), .time(record.recordedAt), .time(record.createdAt),
                ])
        }
        vault.confirm(keys)
    }

    private static let recordColumns = "id, subject_id, category, purpose_id, recorded_at, created_at, content"

    private func record(_ row: SQLRow) async throws -> (record: DataRecord.Header, content: DataRecord.Content?) {
        let header = DataRecord.Header(
            id: try row.uuid(0), subjectID: try row.text(1), category: try row.text(2), purposeID: try row.text(3),
            recordedAt: try row.time(4), createdAt: try row.time(5))
        guard let json = try await vault.open(row[6].text, subject: header.subjectID, field: Self.field(header.id))
        else { return (header, nil) }
        return (header, try JSONDecoder().decode(DataRecord.Content.self, from: Data(json.utf8)))
    }

    func records(subjectID: String) async throws -> [(record: DataRecord.Header, content: DataRecord.Content?)] {
        var result: [(record: DataRecord.Header, content: DataRecord.Content?)] = []
        for row in try await database.select(
            "SELECT \(Self.recordColumns) FROM data_records WHERE subject_id = $1 ORDER BY created_at, id",
            [.text(subjectID)])
        {
            result.append(try await record(row))
        }
        return result
    }

    func records(
        category: String, after: UUID?, limit: Int
    ) async throws
        -> [(record: DataRecord.Header, content: DataRecord.Content?)]
    {
        var result: [(record: DataRecord.Header, content: DataRecord.Content?)] = []
        for row in try await database.select(
            "SELECT \(Self.recordColumns) FROM data_records WHERE category = $1 AND id > $2 ORDER BY id LIMIT $3",
            [.text(category), .text(after?.lowercasedString ?? ""), .integer(Int64(limit))])
        {
            result.append(try await record(row))
        }
        return result
    }

    func countRecords(category: String) async throws -> Int {
        let rows = try await database.select("SELECT COUNT(*) FROM data_records WHERE category = $1", [.text(category)])
        return Int(try rows.first?.integer(0) ?? 0)
    }

    func deleteRecord(id: UUID, subjectID: String) async throws -> Bool {
        try await !database.write(
            "DELETE FROM data_records WHERE id = $1 AND subject_id = $2 RETURNING id", [.uuid(id), .text(subjectID)]
        ).isEmpty
    }

    func insertTask(_ task: ValuationTask) async throws {
        let definition = String(decoding: try Self.encoder.encode(task), as: UTF8.self)
        _ = try await database.write(
            "INSERT INTO valuation_tasks (id, definition, created_at) VALUES ($1, $2, $3)",
            [.uuid(task.id), .text(definition), .time(task.createdAt)])
    }

    private static func task(_ row: SQLRow) throws -> ValuationTask {
        do {
            return try JSONDecoder().decode(ValuationTask.self, from: Data(try row.text(0).utf8))
        } catch {
            throw StorageError.corrupted("valuation task")
        }
    }

    func task(id: UUID) async throws -> ValuationTask? {
        try await database.select("SELECT definition FROM valuation_tasks WHERE id = $1", [.uuid(id)])
            .first.map(Self.task)
    }

    func tasks() async throws -> [ValuationTask] {
        try await database.select("SELECT definition FROM valuation_tasks ORDER BY created_at DESC", []).map(Self.task)
    }

    private static let jobColumns = """
        id, task_id, status, progress_ppm, created_at, started_at, finished_at, error, cancel_requested, attempts,
        summary
        """

    private static func job(_ row: SQLRow) throws -> ValuationJob {
        guard let status = JobStatus(rawValue: try row.text(2)) else { throw StorageError.corrupted("valuation job") }
        var job = ValuationJob(id: try row.uuid(0), taskID: try row.uuid(1), createdAt: try row.time(4))
        job.status = status
        job.progress = Double(try row.integer(3)) / 1_000_000
        job.startedAt = row.optionalTime(5)
        job.finishedAt = row.optionalTime(6)
        job.error = row[7].text
        job.cancelRequested = try row.integer(8) != 0
        job.attempts = Int(try row.integer(9))
        job.summary = try row[10].text.map { try JSONDecoder().decode(JobSummary.self, from: Data($0.utf8)) }
        return job
    }

    func insertJob(_ job: ValuationJob) async throws {
        _ = try await database.write(
            "INSERT INTO valuation_jobs (id, task_id, status, created_at) VALUES ($1, $2, $3, $4)",
            [.uuid(job.id), .uuid(job.taskID), .text(job.status.rawValue), .time(job.createdAt)])
    }

    func job(id: UUID) async throws -> ValuationJob? {
        try await database.select("SELECT \(Self.jobColumns) FROM valuation_jobs WHERE id = $1", [.uuid(id)])
            .first.map(Self.job)
    }

    func jobs(limit: Int) async throws -> [ValuationJob] {
        try await database.select(
            "SELECT \(Self.jobColumns) FROM valuation_jobs ORDER BY created_at DESC LIMIT $1", [.integer(Int64(limit))]
        ).map(Self.job)
    }

    func claimJob(id: UUID?, leaseUntil: Date, now: Date) async throws -> ValuationJob? {
        // The outer condition is checked again after any concurrent claim commits (PostgreSQL re-reads
        // the row under READ COMMITTED; SQLite has one writer), so two runners never share a job.
        let waiting = "(status = 'queued' OR (status = 'running' AND lease_until < $2))"
        return try await database.write(
            """
            UPDATE valuation_jobs SET status = 'running', lease_until = $1, attempts = attempts + 1,
                started_at = COALESCE(started_at, $2)
            WHERE id = (
                SELECT id FROM valuation_jobs WHERE \(waiting) AND ($3 = '' OR id = $3) ORDER BY created_at, id LIMIT 1
            ) AND \(waiting)
            RETURNING \(Self.jobColumns)
            """, [.time(leaseUntil), .time(now), .text(id?.lowercasedString ?? "")]
        ).first.map(Self.job)
    }

    func requeue(jobID: UUID) async throws {
        _ = try await database.write(
            """
            UPDATE valuation_jobs SET status = 'queued', lease_until = NULL, attempts = attempts - 1
            WHERE id = $1 AND status = 'running'
            """, [.uuid(jobID)])
    }

    func reportProgress(jobID: UUID, progress: Double, leaseUntil: Date) async throws -> Bool {
        let rows = try await database.write(
            """
            UPDATE valuation_jobs SET progress_ppm = $1, lease_until = $2 WHERE id = $3 AND status = 'running'
            RETURNING cancel_requested
            """, [.integer(Int64(progress * 1_000_000)), .time(leaseUntil), .uuid(jobID)])
        // A job no longer running (finished elsewhere, or gone) should stop too.
        return try rows.first.map { try $0.integer(0) != 0 } ?? true
    }

    func finishJob(
        jobID: UUID, status: JobStatus, summary: JobSummary?, error: String?, values: [RecordValue], at date: Date
    ) async throws {
        let summaryText = try summary.map { String(decoding: try Self.encoder.encode($0), as: UTF8.self) }
        try await database.transaction { tx in
            try await tx.execute(
                """
                UPDATE valuation_jobs SET status = $1, summary = $2, error = $3, finished_at = $4, lease_until = NULL,
                    progress_ppm = CASE WHEN $1 = 'completed' THEN 1000000 ELSE progress_ppm END
                WHERE id = $5
                """, [.text(status.rawValue), .optional(summaryText), .optional(error), .time(date), .uuid(jobID)])
            for chunk in stride(from: 0, to: values.count, by: 500) {
                let slice = values[chunk..<min(chunk + 500, values.count)]
                var binds: [SQLValue] = [.uuid(jobID)]
                var tuples: [String] = []
                for value in slice {
                    let base = binds.count
                    tuples.append("($1, $\(base + 1), $\(base + 2), $\(base + 3), $\(base + 4), $\(base + 5))")
                    binds += [
                        .uuid(value.recordID), .text(value.subjectID), .optional(value.value.map { "\($0)" }),
                        .optional(value.standardError.map { "\($0)" }), .optional(value.excluded?.rawValue),
                    ]
                }
                try await tx.execute(
                    """
                    INSERT INTO valuation_values (job_id, record_id, subject_id, value, standard_error, excluded)
                    VALUES \(tuples.joined(separator: ", "))
                    """, binds)
            }
            var fields = ["status": status.rawValue, "finished_at": String(date.microsecondsSince1970)]
            fields["records"] = summary.map { String($0.recordsCounted) }
            _ = try await tx.appendLedger([
                LedgerRecord(type: "valuation_job", id: jobID.lowercasedString, fields: fields)
            ])
        }
    }

    func requestCancel(jobID: UUID, at date: Date) async throws -> ValuationJob? {
        _ = try await database.write(
            """
            UPDATE valuation_jobs SET status = 'cancelled', finished_at = $1, error = 'cancelled before it started',
                cancel_requested = 1
            WHERE id = $2 AND status = 'queued'
            """, [.time(date), .uuid(jobID)])
        _ = try await database.write(
            "UPDATE valuation_jobs SET cancel_requested = 1 WHERE id = $1 AND status = 'running'", [.uuid(jobID)])
        return try await job(id: jobID)
    }

    private static func value(_ row: SQLRow, offset: Int = 0) throws -> RecordValue {
        RecordValue(
            recordID: try row.uuid(offset), subjectID: try row.text(offset + 1),
            value: row[offset + 2].text.flatMap(Double.init), standardError: row[offset + 3].text.flatMap(Double.init),
            excluded: row[offset + 4].text.flatMap(ExclusionReason.init))
    }

    func shares(jobID: UUID, limit: Int) async throws -> [SubjectShare] {
        let rows = try await database.select(
            "SELECT record_id, subject_id, value, standard_error, excluded FROM valuation_values WHERE job_id = $1",
            [.uuid(jobID)])
        var shares: [String: SubjectShare] = [:]
        for row in rows {
            let value = try Self.value(row)
            var share =
                shares[value.subjectID]
                ?? SubjectShare(
                    subjectID: value.subjectID, records: 0, excluded: 0, value: 0, positiveValue: 0)
            if let amount = value.value {
                share.records += 1
                share.value += amount
                share.positiveValue += max(0, amount)
            } else {
                share.excluded += 1
            }
            shares[value.subjectID] = share
        }
        return Array(shares.values.sorted { ($0.value, $0.subjectID) > ($1.value, $1.subjectID) }.prefix(limit))
    }

    func latestValues(subjectID: String) async throws -> [(job: ValuationJob, values: [RecordValue])] {
        // The newest completed job of each task that holds a row for this subject.
        let jobs = try await database.select(
            """
            SELECT \(Self.jobColumns) FROM valuation_jobs j
            WHERE j.status = 'completed'
              AND EXISTS (SELECT 1 FROM valuation_values v WHERE v.job_id = j.id AND v.subject_id = $1)
              AND NOT EXISTS (
                SELECT 1 FROM valuation_jobs newer
                WHERE newer.task_id = j.task_id AND newer.status = 'completed'
                  AND (newer.finished_at > j.finished_at OR (newer.finished_at = j.finished_at AND newer.id > j.id)))
            ORDER BY j.finished_at DESC
            """, [.text(subjectID)]
        ).map(Self.job)
        var result: [(job: ValuationJob, values: [RecordValue])] = []
        for job in jobs {
            let values = try await database.select(
                """
                SELECT record_id, subject_id, value, standard_error, excluded FROM valuation_values
                WHERE job_id = $1 AND subject_id = $2 ORDER BY record_id
                """, [.uuid(job.id), .text(subjectID)]
            ).map { try Self.value($0) }
            result.append((job, values))
        }
        return result
    }
}
