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
    let rateLimiter: RateLimiter

    /// A person correcting their own profile; a new email needs fresh proof of them, and is mailed a
    /// link as often as reset links may be asked for, so nobody floods someone else's mailbox with them.
    /// `locale`, when given, is the language of the person's mail (an empty tag is English).
    public func rectifyOwn(
        _ user: AuthenticatedUser, email: String?, displayName: String?, currentPassword: String?,
        locale: String? = nil, client: ClientInfo
    ) async throws -> IdentityService.Rectification {
        try await requireUnrestricted(user.userID.lowercasedString)
        if let email, let account = try await identity.account(id: user.userID),
            (try? EmailAddress(email))?.normalized != account.email.normalized
        {
            try await rateLimiter.hit("email-change", client: user.subjectID, rule: QSPPServices.mailedLinksPerAddress)
        }
        var rectified = try await identity.rectifyOwn(
            user, email: email, displayName: displayName, currentPassword: currentPassword, client: client)
        if let locale { rectified.account = try await identity.setLocale(user, locale) }
        return rectified
    }

    public func store(_ record: DataRecord) async throws {
        try await requireUnrestricted(record.subjectID)
        try await valuation.store(record)
    }

    private func requireUnrestricted(_ subject: String) async throws {
        if try await restrictions.isRestricted(subject) { throw ServiceError.processingRestricted }
    }
}
