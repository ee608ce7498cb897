import Foundation
import Identity
import Kernel
import Outbox
import PQCrypto
import Privacy

/// The identity tables, in SQL both SQLite and PostgreSQL run unchanged.
struct SQLIdentityRepository: IdentityRepository {
    let database: any SQLDatabase
    let vault: PersonalDataVault

    /// Audit records of no known account (a login attempt for an unknown email, say) are sealed under
    /// this subject's keys.
    static let unattributed = "unattributed"

    // MARK: Accounts

    private static let accountColumns = """
        id, email, password_hash, roles, created_at, totp_secret, mfa_enabled,
        (SELECT count(*) FROM recovery_codes WHERE user_id = accounts.id AND used_at IS NULL), display_name, locale,
        email_verified_at, muted_notices
        """

    private func account(_ row: SQLRow) async throws -> Account {
        let id = try row.uuid(0)
        let email = try await vault.open(try row.text(1), subject: id.lowercasedString, field: "email") ?? ""
        return Account(
            id: id, email: try EmailAddress(email), passwordHash: try row.text(2),
            roles: Set(try row.text(3).split(separator: " ").compactMap { Role(rawValue: String($0)) }),
            createdAt: try row.time(4), sealedTOTPSecret: row[5].blob, mfaEnabled: try row.integer(6) == 1,
            recoveryCodesRemaining: Int(try row.integer(7)),
            displayName: try await vault.open(row[8].text, subject: id.lowercasedString, field: "display_name"),
            locale: row[9].text, emailVerifiedAt: row.optionalTime(10),
            mutedNotices: Set((row[11].text ?? "").split(separator: " ").map { MailTemplateName(rawValue: String($0)) })
        )
    }

    private static func roles(_ roles: Set<Role>) -> SQLValue {
        .text(roles.map(\.rawValue).sorted().joined(separator: " "))
    }

    func insertAccount(_ account: Account, issuing token: AccountToken?, queueing mail: [OutboundMail]) async throws {
        let (sealed, newKey) = try vault.seal(account.email.normalized, subject: account.subjectID, field: "email")
        let sealedMail = try SQLMailOutbox.seal(mail, vault: vault)
        let keys = (newKey.map { [$0] } ?? []) + sealedMail.keys
        let index = try await vault.emailIndex(account.email.normalized)
        do {
            try await database.transaction { tx in
                try await PersonalDataVault.insert(keys, tx)
                try await tx.execute(
                    """
                    INSERT INTO accounts (
                        id, email, email_index, password_hash, roles, created_at, mfa_enabled, locale, email_verified_at)
                    VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8)
                    """,
                    [
                        .uuid(account.id), .optional(sealed), .text(index), .text(account.passwordHash),
                        Self.roles(account.roles), .time(account.createdAt), .optional(account.locale),
                        .optionalTime(account.emailVerifiedAt),
                    ])
                if let token { try await Self.insert(token, tx) }
                try await SQLMailOutbox.insert(sealedMail, tx)
            }
            vault.confirm(keys)
        } catch  where database.isUniqueViolation(error) {
            throw IdentityError.emailTaken
        }
    }

    func updateProfile(userID: UUID, email: EmailAddress, displayName: String?, recording event: AuthEvent) async throws
    {
        let subject = userID.lowercasedString
        let sealedEmail = try vault.seal(email.normalized, subject: subject, field: "email")
        let sealedName = try vault.seal(displayName, subject: subject, field: "display_name")
        let sealedEvent = try sealed(event)
        let keys = [sealedEmail.newKey, sealedName.newKey].compactMap { $0 } + sealedEvent.keys
        let index = try await vault.emailIndex(email.normalized)
        do {
            try await database.transaction { tx in
                try await PersonalDataVault.insert(keys, tx)
                // A link mailed to the old address must not confirm the new one.
                try await tx.execute(
                    """
                    DELETE FROM account_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL
                    AND EXISTS (SELECT 1 FROM accounts WHERE id = $1 AND email_index <> $3)
                    """, [.uuid(userID), .text(AccountToken.Purpose.emailVerification.rawValue), .text(index)])
                try await tx.execute(
                    "UPDATE accounts SET email = $1, email_index = $2, display_name = $3 WHERE id = $4",
                    [.optional(sealedEmail.sealed), .text(index), .optional(sealedName.sealed), .uuid(userID)])
                try await Self.insert(sealedEvent, tx)
                _ = try await tx.appendLedger([sealedEvent.record])
            }
        } catch  where database.isUniqueViolation(error) {
            throw IdentityError.emailTaken
        }
        vault.confirm(keys)
    }

    func account(id: UUID) async throws -> Account? {
        guard
            let row = try await database.select(
                "SELECT \(Self.accountColumns) FROM accounts WHERE id = $1", [.uuid(id)]
            ).first
        else { return nil }
        return try await account(row)
    }

    func account(email: EmailAddress) async throws -> Account? {
        guard
            let row = try await database.select(
                "SELECT \(Self.accountColumns) FROM accounts WHERE email_index = $1",
                [.text(try await vault.emailIndex(email.normalized))]
            ).first
        else { return nil }
        return try await account(row)
    }

    func setRoles(userID: UUID, roles: Set<Role>, event: AuthEvent) async throws {
        let sealedEvent = try sealed(event)
        try await database.transaction { tx in
            try await tx.execute("UPDATE accounts SET roles = $1 WHERE id = $2", [Self.roles(roles), .uuid(userID)])
            try await PersonalDataVault.insert(sealedEvent.keys, tx)
            try await Self.insert(sealedEvent, tx)
            _ = try await tx.appendLedger([sealedEvent.record])
        }
        vault.confirm(sealedEvent.keys)
    }

    func updatePasswordHash(userID: UUID, hash: String, queueing mail: [OutboundMail]) async throws {
        let sealedMail = try SQLMailOutbox.seal(mail, vault: vault)
        try await database.transaction { tx in
            try await tx.execute("UPDATE accounts SET password_hash = $1 WHERE id = $2", [.text(hash), .uuid(userID)])
            try await SQLMailOutbox.insert(sealedMail, tx)
        }
        vault.confirm(sealedMail.keys)
    }

    func updateMFA(
        userID: UUID, sealedSecret: Data?, enabled: Bool, recoveryCodeDigests: [String], queueing mail: [OutboundMail]
    ) async throws {
        let sealedMail = try SQLMailOutbox.seal(mail, vault: vault)
        try await database.transaction { tx in
            try await SQLMailOutbox.insert(sealedMail, tx)
            try await tx.execute(
                "UPDATE accounts SET totp_secret = $1, mfa_enabled = $2 WHERE id = $3",
                [.optional(sealedSecret), .integer(enabled ? 1 : 0), .uuid(userID)])
            try await tx.execute("DELETE FROM recovery_codes WHERE user_id = $1", [.uuid(userID)])
            for digest in recoveryCodeDigests {
                try await tx.execute(
                    "INSERT INTO recovery_codes (user_id, digest) VALUES ($1, $2)", [.uuid(userID), .text(digest)])
            }
        }
        vault.confirm(sealedMail.keys)
    }

    func consumeTOTPStep(userID: UUID, step: Int64) async throws -> Bool {
        try await database.transaction { tx in
            try await !tx.query(
                "UPDATE accounts SET totp_last_step = $1 WHERE id = $2 AND totp_last_step < $1 RETURNING id",
                [.integer(step), .uuid(userID)]
            ).isEmpty
        }
    }

    func consumeRecoveryCode(userID: UUID, digest: String, at date: Date) async throws -> Bool {
        try await database.transaction { tx in
            try await !tx.query(
                """
                UPDATE recovery_codes SET used_at = $1
                WHERE user_id = $2 AND digest = $3 AND used_at IS NULL RETURNING digest
                """, [.time(date), .uuid(userID), .text(digest)]
            ).isEmpty
        }
    }

    func deleteAccount(id: UUID, at date: Date) async throws {
        try await database.transaction { tx in
            let live = try await tx.query(
                "UPDATE sessions SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL RETURNING id",
                [.time(date), .uuid(id)])
            try await Self.queueLogoutNotices(for: try live.map { try $0.uuid(0) }, at: date, tx)
            try await tx.execute(
                "UPDATE oauth_codes SET spent_at = $1 WHERE user_id = $2 AND spent_at IS NULL",
                [.time(date), .uuid(id)])
            try await tx.execute("DELETE FROM oauth_grants WHERE user_id = $1", [.uuid(id)])
            try await tx.execute("DELETE FROM refresh_tokens WHERE user_id = $1", [.uuid(id)])
            try await tx.execute("DELETE FROM recovery_codes WHERE user_id = $1", [.uuid(id)])
            try await tx.execute("DELETE FROM account_tokens WHERE user_id = $1", [.uuid(id)])
            try await tx.execute("DELETE FROM known_devices WHERE user_id = $1", [.uuid(id)])
            try await tx.execute("DELETE FROM passkeys WHERE user_id = $1", [.uuid(id)])
            try await tx.execute("DELETE FROM passkey_challenges WHERE user_id = $1", [.uuid(id)])
            try await tx.execute("DELETE FROM accounts WHERE id = $1", [.uuid(id)])
        }
    }

    // MARK: Refresh tokens

    func exchangeRefreshToken(
        digest: String, at date: Date,
        decide: @escaping @Sendable (RefreshTokenRecord?, Session?) -> RefreshExchangePlan
    ) async throws -> RefreshExchangePlan {
        try await database.transaction { [database, self] tx in
            let token = try await tx.query(
                """
                SELECT digest, session_id, user_id, issued_at, expires_at, rotated_at, grace_reuses
                FROM refresh_tokens WHERE digest = $1 \(database.lockRowsClause)
                """, [.text(digest)]
            ).first.map { row in
                RefreshTokenRecord(
                    digest: try row.text(0), sessionID: try row.uuid(1), userID: try row.uuid(2),
                    issuedAt: try row.time(3), expiresAt: try row.time(4), rotatedAt: row.optionalTime(5),
                    graceReuses: Int(try row.integer(6)))
            }
            var session: Session?
            if let token {
                if let row = try await tx.query(
                    "SELECT \(Self.sessionColumns) FROM sessions WHERE id = $1", [.uuid(token.sessionID)]
                ).first {
                    session = try await self.session(row)
                }
            }
            let plan = decide(token, session)
            switch plan {
            case .reject:
                break
            case .rotate(let successor, let countsAsGraceReuse):
                if countsAsGraceReuse {
                    try await tx.execute(
                        "UPDATE refresh_tokens SET grace_reuses = grace_reuses + 1 WHERE digest = $1", [.text(digest)])
                } else {
                    try await tx.execute(
                        "UPDATE refresh_tokens SET rotated_at = $2 WHERE digest = $1", [.text(digest), .time(date)])
                    try await Self.insertToken(successor, tx)
                }
                try await tx.execute(
                    "UPDATE sessions SET last_used_at = $1 WHERE id = $2", [.time(date), .uuid(successor.sessionID)])
            case .revokeFamily(let sessionID):
                _ = try await Self.revoke(sessionID, at: date, tx)
            }
            return plan
        }
    }

    // MARK: Audit

    func appendAuthEvent(_ event: AuthEvent, queueing mail: [OutboundMail]) async throws {
        let sealedEvent = try sealed(event)
        let sealedMail = try SQLMailOutbox.seal(mail, vault: vault)
        try await database.transaction { tx in
            try await PersonalDataVault.insert(sealedEvent.keys, tx)
            try await SQLMailOutbox.insert(sealedMail, tx)
            try await Self.insert(sealedEvent, tx)
            _ = try await tx.appendLedger([sealedEvent.record])
        }
        vault.confirm(sealedEvent.keys + sealedMail.keys)
    }

    /// An audit event with its address and agent sealed for its user (or ``unattributed``).
    struct SealedEvent {
        let event: AuthEvent
        let ip: String?
        let agent: String?
        let keys: [PersonalDataVault.KeyRow]

        var record: LedgerRecord { LedgerRecord(auth: event, sealedIP: ip, sealedAgent: agent) }
    }

    func sealed(_ event: AuthEvent) throws -> SealedEvent {
        let client = try vault.sealClient(event.client, subject: event.userID?.lowercasedString ?? Self.unattributed)
        return SealedEvent(event: event, ip: client.ip, agent: client.agent, keys: client.keys)
    }

    static func insert(_ sealed: SealedEvent, _ tx: any SQLExecutor) async throws {
        let event = sealed.event
        let details = try JSONSerialization.data(withJSONObject: event.details, options: [.sortedKeys])
        try await tx.execute(
            """
            INSERT INTO auth_events (id, kind, occurred_at, user_id, session_id, ip_address, user_agent, details)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
            """,
            [
                .uuid(event.id), .text(event.kind.rawValue), .time(event.occurredAt),
                .optional(event.userID?.lowercasedString),
                .optional(event.sessionID?.lowercasedString),
                .optional(sealed.ip), .optional(sealed.agent), .text(String(decoding: details, as: UTF8.self)),
            ])
    }
}
