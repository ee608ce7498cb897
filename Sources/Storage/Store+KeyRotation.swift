import Foundation
import Identity
import PQCrypto

/// What `qspp keys rotate-kek` re-sealed.
public struct RewrapReport: Sendable, Equatable {
    /// The keys that wrap the subjects' data keys; the data keys themselves need no change.
    public var wrappingKeys = 0
    public var secrets = 0
    public var signingKeys = 0
    public var totpSecrets = 0
}

extension Store {
    /// Re-seals every key sealed to the master key under the current one: the wrapping keys (which
    /// wrap the subjects' data keys), the blind index secret, the signing keys and the TOTP secrets.
    /// Neither the data keys nor the rows of personal data are touched. Servers keep working throughout,
    /// because they open with the current and the previous master keys alike.
    public func rewrapUnderCurrentMasterKey() async throws -> RewrapReport {
        let masterKey = try vault.masterKey
        let current = masterKey.fingerprint
        var report = RewrapReport()
        for row in try await sql.select("SELECT id, sealed FROM wrapping_keys WHERE kek <> $1", [.text(current)]) {
            let id = try row.uuid(0)
            let context = PersonalDataVault.wrappingContext(id)
            let key = try masterKey.open(row[1].blob ?? Data(), context: context)
            _ = try await sql.write(
                "UPDATE wrapping_keys SET sealed = $1, kek = $2 WHERE id = $3",
                [.blob(try masterKey.seal(key, context: context)), .text(current), .uuid(id)])
            report.wrappingKeys += 1
        }
        for row in try await sql.select("SELECT name, sealed FROM sealed_secrets WHERE kek <> $1", [.text(current)]) {
            let name = try row.text(0)
            let context = "qspp secret " + name
            let secret = try masterKey.open(row[1].blob ?? Data(), context: context)
            _ = try await sql.write(
                "UPDATE sealed_secrets SET sealed = $1, kek = $2 WHERE name = $3",
                [.blob(try masterKey.seal(secret, context: context)), .text(current), .text(name)])
            report.secrets += 1
        }
        // These carry no record of their sealing key: re-sealing all of them is cheap and idempotent.
        for row in try await sql.select("SELECT kid, sealed_private_key FROM signing_keys", []) {
            let keyID = try row.text(0)
            let context = SigningKeyRing.sealingContext(keyID)
            let seed = try masterKey.open(row[1].blob ?? Data(), context: context)
            _ = try await sql.write(
                "UPDATE signing_keys SET sealed_private_key = $1 WHERE kid = $2",
                [.blob(try masterKey.seal(seed, context: context)), .text(keyID)])
            report.signingKeys += 1
        }
        for row in try await sql.select("SELECT id, totp_secret FROM accounts WHERE totp_secret IS NOT NULL", []) {
            let id = try row.uuid(0)
            let context = IdentityService.totpContext(id)
            let sealed = row[1].blob ?? Data()
            let secret = try masterKey.open(sealed, context: context)
            // Only if unchanged meanwhile: a user re-enrolling MFA right now keeps the new secret.
            _ = try await sql.write(
                "UPDATE accounts SET totp_secret = $1 WHERE id = $2 AND totp_secret = $3",
                [.blob(try masterKey.seal(secret, context: context)), .uuid(id), .blob(sealed)])
            report.totpSecrets += 1
        }
        return report
    }
}
