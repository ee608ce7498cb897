import Foundation
import Privacy
import QSPPTestSupport
import Storage
import Testing

@Suite("PrivacyRepository conformance")
struct PrivacyRepositoryConformanceTests {
    func service(_ store: any Store, at date: Date = Date()) -> PrivacyService {
        PrivacyService(repository: store.privacy, now: { date })
    }

    @Test(arguments: Backend.all)
    func requestsFollowTheirLifecycleAndKeepEveryChange(backend: Backend) async throws {
        try await withStore(backend) { store in
            let subject = UUID()
            let staff = UUID()
            let privacy = service(store)
            let filed = try await privacy.file(.erasure, for: subject, by: subject)
            #expect(filed.status == .received)
            await #expect(throws: PrivacyError.duplicate) {
                try await privacy.file(.erasure, for: subject, by: subject)
            }
            _ = try await privacy.file(.access, for: subject, by: subject)

            await #expect(throws: PrivacyError.transitionRefused(from: .received, to: .completed)) {
                try await privacy.transition(filed.id, to: .completed, by: staff, reason: nil)
            }
            _ = try await privacy.transition(filed.id, to: .verified, by: staff, reason: "email link clicked")
            let extended = try await privacy.extend(filed.id, by: staff, reason: "complex request")
            #expect(extended.dueAt == Deadlines.extended(.gdpr, dueAt: filed.dueAt))
            await #expect(throws: PrivacyError.alreadyExtended) {
                try await privacy.extend(filed.id, by: staff, reason: "again")
            }
            await #expect(throws: PrivacyError.self) {
                try await privacy.transition(filed.id, to: .rejected, by: staff, reason: " ")
            }
            _ = try await privacy.transition(filed.id, to: .inProgress, by: staff, reason: nil)
            let done = try await privacy.transition(filed.id, to: .completed, by: staff, reason: nil)
            #expect(done.status == .completed)
            // Once answered, the same kind may be filed again.
            _ = try await privacy.file(.erasure, for: subject, by: subject)

            let events = try await privacy.events(of: filed.id)
            #expect(events.map(\.to) == [.received, .verified, .verified, .inProgress, .completed])
            #expect(events[2].reason == "complex request")
            #expect(try await privacy.requests(of: subject).count == 3)
            await #expect(throws: PrivacyError.requestNotFound) { try await privacy.request(UUID()) }
        }
    }

    /// On a database of its own: other tests file overdue requests on the shared one while this counts.
    @Test(arguments: Backend.all)
    func theQueueIsOrderedByDueDateAndCountsOverdue(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let now = Date()
            let staff = UUID()
            let before = try await store.privacy.overdueCount(at: now)
            let old = try await service(store, at: now.addingTimeInterval(-60 * 86400))
                .file(.know, for: UUID(), by: staff, identityVerification: "ID card seen")
            let recent = try await service(store, at: now).file(
                .access, for: UUID(), by: staff, identityVerification: "video call")
            #expect(old.status == .verified)
            await #expect(throws: PrivacyError.self) { try await service(store).file(.access, for: UUID(), by: staff) }
            #expect(try await store.privacy.overdueCount(at: now) == before + 1)
            let queue = try await store.privacy.queue(includeClosed: false, limit: 10_000).map(\.id)
            let oldIndex = try #require(queue.firstIndex(of: old.id))
            let recentIndex = try #require(queue.firstIndex(of: recent.id))
            #expect(oldIndex < recentIndex)
            #expect(old.isOverdue(at: now) && !recent.isOverdue(at: now))
        }
    }
}
