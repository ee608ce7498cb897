import Foundation
import PQCrypto

/// The keys sealed under the master key, by kind, on either backend.
struct SQLSealedKeyRepository: SealedKeyRepository {
    let database: any SQLDatabase

    /// Where each kind lives: its table, id column and sealed column, and the column naming the
    /// sealing key where there is one.
    private static func place(_ kind: SealedKeyKind) -> (table: String, id: String, sealed: String, kek: String?) {
        switch kind {
        case .wrappingKey: ("wrapping_keys", "id", "sealed", "kek")
        case .secret: ("sealed_secrets", "name", "sealed", "kek")
        case .signingKey: ("signing_keys", "kid", "sealed_private_key", nil)
        case .totpSecret: ("accounts", "id", "totp_secret", nil)
        case .webhookSecret: ("webhook_endpoints", "id", "sealed_secret", nil)
        }
    }

    func sealedKeys(_ kind: SealedKeyKind, notUnder fingerprint: String) async throws -> [SealedKey] {
        let place = Self.place(kind)
        let rows =
            if let kek = place.kek {
                try await database.select(
                    "SELECT \(place.id), \(place.sealed) FROM \(place.table) WHERE \(kek) <> $1", [.text(fingerprint)])
            } else {
                try await database.select(
                    "SELECT \(place.id), \(place.sealed) FROM \(place.table) WHERE \(place.sealed) IS NOT NULL", [])
            }
        return try rows.map { SealedKey(kind: kind, id: try $0.text(0), sealed: $0[1].blob ?? Data()) }
    }

    func replace(_ key: SealedKey, with resealed: Data, under fingerprint: String) async throws -> Bool {
        let place = Self.place(key.kind)
        let changed: [SQLRow]
        if let kek = place.kek {
            changed = try await database.write(
                """
                UPDATE \(place.table) SET \(place.sealed) = $1, \(kek) = $2
                WHERE \(place.id) = $3 AND \(place.sealed) = $4 RETURNING \(place.id)
                """,
                [.blob(resealed), .text(fingerprint), .text(key.id), .blob(key.sealed)])
        } else {
            changed = try await database.write(
                """
                UPDATE \(place.table) SET \(place.sealed) = $1
                WHERE \(place.id) = $2 AND \(place.sealed) = $3 RETURNING \(place.id)
                """, [.blob(resealed), .text(key.id), .blob(key.sealed)])
        }
        return !changed.isEmpty
    }
}
