import Crypto
import Foundation
import Synchronization

/// Tokens this process has already verified, so a client that reuses its token pays for the ML-DSA
/// signature check, and for reading its claims, once. Keyed by the SHA-256 of the whole token text
/// (equal text, equal verdict), so an entry costs a few hundred bytes rather than the token's five
/// kilobytes.
final class VerifiedTokenCache: Sendable {
    /// What a verified token says, read once: who, in which session, and when it is valid.
    struct Entry: Sendable {
        let user: AuthenticatedUser
        let claims: AccessTokenClaims
        var notBefore: Date { claims.nbf.value }
        var expiresAt: Date { claims.exp.value }
    }

    private let entries = Mutex<[SHA256Digest: Entry]>([:])
    private let capacity = 50_000

    static func key(for token: String) -> SHA256Digest {
        var token = token
        return token.withUTF8 { SHA256.hash(data: $0) }
    }

    func entry(for key: SHA256Digest, now: Date) -> Entry? {
        guard let entry = entries.withLock({ $0[key] }) else { return nil }
        // Expiry and not-before are checked on every use, not only when verified.
        guard entry.expiresAt > now, entry.notBefore <= now else { return nil }
        return entry
    }

    func insert(_ entry: Entry, for key: SHA256Digest) {
        entries.withLock { entries in
            if entries.count >= capacity {
                let now = Date()
                entries = entries.filter { $0.value.expiresAt > now }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[key] = entry
        }
    }
}

/// This process's recent view of which sessions are active. Revocations made here apply at once.
final class SessionStatusCache: Sendable {
    private struct Entry {
        let active: Bool
        let checkedAt: Date
    }
    private let entries = Mutex<[UUID: Entry]>([:])
    private let interval: TimeInterval

    init(interval: TimeInterval) {
        self.interval = interval
    }

    func status(of session: UUID, now: Date) -> Bool? {
        entries.withLock { entries in
            guard let entry = entries[session], now.timeIntervalSince(entry.checkedAt) < interval else { return nil }
            return entry.active
        }
    }

    func record(_ session: UUID, active: Bool, now: Date) {
        entries.withLock { entries in
            if entries.count > 100_000 { entries.removeAll(keepingCapacity: true) }
            entries[session] = Entry(active: active, checkedAt: now)
        }
    }

    func markRevoked(_ session: UUID) {
        entries.withLock { $0[session] = Entry(active: false, checkedAt: .distantFuture) }
    }
}

/// The OAuth clients this process read lately, for client authentication at the token, introspection,
/// revocation and PAR endpoints: a client deleted or given a new secret on another replica is seen
/// within the same interval as a revoked session; changes made here apply at once.
final class OAuthClientCache: Sendable {
    private struct Entry {
        let client: OAuthClient?
        let readAt: Date
    }
    /// The entries, and how many times one was forgotten: a read that began before a forget must not
    /// put back what the change replaced.
    private let state = Mutex<(entries: [String: Entry], forgets: Int)>(([:], 0))
    private let interval: TimeInterval

    init(interval: TimeInterval) {
        self.interval = interval
    }

    /// The cached answer for `id` (nil inside: no such client), or nil when there is none recent enough.
    func client(_ id: String, now: Date) -> OAuthClient?? {
        state.withLock { state in
            guard let entry = state.entries[id], now.timeIntervalSince(entry.readAt) < interval else { return nil }
            return .some(entry.client)
        }
    }

    /// A mark to take before reading the database, for ``record(_:_:now:readSince:)``.
    var mark: Int { state.withLock { $0.forgets } }

    func record(_ id: String, _ client: OAuthClient?, now: Date, readSince mark: Int) {
        state.withLock { state in
            guard state.forgets == mark else { return }
            if state.entries.count > 10_000 { state.entries.removeAll(keepingCapacity: true) }
            state.entries[id] = Entry(client: client, readAt: now)
        }
    }

    func forget(_ id: String) {
        state.withLock { state in
            state.entries[id] = nil
            state.forgets += 1
        }
    }
}
