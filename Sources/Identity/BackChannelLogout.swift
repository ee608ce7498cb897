public import Foundation
public import Outbox

/// A relying party to be told, server to server, that one of its sessions ended (OpenID Connect
/// Back-Channel Logout 1.0). The store queues one in the transaction that ends an application session
/// whose client registered a `backchannel_logout_uri`, so a sign-out that rolls back tells nobody.
public struct LogoutNotice: Sendable, Equatable {
    /// The ended session: the `sid` of the ID tokens the client holds.
    public let sessionID: UUID
    public let clientID: String
    public let userID: UUID
    /// Attempts including this one.
    public let attempt: Int
    /// Proves this lease, so a sender whose lease ran out cannot overwrite its successor's outcome.
    public let lease: UUID

    public init(sessionID: UUID, clientID: String, userID: UUID, attempt: Int, lease: UUID) {
        self.sessionID = sessionID
        self.clientID = clientID
        self.userID = userID
        self.attempt = attempt
        self.lease = lease
    }
}

/// The queue of logout notices: replicas lease disjoint notices, so each goes out from one at a time.
public protocol LogoutNoticeRepository: Sendable {
    /// Leases up to `limit` pending notices due at `now`, oldest first, counting an attempt on each.
    func leaseLogoutNotices(limit: Int, now: Date, for duration: TimeInterval) async throws -> [LogoutNotice]
    /// Forgets a notice that was delivered, or that can never be (its client is gone). False when the
    /// lease was lost.
    @discardableResult
    func finishLogoutNotice(sessionID: UUID, lease: UUID) async throws -> Bool
    /// Records a failed attempt: due again at `retryAt`, or kept as dead when that is nil.
    @discardableResult
    func failLogoutNotice(sessionID: UUID, lease: UUID, error: String, retryAt: Date?) async throws -> Bool
}

/// Carries a logout token to a relying party's back-channel endpoint.
public protocol LogoutTokenTransport: Sendable {
    /// POSTs `token` as the form field `logout_token` to `uri`; returns when the relying party answered
    /// 200 or 204.
    func deliver(_ token: String, to uri: String) async throws(DeliveryFailure)
}
