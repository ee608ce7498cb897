import Foundation
import PQCrypto

/// The vault's rows, in SQL both backends run unchanged.
extension PersonalDataVault {
    static let emailIndexSecret = "email-index"

    static func sql(masterKey: MasterKey?, database: any SQLDatabase) -> PersonalDataVault {
        PersonalDataVault(
            masterKey: masterKey,
            fetch: { id in
                guard
                    let row = try await database.select(
                        "SELECT subject_id, wrapped, wrapping_key_id FROM subject_keys WHERE id = $1", [.uuid(id)]
                    ).first
                else { return nil }
                return (try row.text(0), row[1].blob ?? Data(), try row.uuid(2))
            },
            fetchWrapping: { id in
                try await database.select("SELECT sealed FROM wrapping_keys WHERE id = $1", [.uuid(id)]).first?[0].blob
            },
            loadIndexKey: {
                guard let masterKey else { throw StorageError.noMasterKey }
                let material = try await sealedSecret(Self.emailIndexSecret, masterKey: masterKey, database: database)
                return try BlindIndex(material: material)
            })
    }

    /// A random 256-bit secret kept sealed in `sealed_secrets`, made on first use.
    static func sealedSecret(_ name: String, masterKey: MasterKey, database: any SQLDatabase) async throws -> Data {
        let context = PersonalDataVault.secretContext(name)
        if let row = try await database.select("SELECT sealed FROM sealed_secrets WHERE name = $1", [.text(name)]).first
        {
            return try masterKey.open(row[0].blob ?? Data(), context: context)
        }
        let material = DataKey.generate().material
        _ = try await database.write(
            "INSERT INTO sealed_secrets (name, sealed, kek) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            [.text(name), .blob(try masterKey.seal(material, context: context)), .text(masterKey.fingerprint)])
        // Another process may have won the race: whichever row is stored is the secret.
        return try await sealedSecret(name, masterKey: masterKey, database: database)
    }

    /// Stores data keys that writes in this transaction use; a key already stored is left alone, and no
    /// key is stored for an erased subject (what a stale cache seals for them stays unreadable).
    static func insert(_ rows: [KeyRow], _ tx: any SQLExecutor) async throws {
        var wrappingIDs = Set<UUID>()
        for wrapping in rows.compactMap(\.wrapping) where wrappingIDs.insert(wrapping.id).inserted {
            try await tx.execute(
                """
                INSERT INTO wrapping_keys (id, sealed, kek, created_at) VALUES ($1, $2, $3, $4)
                ON CONFLICT (id) DO NOTHING
                """, [.uuid(wrapping.id), .blob(wrapping.sealed), .text(wrapping.kek), .time(wrapping.createdAt)])
        }
        for row in rows {
            try await tx.execute(
                """
                INSERT INTO subject_keys (id, subject_id, wrapped, wrapping_key_id, created_at)
                SELECT $1, $2, $3, $4, $5 WHERE NOT EXISTS (SELECT 1 FROM erased_subjects WHERE subject_id = $2)
                ON CONFLICT (id) DO NOTHING
                """,
                [.uuid(row.id), .text(row.subject), .blob(row.wrapped), .uuid(row.wrappingKeyID), .time(row.createdAt)])
        }
    }
}
