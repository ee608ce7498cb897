import Foundation
import Privacy
import Synchronization

/// `RequestTaskRepository` in memory, with the semantics of `SQLRequestTaskRepository`: a request fans
/// out once, to the systems live at that moment; a task settles once; data is kept per subject.
public final class InMemoryRequestTaskRepository: RequestTaskRepository, Sendable {
    private struct State {
        var systems: [DownstreamSystem] = []
        var fannedOut: [UUID: LocalFulfilment?] = [:]
        var tasks: [RequestTask] = []
        var data: [UUID: (subject: String, json: Data)] = [:]
    }

    private let state = Mutex(State())
    private let requests: InMemoryPrivacyRepository

    public init(requests: InMemoryPrivacyRepository) {
        self.requests = requests
    }

    public func insertSystem(_ system: DownstreamSystem) async throws -> Bool {
        state.withLock { state in
            guard !state.systems.contains(where: { $0.retiredAt == nil && $0.name == system.name }) else {
                return false
            }
            state.systems.append(system)
            return true
        }
    }

    public func hasOpenTasks(systemID: UUID) async throws -> Bool {
        state.withLock { $0.tasks.contains { $0.systemID == systemID && $0.state == .open } }
    }

    public func systems() async throws -> [DownstreamSystem] { state.withLock { $0.systems } }

    public func system(id: UUID) async throws -> DownstreamSystem? {
        state.withLock { $0.systems.first { $0.id == id } }
    }

    public func retireSystem(id: UUID, at date: Date) async throws -> Bool {
        state.withLock { state in
            guard let index = state.systems.firstIndex(where: { $0.id == id && $0.retiredAt == nil }) else {
                return false
            }
            state.systems[index].retiredAt = date
            return true
        }
    }

    public func requestsAwaitingFanOut(limit: Int) async throws -> [DataSubjectRequest] {
        let fanned = state.withLock { Set($0.fannedOut.keys) }
        return try await requests.queue(includeClosed: false, limit: 10_000)
            .filter {
                ($0.status == .verified || $0.status == .inProgress) && TaskAction($0.kind) != nil
                    && !fanned.contains($0.id)
            }
            .sorted { $0.receivedAt < $1.receivedAt }.prefix(limit).map { $0 }
    }

    public func fanOut(_ request: DataSubjectRequest, action: TaskAction, at date: Date) async throws {
        state.withLock { state in
            guard state.fannedOut[request.id] == nil else { return }
            state.fannedOut[request.id] = .some(nil)
            for system in state.systems where system.retiredAt == nil {
                state.tasks.append(
                    RequestTask(
                        id: UUID(), requestID: request.id, systemID: system.id, action: action, state: .open,
                        createdAt: date))
            }
        }
    }

    public func rejectedRequestsWithOpenTasks(limit: Int) async throws -> [UUID] {
        let open = state.withLock { Set($0.tasks.filter { $0.state == .open }.map(\.requestID)) }
        var rejected: [UUID] = []
        for id in open where try await requests.request(id: id)?.status == .rejected { rejected.append(id) }
        return Array(rejected.prefix(limit))
    }

    public func cancelOpenTasks(requestID: UUID, at date: Date) async throws -> Int {
        state.withLock { state in
            var cancelled = 0
            for index in state.tasks.indices
            where state.tasks[index].requestID == requestID && state.tasks[index].state == .open {
                state.tasks[index].state = .cancelled
                state.tasks[index].settledAt = date
                cancelled += 1
            }
            return cancelled
        }
    }

    public func isFannedOut(requestID: UUID) async throws -> Bool {
        state.withLock { $0.fannedOut[requestID] != nil }
    }

    public func tasks(requestID: UUID) async throws -> [RequestTask] {
        state.withLock { $0.tasks.filter { $0.requestID == requestID } }
    }

    public func task(id: UUID) async throws -> RequestTask? {
        state.withLock { $0.tasks.first { $0.id == id } }
    }

    public func settle(
        taskID: UUID, state newState: RequestTask.State, outcome: String, by staff: UUID?, data: Data?,
        subject: String, at date: Date
    ) async throws -> Bool {
        state.withLock { state in
            guard let index = state.tasks.firstIndex(where: { $0.id == taskID && $0.state == .open }) else {
                return false
            }
            state.tasks[index].state = newState
            state.tasks[index].outcome = outcome
            state.tasks[index].settledBy = staff
            state.tasks[index].settledAt = date
            state.tasks[index].hasData = data != nil
            if let data { state.data[taskID] = (subject, data) }
            return true
        }
    }

    public func recordLocalFulfilment(requestID: UUID, _ local: LocalFulfilment) async throws {
        state.withLock { state in
            if case .some(.none) = state.fannedOut[requestID] { state.fannedOut[requestID] = .some(local) }
        }
    }

    public func localFulfilment(requestID: UUID) async throws -> LocalFulfilment? {
        state.withLock { $0.fannedOut[requestID] ?? nil }
    }

    public func requestsReadyToComplete(limit: Int) async throws -> [UUID] {
        let candidates = state.withLock { state in
            state.fannedOut.compactMap { id, local in
                local != nil && !state.tasks.contains { $0.requestID == id && $0.state == .open } ? id : nil
            }
        }
        var ready: [UUID] = []
        for id in candidates where try await requests.request(id: id)?.status == .inProgress { ready.append(id) }
        return Array(ready.prefix(limit))
    }

    public func downstreamData(subject: String) async throws -> [DownstreamData] {
        state.withLock { state in
            state.tasks.compactMap { task in
                guard let stored = state.data[task.id], stored.subject == subject, let at = task.settledAt else {
                    return nil
                }
                let name = state.systems.first { $0.id == task.systemID }?.name ?? ""
                return DownstreamData(
                    system: name, taskID: task.id, requestID: task.requestID, settledAt: at, json: stored.json)
            }
        }
    }

    public func overdueTaskCount(at date: Date) async throws -> Int {
        let counts = try await openTaskCounts(requestIDs: state.withLock { $0.tasks.map(\.requestID) }, at: date)
        return counts.values.reduce(0) { $0 + $1.overdue }
    }

    public func openTaskCounts(requestIDs: [UUID], at date: Date) async throws -> [UUID: (open: Int, overdue: Int)] {
        let open = state.withLock { $0.tasks.filter { $0.state == .open && requestIDs.contains($0.requestID) } }
        var counts: [UUID: (open: Int, overdue: Int)] = [:]
        for task in open {
            guard let request = try await requests.request(id: task.requestID), !request.status.isFinal else {
                continue
            }
            let overdue = request.dueAt < date ? 1 : 0
            counts[task.requestID, default: (0, 0)].open += 1
            counts[task.requestID, default: (0, 0)].overdue += overdue
        }
        return counts
    }
}
