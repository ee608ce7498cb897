import Foundation
import Kernel
import Privacy

/// Downstream systems and the tasks requests fan out to them, on either backend.
struct SQLRequestTaskRepository: RequestTaskRepository {
    let database: any SQLDatabase
    let vault: PersonalDataVault

    private static let systemColumns = "id, name, endpoint_id, created_by, created_at, retired_at"
    private static let taskColumns =
        "id, request_id, system_id, action, state, created_at, settled_at, outcome, settled_by, data IS NOT NULL"
    static let dataField = "downstream_data"

    func insertSystem(_ system: DownstreamSystem) async throws -> Bool {
        do {
            try await insert(system)
            return true
        } catch  where database.isUniqueViolation(error) {
            return false
        }
    }

    private func insert(_ system: DownstreamSystem) async throws {
        _ = try await database.write(
            """
            INSERT INTO downstream_systems (id, name, endpoint_id, created_by, created_at)
            VALUES ($1, $2, $3, $4, $5)
            """,
            [
                .uuid(system.id), .text(system.name), .uuid(system.endpointID), .uuid(system.createdBy),
                .time(system.createdAt),
            ])
    }

    func systems() async throws -> [DownstreamSystem] {
        try await database.select(
            "SELECT \(Self.systemColumns) FROM downstream_systems ORDER BY created_at, id", []
        ).map(Self.system)
    }

    func system(id: UUID) async throws -> DownstreamSystem? {
        try await database.select("SELECT \(Self.systemColumns) FROM downstream_systems WHERE id = $1", [.uuid(id)])
            .first.map(Self.system)
    }

    func retireSystem(id: UUID, at date: Date) async throws -> Bool {
        try await !database.write(
            "UPDATE downstream_systems SET retired_at = $2 WHERE id = $1 AND retired_at IS NULL RETURNING id",
            [.uuid(id), .time(date)]
        ).isEmpty
    }

    func hasOpenTasks(systemID: UUID) async throws -> Bool {
        try await !database.select(
            "SELECT 1 FROM request_tasks WHERE system_id = $1 AND state = 'open' LIMIT 1", [.uuid(systemID)]
        ).isEmpty
    }

    func requestsAwaitingFanOut(limit: Int) async throws -> [DataSubjectRequest] {
        let kinds = RequestKind.allCases.filter { TaskAction($0) != nil }.map { "'\($0.rawValue)'" }
        let ids = try await database.select(
            """
            SELECT r.id FROM dsr_requests r
            WHERE r.status IN ('verified', 'in_progress') AND r.kind IN (\(kinds.joined(separator: ", ")))
                AND NOT EXISTS (SELECT 1 FROM request_fanouts f WHERE f.request_id = r.id)
            ORDER BY r.received_at LIMIT $1
            """, [.integer(Int64(limit))])
        let requests = SQLPrivacyRepository(database: database, vault: vault)
        var found: [DataSubjectRequest] = []
        for row in ids {
            if let request = try await requests.request(id: try row.uuid(0)) { found.append(request) }
        }
        return found
    }

    func fanOut(_ request: DataSubjectRequest, action: TaskAction, at date: Date) async throws {
        let subject = request.subjectID.lowercasedString
        try await database.transaction { tx in
            let opened = try await tx.query(
                """
                INSERT INTO request_fanouts (request_id, opened_at) VALUES ($1, $2)
                ON CONFLICT (request_id) DO NOTHING RETURNING request_id
                """, [.uuid(request.id), .time(date)])
            guard !opened.isEmpty else { return }
            let systems = try await tx.query(
                "SELECT id FROM downstream_systems WHERE retired_at IS NULL ORDER BY created_at, id", [])
            var records: [LedgerRecord] = []
            for row in systems {
                let system = try row.uuid(0)
                let task = UUID()
                try await tx.execute(
                    """
                    INSERT INTO request_tasks (id, request_id, system_id, action, created_at)
                    VALUES ($1, $2, $3, $4, $5)
                    """, [.uuid(task), .uuid(request.id), .uuid(system), .text(action.rawValue), .time(date)])
                records.append(
                    Self.taskRecord(
                        task: task, request: request.id, system: system, subject: subject, action: action.rawValue,
                        state: .open, at: date))
            }
            // Last: the ledger's head stays locked until the commit, keeping ledger order commit order.
            if !records.isEmpty { _ = try await tx.appendLedger(records) }
        }
    }

    func rejectedRequestsWithOpenTasks(limit: Int) async throws -> [UUID] {
        try await database.select(
            """
            SELECT r.id FROM dsr_requests r
            WHERE r.status = 'rejected'
                AND EXISTS (SELECT 1 FROM request_tasks t WHERE t.request_id = r.id AND t.state = 'open')
            ORDER BY r.updated_at LIMIT $1
            """, [.integer(Int64(limit))]
        ).map { try $0.uuid(0) }
    }

    func cancelOpenTasks(requestID: UUID, at date: Date) async throws -> Int {
        try await database.transaction { tx in
            let cancelled = try await tx.query(
                """
                UPDATE request_tasks SET state = 'cancelled', settled_at = $2
                WHERE request_id = $1 AND state = 'open' RETURNING id, system_id, action
                """, [.uuid(requestID), .time(date)])
            guard !cancelled.isEmpty else { return 0 }
            let subject =
                try await tx.query("SELECT subject_id FROM dsr_requests WHERE id = $1", [.uuid(requestID)])
                .first?.text(0) ?? ""
            var records: [LedgerRecord] = []
            for row in cancelled {
                records.append(
                    Self.taskRecord(
                        task: try row.uuid(0), request: requestID, system: try row.uuid(1), subject: subject,
                        action: try row.text(2), state: .cancelled, at: date))
            }
            // Last: the ledger's head stays locked until the commit.
            _ = try await tx.appendLedger(records)
            return cancelled.count
        }
    }

    /// What the ledger keeps of a task opened or cancelled, which the dispatcher sends to its system.
    static func taskRecord(
        task: UUID, request: UUID, system: UUID, subject: String, action: String, state: RequestTask.State,
        at date: Date
    ) -> LedgerRecord {
        LedgerRecord(
            type: "task", id: task.lowercasedString,
            fields: [
                "request": request.lowercasedString, "system": system.lowercasedString, "subject": subject,
                "action": action, "state": state.rawValue, "created_at": String(date.microsecondsSince1970),
            ])
    }

    func isFannedOut(requestID: UUID) async throws -> Bool {
        try await !database.select("SELECT 1 FROM request_fanouts WHERE request_id = $1", [.uuid(requestID)]).isEmpty
    }

    func tasks(requestID: UUID) async throws -> [RequestTask] {
        try await database.select(
            "SELECT \(Self.taskColumns) FROM request_tasks WHERE request_id = $1 ORDER BY created_at, system_id",
            [.uuid(requestID)]
        ).map(Self.task)
    }

    func task(id: UUID) async throws -> RequestTask? {
        try await database.select("SELECT \(Self.taskColumns) FROM request_tasks WHERE id = $1", [.uuid(id)])
            .first.map(Self.task)
    }

    func settle(
        taskID: UUID, state: RequestTask.State, outcome: String, by staff: UUID?, data: Data?, subject: String,
        at date: Date
    ) async throws -> Bool {
        let sealed = try vault.seal(
            data.map { String(decoding: $0, as: UTF8.self) }, subject: subject, field: Self.dataField)
        let keys = sealed.newKey.map { [$0] } ?? []
        let settled = try await database.transaction { tx in
            try await PersonalDataVault.insert(keys, tx)
            return try await !tx.query(
                """
                UPDATE request_tasks SET state = $2, outcome = $3, settled_by = $4, data = $5, settled_at = $6
                WHERE id = $1 AND state = 'open' RETURNING id
                """,
                [
                    .uuid(taskID), .text(state.rawValue), .text(outcome), staff.map(SQLValue.uuid) ?? .null,
                    .optional(sealed.sealed), .time(date),
                ]
            ).isEmpty
        }
        vault.confirm(keys)
        return settled
    }

    /// The key subject an erased person's address is sealed for, as their notice's is.
    private static func noticeSubject(_ requestID: UUID) -> String {
        "erasure-notice:" + requestID.lowercasedString
    }

    func recordLocalFulfilment(requestID: UUID, _ local: LocalFulfilment) async throws {
        let sealed = try vault.seal(local.noticeRecipient, subject: Self.noticeSubject(requestID), field: "email")
        let keys = sealed.newKey.map { [$0] } ?? []
        try await database.transaction { tx in
            try await PersonalDataVault.insert(keys, tx)
            try await tx.execute(
                """
                UPDATE request_fanouts SET local_outcome = $2, local_by = $3, local_at = $4, notice_recipient = $5,
                    notice_locale = $6
                WHERE request_id = $1 AND local_at IS NULL
                """,
                [
                    .uuid(requestID), .text(local.outcome), .uuid(local.by), .time(local.at), .optional(sealed.sealed),
                    .optional(local.noticeLocale),
                ])
        }
        vault.confirm(keys)
    }

    func localFulfilment(requestID: UUID) async throws -> LocalFulfilment? {
        guard
            let row = try await database.select(
                """
                SELECT local_outcome, local_by, local_at, notice_recipient, notice_locale FROM request_fanouts
                WHERE request_id = $1 AND local_at IS NOT NULL
                """, [.uuid(requestID)]
            ).first
        else { return nil }
        return LocalFulfilment(
            outcome: try row.text(0), by: try row.uuid(1), at: try row.time(2),
            noticeRecipient: try await vault.open(
                row[3].text, subject: Self.noticeSubject(requestID), field: "email"),
            noticeLocale: row[4].text)
    }

    func requestsReadyToComplete(limit: Int) async throws -> [UUID] {
        try await database.select(
            """
            SELECT f.request_id FROM request_fanouts f JOIN dsr_requests r ON r.id = f.request_id
            WHERE f.local_at IS NOT NULL AND r.status = 'in_progress'
                AND NOT EXISTS (SELECT 1 FROM request_tasks t WHERE t.request_id = f.request_id AND t.state = 'open')
            ORDER BY f.local_at LIMIT $1
            """, [.integer(Int64(limit))]
        ).map { try $0.uuid(0) }
    }

    func downstreamData(subject: String) async throws -> [DownstreamData] {
        let rows = try await database.select(
            """
            SELECT s.name, t.id, t.request_id, t.settled_at, t.data FROM request_tasks t
            JOIN downstream_systems s ON s.id = t.system_id JOIN dsr_requests r ON r.id = t.request_id
            WHERE r.subject_id = $1 AND t.data IS NOT NULL ORDER BY t.settled_at, t.id
            """, [.text(subject)])
        var found: [DownstreamData] = []
        for row in rows {
            // Nil once the person's keys are destroyed: nothing of theirs remains to export.
            guard let json = try await vault.open(try row.text(4), subject: subject, field: Self.dataField) else {
                continue
            }
            found.append(
                DownstreamData(
                    system: try row.text(0), taskID: try row.uuid(1), requestID: try row.uuid(2),
                    settledAt: try row.time(3), json: Data(json.utf8)))
        }
        return found
    }

    func overdueTaskCount(at date: Date) async throws -> Int {
        let row = try await database.select(
            """
            SELECT COUNT(*) FROM request_tasks t JOIN dsr_requests r ON r.id = t.request_id
            WHERE t.state = 'open' AND r.status NOT IN ('completed', 'rejected') AND r.due_at < $1
            """, [.time(date)]
        ).first
        return Int(try row?.integer(0) ?? 0)
    }

    func openTaskCounts(requestIDs: [UUID], at date: Date) async throws -> [UUID: (open: Int, overdue: Int)] {
        guard !requestIDs.isEmpty else { return [:] }
        let placeholders = requestIDs.indices.map { "$\($0 + 2)" }.joined(separator: ", ")
        let rows = try await database.select(
            """
            SELECT t.request_id, COUNT(*), COUNT(CASE WHEN r.due_at < $1 THEN 1 END)
            FROM request_tasks t JOIN dsr_requests r ON r.id = t.request_id
            WHERE t.state = 'open' AND t.request_id IN (\(placeholders)) GROUP BY t.request_id
            """, [.time(date)] + requestIDs.map(SQLValue.uuid))
        var counts: [UUID: (open: Int, overdue: Int)] = [:]
        for row in rows { counts[try row.uuid(0)] = (Int(try row.integer(1)), Int(try row.integer(2))) }
        return counts
    }

    private static func system(_ row: SQLRow) throws -> DownstreamSystem {
        DownstreamSystem(
            id: try row.uuid(0), name: try row.text(1), endpointID: try row.uuid(2), createdBy: try row.uuid(3),
            createdAt: try row.time(4), retiredAt: row.optionalTime(5))
    }

    private static func task(_ row: SQLRow) throws -> RequestTask {
        guard let action = TaskAction(rawValue: try row.text(3)),
            let state = RequestTask.State(rawValue: try row.text(4))
        else { throw StorageError.corrupted("request task") }
        return RequestTask(
            id: try row.uuid(0), requestID: try row.uuid(1), systemID: try row.uuid(2), action: action, state: state,
            createdAt: try row.time(5), settledAt: row.optionalTime(6), outcome: row[7].text,
            settledBy: row[8].text.flatMap(UUID.init(uuidString:)), hasData: row[9].integer == 1)
    }
}
