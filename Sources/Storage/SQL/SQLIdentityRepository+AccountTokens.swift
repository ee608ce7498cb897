import Foundation
import Identity
import Kernel
import Outbox

/// Single-use tokens mailed to people, and the password reset they allow.
extension SQLIdentityRepository {
    func insertAccountToken(_ token: AccountToken, queueing mail: OutboundMail) async throws {
        let sealedMail = try SQLMailOutbox.seal([mail], vault: vault)
        let payload = try sealedPayload(token)
        try await database.transaction { tx in
            // The newest link is the only one that works: an older one in a mailbox is worthless.
            try await tx.execute(
                "DELETE FROM account_tokens WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL",
                [.uuid(token.userID), .text(token.purpose.rawValue)])
            try await PersonalDataVault.insert(payload.keys, tx)
            try await Self.insert(token, payload: payload.sealed, tx)
            try await SQLMailOutbox.insert(sealedMail, tx)
        }
        vault.confirm(sealedMail.keys + payload.keys)
    }

    /// The token's payload sealed under its account's data key.
    private func sealedPayload(_ token: AccountToken?) throws -> (sealed: String?, keys: [PersonalDataVault.KeyRow]) {
        guard let token else { return (nil, []) }
        let sealed = try vault.seal(token.payload, subject: token.userID.lowercasedString, field: "token_payload")
        return (sealed.sealed, sealed.newKey.map { [$0] } ?? [])
    }

    static func insert(_ token: AccountToken, payload: String? = nil, _ tx: any SQLExecutor) async throws {
        try await tx.execute(
            """
            INSERT INTO account_tokens (digest, purpose, user_id, issued_at, expires_at, payload)
            VALUES ($1, $2, $3, $4, $5, $6)
            """,
            [
                .text(token.digest), .text(token.purpose.rawValue), .uuid(token.userID), .time(token.issuedAt),
                .time(token.expiresAt), .optional(payload),
            ])
    }

    func changeEmail(
        tokenDigest: String, purpose: AccountToken.Purpose, userID: UUID, to email: EmailAddress, at date: Date,
        issuing undo: AccountToken?, securing: Bool, recording event: AuthEvent, queueing mail: [OutboundMail]
    ) async throws -> [UUID]? {
        let subject = userID.lowercasedString
        let sealedEmail = try vault.seal(email.normalized, subject: subject, field: "email")
        let index = try await vault.emailIndex(email.normalized)
        let payload = try sealedPayload(undo)
        let sealedEvent = try sealed(event)
        let sealedMail = try SQLMailOutbox.seal(mail, vault: vault)
        let keys = [sealedEmail.newKey].compactMap { $0 } + payload.keys + sealedEvent.keys + sealedMail.keys
        let ended: [UUID]?
        do {
            ended = try await database.transaction { tx in
                let spent = try await tx.query(
                    """
                    UPDATE account_tokens SET used_at = $4
                    WHERE digest = $1 AND purpose = $2 AND user_id = $3 AND used_at IS NULL AND expires_at > $4
                    RETURNING digest
                    """, [.text(tokenDigest), .text(purpose.rawValue), .uuid(userID), .time(date)])
                guard !spent.isEmpty else { return nil }
                try await PersonalDataVault.insert(keys, tx)
                var sessions: [UUID] = []
                if securing {
                    // Back with its owner: nothing whoever moved it may have left works any more. Every
                    // link, the password, passkeys and two-factor set-up go, and every session ends.
                    try await tx.execute(
                        "DELETE FROM account_tokens WHERE user_id = $1 AND used_at IS NULL", [.uuid(userID)])
                    try await tx.execute(
                        """
                        UPDATE accounts SET password_hash = '', totp_secret = NULL, mfa_enabled = 0 WHERE id = $1
                        """, [.uuid(userID)])
                    try await tx.execute("DELETE FROM recovery_codes WHERE user_id = $1", [.uuid(userID)])
                    try await tx.execute("DELETE FROM passkeys WHERE user_id = $1", [.uuid(userID)])
                    sessions = try await tx.query(
                        "SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL", [.uuid(userID)]
                    ).map { try $0.uuid(0) }
                    for id in sessions { _ = try await Self.revoke(id, at: date, tx) }
                } else {
                    // Links to the old address are void; its undo link stays until used or expired.
                    try await tx.execute(
                        "DELETE FROM account_tokens WHERE user_id = $1 AND used_at IS NULL AND purpose IN ($2, $3)",
                        [
                            .uuid(userID), .text(AccountToken.Purpose.emailChange.rawValue),
                            .text(AccountToken.Purpose.emailVerification.rawValue),
                        ])
                }
                try await tx.execute(
                    "UPDATE accounts SET email = $1, email_index = $2, email_verified_at = $3 WHERE id = $4",
                    [.optional(sealedEmail.sealed), .text(index), .time(date), .uuid(userID)])
                if let undo { try await Self.insert(undo, payload: payload.sealed, tx) }
                try await SQLMailOutbox.insert(sealedMail, tx)
                try await Self.insert(sealedEvent, tx)
                _ = try await tx.appendLedger([sealedEvent.record])
                return sessions
            }
        } catch  where database.isUniqueViolation(error) {
            throw IdentityError.emailTaken
        }
        if ended != nil { vault.confirm(keys) }
        return ended
    }

    func verifyEmail(
        tokenDigest: String, at date: Date, recording event: @Sendable (UUID) -> AuthEvent
    ) async throws
        -> UUID?
    {
        guard let token = try await accountToken(digest: tokenDigest, purpose: .emailVerification) else { return nil }
        let sealedEvent = try sealed(event(token.userID))
        let verified: UUID? = try await database.transaction { tx in
            let spent = try await tx.query(
                """
                UPDATE account_tokens SET used_at = $3
                WHERE digest = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3 RETURNING user_id
                """,
                [.text(tokenDigest), .text(AccountToken.Purpose.emailVerification.rawValue), .time(date)])
            guard let userID = try spent.first?.uuid(0) else { return nil }
            try await tx.execute(
                "UPDATE accounts SET email_verified_at = $1 WHERE id = $2 AND email_verified_at IS NULL",
                [.time(date), .uuid(userID)])
            try await PersonalDataVault.insert(sealedEvent.keys, tx)
            try await Self.insert(sealedEvent, tx)
            _ = try await tx.appendLedger([sealedEvent.record])
            return userID
        }
        if verified != nil { vault.confirm(sealedEvent.keys) }
        return verified
    }

    func accountToken(digest: String, purpose: AccountToken.Purpose) async throws -> AccountToken? {
        guard
            let row = try await database.select(
                """
                SELECT user_id, issued_at, expires_at, payload FROM account_tokens
                WHERE digest = $1 AND purpose = $2 AND used_at IS NULL
                """, [.text(digest), .text(purpose.rawValue)]
            ).first
        else { return nil }
        let userID = try row.uuid(0)
        return AccountToken(
            digest: digest, purpose: purpose, userID: userID, issuedAt: try row.time(1), expiresAt: try row.time(2),
            payload: try await vault.open(row[3].text, subject: userID.lowercasedString, field: "token_payload"))
    }

    func resetPassword(
        tokenDigest: String, userID: UUID, hash: String, at date: Date, recording event: AuthEvent,
        queueing notice: OutboundMail
    ) async throws -> [UUID]? {
        let sealedEvent = try sealed(event)
        let sealedMail = try SQLMailOutbox.seal([notice], vault: vault)
        let ended: [UUID]? = try await database.transaction { tx in
            let spent = try await tx.query(
                """
                UPDATE account_tokens SET used_at = $4
                WHERE digest = $1 AND purpose = $2 AND user_id = $3 AND used_at IS NULL AND expires_at > $4
                RETURNING digest
                """,
                [
                    .text(tokenDigest), .text(AccountToken.Purpose.passwordReset.rawValue), .uuid(userID),
                    .time(date),
                ])
            guard !spent.isEmpty else { return nil }
            // Every link but the undo of an email change, which only its use or its expiry ends: whoever
            // moved the account must not be able to take its way back away.
            try await tx.execute(
                "DELETE FROM account_tokens WHERE user_id = $1 AND used_at IS NULL AND purpose <> $2",
                [.uuid(userID), .text(AccountToken.Purpose.emailChangeUndo.rawValue)])
            try await tx.execute("UPDATE accounts SET password_hash = $1 WHERE id = $2", [.text(hash), .uuid(userID)])
            let sessions = try await tx.query(
                "SELECT id FROM sessions WHERE user_id = $1 AND revoked_at IS NULL", [.uuid(userID)]
            ).map { try $0.uuid(0) }
            for id in sessions { _ = try await Self.revoke(id, at: date, tx) }
            try await PersonalDataVault.insert(sealedEvent.keys, tx)
            try await SQLMailOutbox.insert(sealedMail, tx)
            try await Self.insert(sealedEvent, tx)
            _ = try await tx.appendLedger([sealedEvent.record])
            return sessions
        }
        if ended != nil { vault.confirm(sealedEvent.keys + sealedMail.keys) }
        return ended
    }
}
