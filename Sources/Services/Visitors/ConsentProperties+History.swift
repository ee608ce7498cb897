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

    /// Whether `subject` is a visitor the account took over, whose decisions are the account holder's.
    public func hasTakenOver(_ subject: SubjectID, account: UUID) async throws -> Bool {
        guard subject.rawValue.hasPrefix("visitor:") else { return false }
        return try await repository.visitors(linkedTo: account).contains {
            VisitorLink.subject($0.visitor) == subject.rawValue
        }
    }

    /// The newest decisions of the visitors the account took over, newest first, up to `limit`.
    public func websiteHistory(of account: UUID, limit: Int) async throws -> [ConsentEvent] {
        var events: [ConsentEvent] = []
        for link in try await repository.visitors(linkedTo: account) {
            events += try await history(of: link.visitor, limit: limit)
        }
        return Array(events.sorted { $0.recordedAt > $1.recordedAt }.prefix(limit))
    }

    /// The newest decisions of the visitor a token names, up to `limit`, if the account could take it
    /// over: a live visitor, not yet the account's, with something to take. Nil otherwise, a bad token
    /// included: it is only an offer.
    public func offer(_ token: String, to account: UUID, limit: Int) async throws -> [ConsentEvent]? {
        guard let visitor = try? await visitor(token),
            try await !repository.visitors(linkedTo: account).contains(where: { $0.visitor == visitor })
        else { return nil }
        let decisions = try await history(of: visitor, limit: limit)
        return decisions.isEmpty ? nil : decisions
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
