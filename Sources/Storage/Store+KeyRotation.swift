import Foundation
import Identity
import PQCrypto

/// What `qspp keys rotate-kek` re-sealed.
public struct RewrapReport: Sendable, Equatable {
    public var dataKeys = 0
    public var secrets = 0
    public var signingKeys = 0
    public var totpSecrets = 0
}

extension Store {
    /// Re-seals every sealed key under the current master key: the subjects' data keys, the blind
    /// index secret, the signing keys and the TOTP secrets. The rows of personal data are not touched:
    /// they are sealed under the data keys, which do not change. Servers keep working throughout,
    /// because they open with the current and the previous master keys alike.
    public func rewrapUnderCurrentMasterKey() async throws -> RewrapReport {
        let masterKey = try vault.masterKey
        let current = masterKey.fingerprint
        var report = RewrapReport()
        for row in try await sql.select(
            "SELECT id, subject_id, wrapped FROM subject_keys WHERE kek <> $1", [.text(current)])
        {
            let id = try row.uuid(0)
            let subject = try row.text(1)
            let key = try vault.unwrap(row[2].blob ?? Data(), subject: subject, keyID: id)
            _ = try await sql.write(
                "UPDATE subject_keys SET wrapped = $1, kek = $2 WHERE id = $3",
                [.blob(try vault.wrap(key, subject: subject)), .text(current), .uuid(id)])
            report.dataKeys += 1
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
