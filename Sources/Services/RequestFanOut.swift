import Consent
public import Crypto
public import Foundation
public import Identity
import Kernel
public import Logging
import Outbox
public import Privacy

/// Data-subject requests carried to the systems outside QSPP that hold personal data. A verified
/// request of a kind that fans out opens one task per registered system; the task travels as a signed
/// `request.task` webhook to the system's endpoint, and the system answers with a callback signed with
/// that endpoint's secret. The request completes only once every task is settled: answered by its
/// system, or excused by staff with a reason.
public struct RequestFanOut: Sendable {
    let tasks: any RequestTaskRepository
    /// The HMAC key of a webhook endpoint; nil when there is no such endpoint.
    let endpointKey: @Sendable (UUID) async throws -> SymmetricKey?
    let privacy: PrivacyService
    let identity: IdentityService
    let now: @Sendable () -> Date

    public init(
        tasks: any RequestTaskRepository, endpointKey: @escaping @Sendable (UUID) async throws -> SymmetricKey?,
        privacy: PrivacyService, identity: IdentityService, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.tasks = tasks
        self.endpointKey = endpointKey
        self.privacy = privacy
        self.identity = identity
        self.now = now
    }

    public static let maximumNameLength = 100
    /// Leaves room for the system's name in the request's event, whose reasons are bounded.
    public static let maximumReasonLength = 1800
    /// The largest JSON a system may return for one person's export.
    public static let maximumDataBytes = 256 * 1024
    /// How far an answer's `webhook-timestamp` may be from now: a captured answer is refused after it.
    static let answerTolerance: TimeInterval = 300
    static let batchSize = 50

    /// A task with the name of its system, as staff see it.
    public struct TaskView: Sendable {
        public let task: RequestTask
        public let system: String
    }

    // MARK: Systems

    /// Registers a system reached through the webhook endpoint `endpointID`; requests verified from now
    /// on fan out to it.
    public func register(
        name: String, endpointID: UUID, by admin: AuthenticatedUser, client: ClientInfo
    ) async throws -> DownstreamSystem {
        guard admin.isAdmin else { throw IdentityError.forbidden }
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= Self.maximumNameLength, !name.containsNUL else {
            throw ServiceError.invalidTask("name: 1 to \(Self.maximumNameLength) characters")
        }
        guard try await endpointKey(endpointID) != nil else {
            throw ServiceError.invalidTask("webhookId: no such webhook endpoint")
        }
        let system = DownstreamSystem(
            id: UUID(), name: name, endpointID: endpointID, createdBy: admin.userID,
            createdAt: now().roundedToMicroseconds)
        guard try await tasks.insertSystem(system) else {
            throw ServiceError.invalidTask("name: a live system already has this name")
        }
        try await identity.recordStaffAction(
            .downstreamRegistered, by: admin,
            details: ["system": system.id.lowercasedString, "endpoint": endpointID.lowercasedString],
            client: client)
        return system
    }

    public func systems(by admin: AuthenticatedUser) async throws -> [DownstreamSystem] {
        guard admin.isAdmin else { throw IdentityError.forbidden }
        return try await tasks.systems()
    }

    /// Retires a system: no new tasks; those it has stay open until it answers or staff excuse them.
    public func retire(_ id: UUID, by admin: AuthenticatedUser, client: ClientInfo) async throws {
        guard admin.isAdmin else { throw IdentityError.forbidden }
        guard try await tasks.retireSystem(id: id, at: now().roundedToMicroseconds) else {
            throw ServiceError.taskNotFound
        }
        try await identity.recordStaffAction(
            .downstreamRetired, by: admin, details: ["system": id.lowercasedString], client: client)
    }

    /// Whether tasks go to `endpointID`, or answers are awaited with its secret: a live system's, or a
    /// retired one's with tasks still open. Such an endpoint may not be deleted.
    func carriesTasks(_ endpointID: UUID) async throws -> Bool {
        for system in try await tasks.systems() where system.endpointID == endpointID {
            if system.retiredAt == nil { return true }
            if try await tasks.hasOpenTasks(systemID: system.id) { return true }
        }
        return false
    }

    // MARK: Fan-out

    /// Fans out verified requests that were not yet, cancels the open tasks of rejected ones (their
    /// systems are told to stop), and completes those whose last task was settled by a replica that
    /// stopped before completing them; returns how many it handled.
    /// One request that fails is logged and left for the next round; the others go on.
    @discardableResult
    public func runDue(logger: Logger? = nil) async throws -> Int {
        let waiting = try await tasks.requestsAwaitingFanOut(limit: Self.batchSize)
        var handled = 0
        for request in waiting {
            do {
                try await fanOut(request)
                handled += 1
            } catch {
                logger?.warning(
                    "fanning out a request failed", metadata: ["request": "\(request.id)", "error": "\(error)"])
            }
        }
        for id in try await tasks.rejectedRequestsWithOpenTasks(limit: Self.batchSize) {
            do {
                handled += try await tasks.cancelOpenTasks(requestID: id, at: now().roundedToMicroseconds) > 0 ? 1 : 0
            } catch {
                logger?.warning(
                    "cancelling a request's tasks failed", metadata: ["request": "\(id)", "error": "\(error)"])
            }
        }
        for id in try await tasks.requestsReadyToComplete(limit: Self.batchSize) {
            do {
                try await completeIfSettled(id)
                handled += 1
            } catch {
                logger?.warning("completing a request failed", metadata: ["request": "\(id)", "error": "\(error)"])
            }
        }
        return handled
    }

    /// Opens the request's tasks unless it was fanned out before.
    func fanOut(_ request: DataSubjectRequest) async throws {
        guard let action = TaskAction(request.kind), request.status == .verified || request.status == .inProgress
        else { return }
        try await tasks.fanOut(request, action: action, at: now().roundedToMicroseconds)
    }

    /// Makes sure the request is fanned out, then gives its tasks that are still open.
    func openTasks(of request: DataSubjectRequest) async throws -> [RequestTask] {
        guard TaskAction(request.kind) != nil else { return [] }
        if try await !tasks.isFannedOut(requestID: request.id) { try await fanOut(request) }
        return try await tasks.tasks(requestID: request.id).filter { $0.state == .open }
    }

    /// Records what QSPP did itself; the request completes with it once every task is settled.
    /// `erased` is an erased person's address, kept for the notice that the request is complete.
    func awaitSystems(
        _ request: DataSubjectRequest, outcome: String, by staff: UUID, erased: RequestNotices.Address?
    ) async throws {
        try await tasks.recordLocalFulfilment(
            requestID: request.id,
            LocalFulfilment(
                outcome: outcome, by: staff, at: now().roundedToMicroseconds, noticeRecipient: erased?.recipient,
                noticeLocale: erased?.locale))
        try await completeIfSettled(request.id)
    }

    public func tasks(of requestID: UUID) async throws -> [TaskView] {
        _ = try await privacy.request(requestID)
        let names = Dictionary(try await tasks.systems().map { ($0.id, $0.name) }) { first, _ in first }
        return try await tasks.tasks(requestID: requestID).map { TaskView(task: $0, system: names[$0.systemID] ?? "") }
    }

    public func openTaskCounts(_ requestIDs: [UUID]) async throws -> [UUID: (open: Int, overdue: Int)] {
        try await tasks.openTaskCounts(requestIDs: requestIDs, at: now())
    }

    public func overdueCount() async throws -> Int {
        try await tasks.overdueTaskCount(at: now())
    }

    // MARK: Settling

    /// A system's answer as it arrived: the Standard Webhooks headers and the exact body they sign.
    public struct Answer: Sendable {
        public let messageID: String?
        public let timestamp: String?
        public let signature: String?
        public let body: Data

        public init(messageID: String?, timestamp: String?, signature: String?, body: Data) {
            self.messageID = messageID
            self.timestamp = timestamp
            self.signature = signature
            self.body = body
        }
    }

    /// Settles a task with its system's answer: `done` (an export's data attached) or `no_data`. The
    /// answer must be signed with the system's endpoint secret within the tolerance, and name the task
    /// it answers, so it cannot be replayed later or for another task.
    public func answer(_ taskID: UUID, _ answer: Answer) async throws -> TaskView {
        guard let task = try await tasks.task(id: taskID), let system = try await tasks.system(id: task.systemID)
        else { throw ServiceError.taskNotFound }
        try await authenticate(answer, endpoint: system.endpointID)
        let (outcome, data) = try Self.parse(answer.body, taskID: taskID, action: task.action)
        guard task.state == .open else { throw ServiceError.taskSettled }
        let request = try await privacy.request(task.requestID)
        guard !request.status.isFinal else { throw ServiceError.taskSettled }
        guard
            try await tasks.settle(
                taskID: taskID, state: .done, outcome: outcome, by: nil, data: data,
                subject: request.subjectID.lowercasedString, at: now().roundedToMicroseconds)
        else { throw ServiceError.taskSettled }
        try await completeIfSettled(request.id)
        return TaskView(task: try await tasks.task(id: taskID) ?? task, system: system.name)
    }

    private func authenticate(_ answer: Answer, endpoint: UUID) async throws {
        guard let id = answer.messageID, !id.isEmpty, id.utf8.count <= 256,
            let timestamp = answer.timestamp.flatMap(Int64.init), let signature = answer.signature
        else {
            throw ServiceError.answerNotAuthentic(
                "sign the answer as Standard Webhooks do: webhook-id, webhook-timestamp, webhook-signature")
        }
        guard abs(Double(timestamp) - now().timeIntervalSince1970) <= Self.answerTolerance else {
            throw ServiceError.answerNotAuthentic("webhook-timestamp is too far from now")
        }
        guard let key = try await endpointKey(endpoint),
            StandardWebhookSignature.verify(signature, key: key, id: id, timestamp: timestamp, body: answer.body)
        else { throw ServiceError.answerNotAuthentic("webhook-signature does not verify") }
    }

    /// The outcome and, for an export, the data as a JSON object with sorted keys.
    static func parse(_ body: Data, taskID: UUID, action: TaskAction) throws -> (String, Data?) {
        guard let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
            let taskId = object["taskId"] as? String, let outcome = object["outcome"] as? String
        else { throw ServiceError.invalidTask("body: a JSON object with taskId and outcome") }
        if let unknown = Set(object.keys).subtracting(["taskId", "outcome", "data"]).min() {
            throw ServiceError.invalidTask("\(unknown.prefix(64)): not a field of an answer")
        }
        guard UUID(uuidString: taskId) == taskID else {
            throw ServiceError.invalidTask("taskId: the answer names another task")
        }
        guard outcome == "done" || outcome == "no_data" else {
            throw ServiceError.invalidTask("outcome: done or no_data")
        }
        guard let data = object["data"] else { return (outcome, nil) }
        guard action == .export, outcome == "done" else {
            throw ServiceError.invalidTask("data: only an export's done answer carries data")
        }
        guard data is [String: Any] else { throw ServiceError.invalidTask("data: must be a JSON object") }
        let encoded = try JSONSerialization.data(withJSONObject: data, options: [.sortedKeys, .withoutEscapingSlashes])
        guard encoded.count <= maximumDataBytes else {
            throw ServiceError.invalidTask("data: at most \(maximumDataBytes) bytes")
        }
        return (outcome, encoded)
    }

    /// Excuses an open task with a reason (the system is gone, or cannot act); the reason is kept as
    /// an event of the request.
    public func recordException(
        _ taskID: UUID, of requestID: UUID, reason: String, by staff: UUID
    ) async throws -> TaskView {
        let reason = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !reason.isEmpty else { throw ServiceError.invalidTask("reason: an exception needs a reason") }
        guard let task = try await tasks.task(id: taskID), task.requestID == requestID else {
            throw ServiceError.taskNotFound
        }
        let request = try await privacy.request(requestID)
        guard task.state == .open, !request.status.isFinal else { throw ServiceError.taskSettled }
        let system = try await tasks.system(id: task.systemID)?.name ?? ""
        guard reason.count <= Self.maximumReasonLength, !reason.containsNUL else {
            throw ServiceError.invalidTask("reason: at most \(Self.maximumReasonLength) characters, without U+0000")
        }
        // The reason is recorded before the task settles: a race lost to the system's own answer
        // leaves a note too many, never an exception without its reason.
        _ = try await privacy.note(requestID, by: staff, reason: "exception for \(system): \(reason)")
        guard
            try await tasks.settle(
                taskID: taskID, state: .exception, outcome: reason, by: staff, data: nil,
                subject: request.subjectID.lowercasedString, at: now().roundedToMicroseconds)
        else { throw ServiceError.taskSettled }
        try await completeIfSettled(requestID)
        return TaskView(task: try await tasks.task(id: taskID) ?? task, system: system)
    }

    /// Completes a request whose own part is done once no task is open.
    func completeIfSettled(_ requestID: UUID) async throws {
        guard let local = try await tasks.localFulfilment(requestID: requestID),
            try await tasks.tasks(requestID: requestID).allSatisfy({ $0.state != .open })
        else { return }
        let erased = local.noticeRecipient.map { (recipient: $0, locale: local.noticeLocale) }
        do {
            _ = try await privacy.transition(
                requestID, to: .completed, by: local.by, reason: local.outcome + "; every downstream system settled",
                erased: erased)
        } catch let error as PrivacyError where error.kind == .conflict {
            // Another replica, or another answer, completed it first.
        }
    }
}
