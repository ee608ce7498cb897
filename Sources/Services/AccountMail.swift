public import Foundation
public import Identity
public import Outbox

/// The use cases around mail that are more than one call: links asked for under a per-address limit
/// as well as the per-client one, and the outbox as admins run it.
extension QSPPServices {
    /// Links mailed to one address (or account) per window, whatever the client: so nobody floods a
    /// mailbox, and a sweep of addresses gets three tries at each.
    public static let mailedLinksPerAddress = RateLimiter.Rule(limit: 3, window: 900)

    /// Asks for a password-reset link; the same for an address with no account.
    public func requestPasswordReset(email: String, client: ClientInfo) async throws {
        let address = try EmailAddress(email)
        try await rateLimiter.hit(
            "password-reset-address", client: address.normalized, rule: Self.mailedLinksPerAddress)
        try await identity.requestPasswordReset(email: email, client: client)
    }

    /// Mails a new confirmation link, as often as reset links may be asked for.
    public func resendVerification(_ user: AuthenticatedUser) async throws {
        try await rateLimiter.hit("email-verification", client: user.subjectID, rule: Self.mailedLinksPerAddress)
        guard try await identity.resendVerification(user: user) else { throw ServiceError.emailAlreadyConfirmed }
    }

    /// The outbox's messages in `state`, newest first: never a recipient or a body.
    public func queuedMail(in state: OutboxState, limit: Int) async throws -> [QueuedMailStatus] {
        try await store.mailOutbox.mails(in: state, limit: limit)
    }

    /// Queues a dead message again and audits who did; false when there is no such dead message.
    public func requeueMail(_ id: UUID, by admin: AuthenticatedUser, client: ClientInfo) async throws -> Bool {
        guard admin.isAdmin else { throw IdentityError.forbidden }
        guard try await store.mailOutbox.requeue(id, at: Date()) else { return false }
        try await identity.recordStaffAction(
            .mailRequeued, by: admin, details: ["mail": id.uuidString.lowercased()], client: client)
        return true
    }
}
