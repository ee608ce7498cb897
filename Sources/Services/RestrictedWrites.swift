public import Foundation
public import Identity
import Kernel
public import Privacy
public import Valuation

/// Changes to a person's data other than consent, which GDPR Art. 18 freezes while processing of that
/// data is restricted: rectifying their profile and storing new records about them.
public struct RestrictedWrites: Sendable {
    let restrictions: RestrictionRegistry
    let identity: IdentityService
    let valuation: ValuationService

    public func rectify(
        _ userID: UUID, email: String?, displayName: String?, by actor: UUID, client: ClientInfo
    ) async throws -> Account {
        try await requireUnrestricted(userID.lowercasedString)
        return try await identity.rectify(userID, email: email, displayName: displayName, by: actor, client: client)
    }

    public func store(_ record: DataRecord) async throws {
        try await requireUnrestricted(record.subjectID)
        try await valuation.store(record)
    }

    private func requireUnrestricted(_ subject: String) async throws {
        if try await restrictions.isRestricted(subject) { throw ServiceError.processingRestricted }
    }
}
