import Foundation
import Synchronization

/// Which subjects' processing is restricted (GDPR Art. 18). Every consent write asks, so the set is
/// read from the database at most every few seconds (restrictions are few); a change made on this
/// replica applies here at once, on others within ``maximumAge``, like a session revocation.
public final class RestrictionRegistry: Sendable {
    private struct State {
        var subjects: [String: Date] = [:]
        var loadedAt: ContinuousClock.Instant?
    }

    public static let maximumAge: Duration = .seconds(5)
    private let repository: any PrivacyRepository
    private let state = Mutex(State())

    public init(repository: any PrivacyRepository) {
        self.repository = repository
    }

    public func isRestricted(_ subject: String) async throws -> Bool {
        try await current()[subject] != nil
    }

    public func restrictedSince(_ subject: String) async throws -> Date? {
        try await current()[subject]
    }

    public func restrict(_ subject: String, requestID: UUID?, at date: Date = Date()) async throws {
        try await repository.restrict(subject: subject, requestID: requestID, at: date)
        state.withLock { $0.loadedAt = nil }
    }

    @discardableResult
    public func lift(_ subject: String, at date: Date = Date()) async throws -> Bool {
        let lifted = try await repository.liftRestriction(subject: subject, at: date)
        state.withLock { $0.loadedAt = nil }
        return lifted
    }

    private func current() async throws -> [String: Date] {
        let now = ContinuousClock.now
        if let cached = state.withLock({ state in
            state.loadedAt.map { now - $0 < Self.maximumAge } == true ? state.subjects : nil
        }) {
            return cached
        }
        let subjects = try await repository.restrictions()
        state.withLock { state in
            state.subjects = subjects
            state.loadedAt = now
        }
        return subjects
    }
}
