import Foundation
import Identity
import Outbox
import PQCrypto
import Storage
import Synchronization

/// `SealedKeyRepository` in memory, with the semantics of `SQLSealedKeyRepository`: wrapping keys and
/// secrets record the master key that sealed them, so only those sealed under another come back;
/// signing keys and TOTP secrets do not, so all of them come back. A replacement applies only while the
/// stored bytes are still the ones read (compare and swap), so a key changed meanwhile is kept.
///
/// Created with an `InMemoryIdentityRepository`, the signing keys and TOTP secrets are that
/// repository's own rows, as in SQL they are rows of `signing_keys` and `accounts`: listed, replaced,
/// stored and read there (storing one for an id it does not hold changes nothing, like an UPDATE).
/// Without one, every kind is kept here.
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
    private let identity: InMemoryIdentityRepository?

    public init(identity: InMemoryIdentityRepository? = nil) {
        self.identity = identity
    }

    /// Whether the database records which master key sealed keys of `kind`.
    public static func recordsSealingKey(_ kind: SealedKeyKind) -> Bool {
        kind == .wrappingKey || kind == .secret
    }

    /// The identity repository that holds keys of `kind`, if they are its rows.
    private func owner(of kind: SealedKeyKind) -> InMemoryIdentityRepository? {
        kind == .signingKey || kind == .totpSecret ? identity : nil
    }

    /// What the code that seals each kind binds it to: the vault's wrapping keys and secrets, the signing
    /// key ring's keys, identity's TOTP secrets. Nil for an id the kind cannot have.
    public static func sealingContext(_ kind: SealedKeyKind, id: String) -> String? {
        switch kind {
        case .wrappingKey: return UUID(uuidString: id).map { PersonalDataVault.wrappingContext($0) }
        case .secret: return PersonalDataVault.secretContext(id)
        case .signingKey: return SigningKeyRing.sealingContext(id)
        case .totpSecret: return UUID(uuidString: id).map { IdentityService.totpContext($0) }
        case .webhookSecret: return UUID(uuidString: id).map { WebhookEndpoint.sealingContext($0) }
        }
    }

    /// Stores (or overwrites) a key, as the code that creates one would. `fingerprint` is kept only for
    /// the kinds whose table has a column for it.
    public func store(_ kind: SealedKeyKind, id: String, sealed: Data, under fingerprint: String) {
        if let owner = owner(of: kind) {
            owner.storeSealedKey(kind, id: id, sealed: sealed)
            return
        }
        state.withLock { keys in
            keys[Key(kind: kind, id: id)] = Stored(
                sealed: sealed, kek: Self.recordsSealingKey(kind) ? fingerprint : nil)
        }
    }

    /// Seals `plaintext` with `masterKey` under the context of its kind and id, and stores it as sealed
    /// under that key; returns the sealed bytes.
    @discardableResult
    public func seal(_ plaintext: Data, as kind: SealedKeyKind, id: String, with masterKey: MasterKey) throws -> Data {
        guard let context = Self.sealingContext(kind, id: id) else { throw PQCryptoError.invalidKeyMaterial }
        let sealed = try masterKey.seal(plaintext, context: context)
        store(kind, id: id, sealed: sealed, under: masterKey.fingerprint)
        return sealed
    }

    /// Opens a stored key with `masterKey` (and whichever previous keys it opens with); nil when there is
    /// no such key.
    public func open(_ kind: SealedKeyKind, id: String, with masterKey: MasterKey) throws -> Data? {
        guard let bytes = sealed(kind, id: id) else { return nil }
        guard let context = Self.sealingContext(kind, id: id) else { throw PQCryptoError.invalidKeyMaterial }
        return try masterKey.open(bytes, context: context)
    }

    /// The sealed bytes stored for a key, if there is one.
    public func sealed(_ kind: SealedKeyKind, id: String) -> Data? {
        if let owner = owner(of: kind) { return owner.sealedKey(kind, id: id) }
        return state.withLock { $0[Key(kind: kind, id: id)]?.sealed }
    }

    /// The recorded sealing key's fingerprint (nil for the kinds that record none).
    public func sealingFingerprint(_ kind: SealedKeyKind, id: String) -> String? {
        state.withLock { $0[Key(kind: kind, id: id)]?.kek }
    }

    public func sealedKeys(_ kind: SealedKeyKind, notUnder fingerprint: String) async throws -> [SealedKey] {
        if let owner = owner(of: kind) { return owner.sealedKeys(kind) }
        return state.withLock { keys in
            keys.filter { entry in
                entry.key.kind == kind && (!Self.recordsSealingKey(kind) || entry.value.kek != fingerprint)
            }
            .map { SealedKey(kind: kind, id: $0.key.id, sealed: $0.value.sealed) }
            .sorted { $0.id < $1.id }
        }
    }

    public func replace(_ key: SealedKey, with resealed: Data, under fingerprint: String) async throws -> Bool {
        if let owner = owner(of: key.kind) {
            return owner.storeSealedKey(key.kind, id: key.id, sealed: resealed, expected: key.sealed)
        }
        return state.withLock { keys in
            let address = Key(kind: key.kind, id: key.id)
            guard let stored = keys[address], stored.sealed == key.sealed else { return false }
            keys[address] = Stored(
                sealed: resealed, kek: Self.recordsSealingKey(key.kind) ? fingerprint : nil)
            return true
        }
    }
}
