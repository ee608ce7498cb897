import Foundation
import Kernel
import Privacy
import QSPPTestSupport
import Storage
import Testing

@testable import Storage

/// Downstream systems and request tasks, alike on SQLite and PostgreSQL: a request fans out once (two
/// replicas at once included) to the systems live then, each task with its ledger entry; a task
/// settles once; data a system returned dies with the person's keys; a rejected request's open
/// tasks are cancelled once.
@Suite("Request task repository conformance")
struct RequestTaskRepositoryConformanceTests {
    static func system(_ name: String) -> DownstreamSystem {
        DownstreamSystem(
            id: UUID(), name: name, endpointID: UUID(), createdBy: UUID(), createdAt: Date().roundedToMicroseconds)
    }

    static func request(
        _ status: RequestStatus, kind: RequestKind = .access, in store: any Store
    ) async throws
        -> DataSubjectRequest
    {
        let now = Date().roundedToMicroseconds
        let request = DataSubjectRequest(
            id: UUID(), subjectID: UUID(), kind: kind, status: status, receivedAt: now,
            dueAt: now.addingTimeInterval(86400),
            extensionReason: nil, rejectionReason: nil, filedBy: UUID(), identityVerification: "checked",
            updatedAt: now)
        try await store.privacy.insertRequest(
            request,
            event: RequestEvent(
                requestID: request.id, from: nil, to: status, actor: request.filedBy, reason: nil, at: now))
        return request
    }

    static func taskEntries(_ store: any Store) async throws -> [[String: String]] {
        try await store.ledger.ledgerEntries(after: 0, limit: 10_000).filter { $0.reference.hasPrefix("task:") }.map {
            try JSONDecoder().decode([String: String].self, from: $0.content)
        }
    }

    @Test(arguments: Backend.all)
    func aRequestFansOutOnceToTheSystemsLiveThen(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let tasks = store.requestTasks
            let crm = Self.system("CRM")
            let old = Self.system("Old")
            #expect(try await tasks.insertSystem(crm))
            #expect(try await tasks.insertSystem(old))
            #expect(try await !tasks.insertSystem(Self.system("CRM")), "a live system has the name")
            #expect(try await tasks.retireSystem(id: old.id, at: Date()))
            #expect(try await !tasks.retireSystem(id: old.id, at: Date()))
            #expect(try await tasks.insertSystem(Self.system("Old")), "a retired system's name is free")

            let request = try await Self.request(.verified, in: store)
            let unverified = try await Self.request(.received, in: store)
            #expect(try await tasks.requestsAwaitingFanOut(limit: 10).map(\.id) == [request.id])
            // Two replicas at once: one fans out, the other finds it done.
            async let first: Void = tasks.fanOut(request, action: .export, at: Date().roundedToMicroseconds)
            async let second: Void = tasks.fanOut(request, action: .export, at: Date().roundedToMicroseconds)
            _ = try await (first, second)
            let opened = try await tasks.tasks(requestID: request.id)
            #expect(Set(opened.map(\.systemID)).count == 2 && opened.count == 2, "CRM and the new Old, once each")
            #expect(!opened.map(\.systemID).contains(old.id))
            #expect(opened.allSatisfy { $0.state == .open && $0.action == .export })
            #expect(try await tasks.isFannedOut(requestID: request.id))
            #expect(try await !tasks.isFannedOut(requestID: unverified.id))
            #expect(try await tasks.requestsAwaitingFanOut(limit: 10).isEmpty)
            let entries = try await Self.taskEntries(store)
            #expect(entries.count == 2 && entries.allSatisfy { $0["request"] == request.id.lowercasedString })
            #expect(entries.allSatisfy { $0["state"] == "open" && $0["action"] == "export" })
            #expect(try await tasks.hasOpenTasks(systemID: crm.id))
        }
    }

    @Test(arguments: Backend.all)
    func aTaskSettlesOnceAndItsDataDiesWithThePersonsKeys(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let tasks = store.requestTasks
            let system = Self.system("Warehouse")
            #expect(try await tasks.insertSystem(system))
            let request = try await Self.request(.verified, in: store)
            let subject = request.subjectID.lowercasedString
            try await tasks.fanOut(request, action: .export, at: Date().roundedToMicroseconds)
            let task = try #require(try await tasks.tasks(requestID: request.id).first)
            let data = Data(#"{"orders":[7]}"#.utf8)
            async let first = tasks.settle(
                taskID: task.id, state: .done, outcome: "done", by: nil, data: data, subject: subject, at: Date())
            async let second = tasks.settle(
                taskID: task.id, state: .exception, outcome: "gone", by: UUID(), data: nil, subject: subject,
                at: Date())
            let settled = try await [first, second]
            #expect(settled.filter { $0 }.count == 1, "a task settles once")
            let stored = try #require(try await tasks.task(id: task.id))
            #expect(stored.state != .open && stored.settledAt != nil)
            if stored.state == .done {
                #expect(stored.hasData)
                #expect(try await tasks.downstreamData(subject: subject).map(\.json) == [data])
                #expect(
                    try await store.sqlRows("SELECT data FROM request_tasks").first?.first?.contains("orders") == false)
            }
            #expect(try await !tasks.hasOpenTasks(systemID: system.id))

            // QSPP's own part, with an erased person's address kept for their notice.
            _ = try await store.privacy.updateRequest(id: request.id) { found in
                var next = found
                next.status = .inProgress
                return (
                    next,
                    RequestEvent(
                        requestID: found.id, from: found.status, to: .inProgress, actor: UUID(), reason: nil, at: Date()
                    )
                )
            }
            let local = LocalFulfilment(
                outcome: "erased", by: UUID(), at: Date().roundedToMicroseconds, noticeRecipient: "ana@example.com",
                noticeLocale: "de")
            try await tasks.recordLocalFulfilment(requestID: request.id, local)
            try await tasks.recordLocalFulfilment(
                requestID: request.id, LocalFulfilment(outcome: "again", by: UUID(), at: Date().roundedToMicroseconds))
            #expect(try await tasks.localFulfilment(requestID: request.id) == local, "recorded once")
            #expect(try await tasks.requestsReadyToComplete(limit: 10) == [request.id])
            #expect(
                try await store.sqlRows("SELECT notice_recipient FROM request_fanouts").first?.first?.contains("ana")
                    == false)

            _ = try await store.erasures.shred(subject: subject, requestID: request.id, at: Date())
            #expect(try await tasks.downstreamData(subject: subject).isEmpty, "nothing of theirs can be read")
        }
    }

    @Test(arguments: Backend.all)
    func aRejectedRequestsOpenTasksAreCancelledOnce(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let tasks = store.requestTasks
            #expect(try await tasks.insertSystem(Self.system("CRM")))
            let request = try await Self.request(.verified, kind: .erasure, in: store)
            try await tasks.fanOut(request, action: .erase, at: Date().roundedToMicroseconds)
            #expect(try await tasks.rejectedRequestsWithOpenTasks(limit: 10).isEmpty)
            _ = try await store.privacy.updateRequest(id: request.id) { found in
                var next = found
                next.status = .rejected
                return (
                    next,
                    RequestEvent(
                        requestID: found.id, from: found.status, to: .rejected, actor: UUID(), reason: "no", at: Date())
                )
            }
            #expect(try await tasks.rejectedRequestsWithOpenTasks(limit: 10) == [request.id])
            #expect(try await tasks.cancelOpenTasks(requestID: request.id, at: Date().roundedToMicroseconds) == 1)
            #expect(try await tasks.cancelOpenTasks(requestID: request.id, at: Date().roundedToMicroseconds) == 0)
            #expect(try await tasks.tasks(requestID: request.id).map(\.state) == [.cancelled])
            #expect(try await tasks.rejectedRequestsWithOpenTasks(limit: 10).isEmpty)
            #expect(try await Self.taskEntries(store).map { $0["state"] } == ["open", "cancelled"])
        }
    }
}
