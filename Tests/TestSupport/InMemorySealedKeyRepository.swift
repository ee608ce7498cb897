import Foundation
import PQCrypto
import Synchronization

/// `SealedKeyRepository` in memory, with the semantics of `SQLSealedKeyRepository`: wrapping keys and
/// secrets record the master key that sealed them, so only those sealed under another come back;
/// signing keys and TOTP secrets do not, so all of them come back. A replacement applies only while the
/// stored bytes are still the ones read (compare and swap), so a key changed meanwhile is kept.
public final class InMemorySealedKeyRepository: SealedKeyRepository, Sendable {
    private struct Stored {
        var sealed: Data
        /// The sealing master key's fingerprint, for the kinds that record it.
        var kek: String?
    }

    private struct Key: Hashable {
        var kind: SealedKeyKind
        var id: String
    }

    private let state = Mutex([Key: Stored]())

    public init() {}

    /// Whether the database records which master key sealed keys of `kind`.
    public static func recordsSealingKey(_ kind: SealedKeyKind) -> Bool {
        kind == .wrappingKey || kind == .secret
    }

    /// Stores (or overwrites) a key, as the code that creates one would. `fingerprint` is kept only for
    /// the kinds whose table has a column for it.
    public func store(_ kind: SealedKeyKind, id: String, sealed: Data, under fingerprint: String) {
        state.withLock { keys in
            keys[Key(kind: kind, id: id)] = Stored(
                sealed: sealed, kek: Self.recordsSealingKey(kind) ? fingerprint : nil)
        }
    }

    /// The sealed bytes stored for a key, if there is one.
    public func sealed(_ kind: SealedKeyKind, id: String) -> Data? {
        state.withLock { $0[Key(kind: kind, id: id)]?.sealed }
    }

    /// The recorded sealing key's fingerprint (nil for the kinds that record none).
    public func sealingFingerprint(_ kind: SealedKeyKind, id: String) -> String? {
        state.withLock { $0[Key(kind: kind, id: id)]?.kek }
    }

    public func sealedKeys(_ kind: SealedKeyKind, notUnder fingerprint: String) async throws -> [SealedKey] {
        state.withLock { keys in
            keys.filter { entry in
                entry.key.kind == kind && (!Self.recordsSealingKey(kind) || entry.value.kek != fingerprint)
            }
            .map { SealedKey(kind: kind, id: $0.key.id, sealed: $0.value.sealed) }
            .sorted { $0.id < $1.id }
        }
    }

    public func replace(_ key: SealedKey, with resealed: Data, under fingerprint: String) async throws -> Bool {
        state.withLock { keys in
            let address = Key(kind: key.kind, id: key.id)
            guard let stored = keys[address], stored.sealed == key.sealed else { return false }
            keys[address] = Stored(
                sealed: resealed, kek: Self.recordsSealingKey(key.kind) ? fingerprint : nil)
            return true
        }
    }
}
