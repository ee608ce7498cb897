import Consent
public import Foundation
public import Identity
import Kernel
import Privacy

/// A visitor's own history: taken over by their account when they sign in, read back, or erased, with
/// nothing but the token their cookie keeps.
extension ConsentProperties {
    /// The most a visitor's export lists; a visitor's history is a few decisions per visit.
    public static let maximumHistory = 5_000
    /// The most visitors one account takes over: a person's browsers and devices, not a site's traffic.
    public static let maximumLinks = 100

    /// Links the visitor the token names to the signed-in account, audited and ledgered (the ledger
    /// entry is what webhooks report as `subject.merged`). The visitor's decisions stay as recorded.
    /// Linking again to the same account changes nothing; a visitor taken over by another account is
    /// refused.
    public func link(_ token: String, to user: AuthenticatedUser, client: ClientInfo) async throws -> VisitorLink {
        let visitor = try await visitor(token)
        let linked = try await repository.visitors(linkedTo: user.userID)
        if let existing = linked.first(where: { $0.visitor == visitor }) { return existing }
        guard linked.count < Self.maximumLinks else {
            throw ServiceError.invalidProperty("an account takes over at most \(Self.maximumLinks) visitors")
        }
        let proposed = VisitorLink(visitor: visitor, account: user.userID, linkedAt: now().roundedToMicroseconds)
        let link = try await repository.link(proposed)
        guard link.account == user.userID else { throw ServiceError.visitorLinkedElsewhere }
        if link == proposed {
            try await identity.recordOwnAction(
                .visitorLinked, by: user, details: ["visitor": VisitorLink.subject(visitor)], client: client)
        }
        return link
    }

    /// The visitors an account took over, for its export.
    public func visitors(linkedTo account: UUID) async throws -> [VisitorLink] {
        try await repository.visitors(linkedTo: account)
    }

    /// The visitor's decisions, newest first, up to `limit`.
    public func history(of visitor: UUID, limit: Int = maximumHistory) async throws -> [ConsentEvent] {
        let subject = try SubjectID(validating: VisitorLink.subject(visitor))
        var events: [ConsentEvent] = []
        var cursor: HistoryCursor?
        repeat {
            let page = try await consents.history(
                of: subject, after: cursor, limit: min(limit - events.count, ConsentService.maximumHistoryPageSize))
            events += page.events
            cursor = page.next
        } while cursor != nil && events.count < limit
        return events
    }

    /// Erases the visitor's history by crypto-shredding: the decisions stay, pseudonymous, as the law
    /// keeps them; where they were made from becomes unreadable, and the token stops working.
    public func erase(_ visitor: UUID) async throws -> Date {
        try await erasures.shred(subject: VisitorLink.subject(visitor), requestID: nil, at: now().roundedToMicroseconds)
    }
}
