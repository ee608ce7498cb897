public import Foundation

/// A system outside QSPP that holds personal data (a CRM, a mailing tool, a warehouse), registered by
/// an administrator so that data-subject requests reach it. Tasks travel to it through one of the
/// webhook endpoints, and its answers are signed with that endpoint's secret.
public struct DownstreamSystem: Sendable, Equatable {
    public let id: UUID
    public var name: String
    public var endpointID: UUID
    public var createdBy: UUID
    public var createdAt: Date
    /// Set when an administrator retired it: it gets no new tasks, and its open ones still count.
    public var retiredAt: Date?

    public init(id: UUID, name: String, endpointID: UUID, createdBy: UUID, createdAt: Date, retiredAt: Date? = nil) {
        self.id = id
        self.name = name
        self.endpointID = endpointID
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.retiredAt = retiredAt
    }
}

/// What a downstream system is asked to do for a request.
public enum TaskAction: String, Sendable, CaseIterable, Codable {
    /// Return what it holds about the person (access, portability, know).
    case export
    case erase
    case rectify
    /// Stop selling or sharing the person's data.
    case optOut = "opt_out"

    /// The action a request of `kind` fans out as; nil for the kinds QSPP answers alone.
    public init?(_ kind: RequestKind) {
        switch kind {
        case .access, .portability, .know: self = .export
        case .erasure, .delete: self = .erase
        case .rectification, .correct: self = .rectify
        case .optOut: self = .optOut
        case .restriction, .objection: return nil
        }
    }
}

/// One system's share of one request: open until the system confirms it, or until staff record why
/// it cannot (an exception). Its deadline is the request's.
public struct RequestTask: Sendable, Equatable {
    public enum State: String, Sendable, Codable {
        case open
        /// The system confirmed: done, or it held nothing about the person.
        case done
        case exception
        /// The request was rejected before the system answered: it is told to stop.
        case cancelled
    }

    public let id: UUID
    public let requestID: UUID
    public let systemID: UUID
    public let action: TaskAction
    public var state: State
    public let createdAt: Date
    public var settledAt: Date?
    /// For a system's answer, `done` or `no_data`; for an exception, the staff's reason.
    public var outcome: String?
    /// Who recorded an exception.
    public var settledBy: UUID?
    /// Whether the system returned data, which the person's export carries.
    public var hasData: Bool

    public init(
        id: UUID, requestID: UUID, systemID: UUID, action: TaskAction, state: State, createdAt: Date,
        settledAt: Date? = nil, outcome: String? = nil, settledBy: UUID? = nil, hasData: Bool = false
    ) {
        self.id = id
        self.requestID = requestID
        self.systemID = systemID
        self.action = action
        self.state = state
        self.createdAt = createdAt
        self.settledAt = settledAt
        self.outcome = outcome
        self.settledBy = settledBy
        self.hasData = hasData
    }
}

/// What QSPP's own part of a request came to, kept while the systems still work on theirs, so
/// the request completes with it once the last system is settled.
public struct LocalFulfilment: Sendable, Equatable {
    public let outcome: String
    public let by: UUID
    public let at: Date
    /// For an erasure, where the erased person is told that it is complete: read before the erasure
    /// destroyed their account, and stored sealed under a key that is not theirs.
    public let noticeRecipient: String?
    public let noticeLocale: String?

    public init(outcome: String, by: UUID, at: Date, noticeRecipient: String? = nil, noticeLocale: String? = nil) {
        self.outcome = outcome
        self.by = by
        self.at = at
        self.noticeRecipient = noticeRecipient
        self.noticeLocale = noticeLocale
    }
}

/// What a downstream system returned for a person's export.
public struct DownstreamData: Sendable, Equatable {
    public let system: String
    public let taskID: UUID
    public let requestID: UUID
    public let settledAt: Date
    /// A JSON object, as the system sent it.
    public let json: Data

    public init(system: String, taskID: UUID, requestID: UUID, settledAt: Date, json: Data) {
        self.system = system
        self.taskID = taskID
        self.requestID = requestID
        self.settledAt = settledAt
        self.json = json
    }
}

/// Durable storage of downstream systems and the tasks requests fan out to them.
public protocol RequestTaskRepository: Sendable {
    /// Stores a system; false, with nothing stored, when a live system has its name.
    func insertSystem(_ system: DownstreamSystem) async throws -> Bool
    func systems() async throws -> [DownstreamSystem]
    func system(id: UUID) async throws -> DownstreamSystem?
    func retireSystem(id: UUID, at date: Date) async throws -> Bool
    /// Whether the system has a task still open.
    func hasOpenTasks(systemID: UUID) async throws -> Bool

    /// Verified or in-progress requests of kinds that fan out and have not yet been fanned out,
    /// oldest first.
    func requestsAwaitingFanOut(limit: Int) async throws -> [DataSubjectRequest]
    /// Opens one task per live system for `request`, each with its ledger entry, and marks the
    /// request fanned out, in one transaction; a request fanned out before keeps its tasks.
    func fanOut(_ request: DataSubjectRequest, action: TaskAction, at date: Date) async throws
    /// Whether `request` has been fanned out.
    func isFannedOut(requestID: UUID) async throws -> Bool
    func tasks(requestID: UUID) async throws -> [RequestTask]
    func task(id: UUID) async throws -> RequestTask?
    /// Settles an open task: the system's answer with its data (sealed for `subject`), or staff's
    /// exception. False when the task is not open.
    func settle(
        taskID: UUID, state: RequestTask.State, outcome: String, by staff: UUID?, data: Data?, subject: String,
        at date: Date
    ) async throws -> Bool
    /// Rejected requests that still have open tasks, oldest first.
    func rejectedRequestsWithOpenTasks(limit: Int) async throws -> [UUID]
    /// Cancels the request's open tasks, each with a ledger entry that tells its system, in one
    /// transaction; returns how many.
    func cancelOpenTasks(requestID: UUID, at date: Date) async throws -> Int
    /// Records the request's own part as done, once.
    func recordLocalFulfilment(requestID: UUID, _ local: LocalFulfilment) async throws
    func localFulfilment(requestID: UUID) async throws -> LocalFulfilment?
    /// In-progress requests whose own part is done and whose tasks are all settled, oldest first.
    func requestsReadyToComplete(limit: Int) async throws -> [UUID]
    /// What the systems returned for `subject`'s exports, oldest first.
    func downstreamData(subject: String) async throws -> [DownstreamData]
    /// Open tasks of open requests past their due date.
    func overdueTaskCount(at date: Date) async throws -> Int
    /// Open tasks, and those overdue, of each of `requestIDs` that has any.
    func openTaskCounts(requestIDs: [UUID], at date: Date) async throws -> [UUID: (open: Int, overdue: Int)]
}
