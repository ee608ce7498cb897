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
        let notBefore: Date
        let expiresAt: Date
    }

    private let entries = Mutex<[SHA256Digest: Entry]>([:])
    private let capacity = 50_000

    static func key(for token: String) -> SHA256Digest {
        var token = token
        return token.withUTF8 { SHA256.hash(data: $0) }
    }

    func user(for key: SHA256Digest, now: Date) -> AuthenticatedUser? {
        guard let entry = entries.withLock({ $0[key] }) else { return nil }
        // Expiry and not-before are checked on every use, not only when verified.
        guard entry.expiresAt > now, entry.notBefore <= now else { return nil }
        return entry.user
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
