import Foundation
import Identity
import Kernel
import Outbox
import PQCrypto

/// Passkeys, and the single-use challenges of their ceremonies.
extension SQLIdentityRepository {
    func insertPasskeyChallenge(_ challenge: PasskeyChallenge) async throws {
        _ = try await database.write(
            "INSERT INTO passkey_challenges (digest, purpose, user_id, expires_at) VALUES ($1, $2, $3, $4) RETURNING digest",
            [
                .text(challenge.digest), .text(challenge.purpose.rawValue),
                .optional(challenge.userID?.lowercasedString), .time(challenge.expiresAt),
            ])
    }

    func takePasskeyChallenge(digest: String, purpose: PasskeyChallenge.Purpose) async throws -> PasskeyChallenge? {
        guard
            let row = try await database.write(
                "DELETE FROM passkey_challenges WHERE digest = $1 AND purpose = $2 RETURNING user_id, expires_at",
                [.text(digest), .text(purpose.rawValue)]
            ).first
        else { return nil }
        let userID = try row[0].text.map { text in
            guard let id = UUID(uuidString: text) else { throw StorageError.corrupted("passkey challenge") }
            return id
        }
        return PasskeyChallenge(digest: digest, purpose: purpose, userID: userID, expiresAt: try row.time(1))
    }

    func insertPasskey(_ passkey: Passkey, recording event: AuthEvent, queueing mail: [OutboundMail]) async throws {
        let sealedEvent = try sealed(event)
        let sealedMail = try SQLMailOutbox.seal(mail, vault: vault)
        do {
            try await database.transaction { tx in
                try await tx.execute(
                    """
                    INSERT INTO passkeys (id, user_id, name, public_key, algorithm, sign_count, backup_eligible,
                        backed_up, aaguid, attestation, attestation_format, created_at, last_used_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
                    """,
                    [
                        .text(Base64URL.encode(passkey.id)), .uuid(passkey.userID), .text(passkey.name),
                        .blob(passkey.publicKey), .integer(Int64(passkey.algorithm)),
                        .integer(Int64(passkey.signCount)), .integer(passkey.backupEligible ? 1 : 0),
                        .integer(passkey.backedUp ? 1 : 0), .blob(passkey.aaguid),
                        .text(passkey.attestation), .text(passkey.attestationFormat), .time(passkey.createdAt),
                        .optionalTime(passkey.lastUsedAt),
                    ])
                try await PersonalDataVault.insert(sealedEvent.keys, tx)
                try await SQLMailOutbox.insert(sealedMail, tx)
                try await Self.insert(sealedEvent, tx)
                _ = try await tx.appendLedger([sealedEvent.record])
            }
        } catch  where database.isUniqueViolation(error) {
            throw IdentityError.passkeyExists
        }
        vault.confirm(sealedEvent.keys + sealedMail.keys)
    }

    private static let passkeyColumns = """
        id, user_id, name, public_key, algorithm, sign_count, backup_eligible, backed_up, aaguid, attestation,
        attestation_format, created_at, last_used_at
        """

    private static func passkey(_ row: SQLRow) throws -> Passkey {
        guard let id = Base64URL.decode(try row.text(0)), let publicKey = row[3].bytes,
            let signCount = UInt32(exactly: try row.integer(5)), let aaguid = row[8].bytes
        else { throw StorageError.corrupted("passkey") }
        return Passkey(
            id: id, userID: try row.uuid(1), name: try row.text(2), publicKey: publicKey,
            algorithm: Int(try row.integer(4)), signCount: signCount, backupEligible: try row.integer(6) == 1,
            backedUp: try row.integer(7) == 1, aaguid: aaguid, attestation: try row.text(9),
            attestationFormat: try row.text(10), createdAt: try row.time(11), lastUsedAt: row.optionalTime(12))
    }

    func passkey(id: Data) async throws -> Passkey? {
        try await database.select(
            "SELECT \(Self.passkeyColumns) FROM passkeys WHERE id = $1", [.text(Base64URL.encode(id))]
        ).first.map(Self.passkey)
    }

    func passkeys(userID: UUID) async throws -> [Passkey] {
        try await database.select(
            "SELECT \(Self.passkeyColumns) FROM passkeys WHERE user_id = $1 ORDER BY created_at, id", [.uuid(userID)]
        ).map(Self.passkey)
    }

    func recordPasskeyUse(id: Data, signCount: UInt32, backedUp: Bool, at date: Date) async throws -> Bool {
        try await !database.write(
            """
            UPDATE passkeys SET sign_count = $2, backed_up = $3, last_used_at = $4
            WHERE id = $1 AND (sign_count < $2 OR (sign_count = 0 AND $2 = 0)) RETURNING id
            """,
            [.text(Base64URL.encode(id)), .integer(Int64(signCount)), .integer(backedUp ? 1 : 0), .time(date)]
        ).isEmpty
    }

    func renamePasskey(id: Data, userID: UUID, name: String) async throws -> Bool {
        try await !database.write(
            "UPDATE passkeys SET name = $3 WHERE id = $1 AND user_id = $2 RETURNING id",
            [.text(Base64URL.encode(id)), .uuid(userID), .text(name)]
        ).isEmpty
    }

    func deletePasskey(
        id: Data, userID: UUID, recording event: AuthEvent, queueing mail: [OutboundMail]
    )
        async throws -> PasskeyDeletion
    {
        let sealedEvent = try sealed(event)
        let sealedMail = try SQLMailOutbox.seal(mail, vault: vault)
        let outcome: PasskeyDeletion = try await database.transaction { tx in
            // The account's row, locked, so two removals at once cannot both take the last two ways in.
            guard
                let account = try await tx.query(
                    "SELECT password_hash FROM accounts WHERE id = $1 \(tx.lockRowsClause)", [.uuid(userID)]
                ).first
            else { return .notFound }
            let owned = try await tx.query(
                "SELECT id FROM passkeys WHERE user_id = $1", [.uuid(userID)]
            ).map { try $0.text(0) }
            guard owned.contains(Base64URL.encode(id)) else { return .notFound }
            if try account.text(0).isEmpty, owned.count == 1 { return .lastSignInMethod }
            try await tx.execute(
                "DELETE FROM passkeys WHERE id = $1 AND user_id = $2", [.text(Base64URL.encode(id)), .uuid(userID)])
            try await PersonalDataVault.insert(sealedEvent.keys, tx)
            try await SQLMailOutbox.insert(sealedMail, tx)
            try await Self.insert(sealedEvent, tx)
            _ = try await tx.appendLedger([sealedEvent.record])
            return .deleted
        }
        if outcome == .deleted { vault.confirm(sealedEvent.keys + sealedMail.keys) }
        return outcome
    }

    func removePassword(userID: UUID, recording event: AuthEvent, queueing mail: [OutboundMail]) async throws -> Bool {
        let sealedEvent = try sealed(event)
        let sealedMail = try SQLMailOutbox.seal(mail, vault: vault)
        let removed = try await database.transaction { tx in
            guard
                !(try await tx.query(
                    "SELECT id FROM accounts WHERE id = $1 \(tx.lockRowsClause)", [.uuid(userID)]
                ).isEmpty),
                !(try await tx.query("SELECT id FROM passkeys WHERE user_id = $1 LIMIT 1", [.uuid(userID)]).isEmpty)
            else { return false }
            try await tx.execute("UPDATE accounts SET password_hash = '' WHERE id = $1", [.uuid(userID)])
            try await PersonalDataVault.insert(sealedEvent.keys, tx)
            try await SQLMailOutbox.insert(sealedMail, tx)
            try await Self.insert(sealedEvent, tx)
            _ = try await tx.appendLedger([sealedEvent.record])
            return true
        }
        if removed { vault.confirm(sealedEvent.keys + sealedMail.keys) }
        return removed
    }
}
