import Crypto
import Foundation
import JWTKit
import PQCrypto
import Synchronization

/// The token keys this process signs and verifies with, loaded from the repository and opened with
/// the master key. The newest key of the configured algorithm signs; older ones verify until every
/// token they signed has expired, so rotation logs nobody out.
public final class SigningKeyRing: Sendable {
    struct Entry: Sendable {
        let keyID: String
        let algorithm: SigningAlgorithm
        let publicJWK: [String: String]
        let createdAt: Date
        let retiredAt: Date?
        /// One collection per key, holding only that key, so a token can only ever be checked against the
        /// key its header names (jwt-kit would otherwise fall back to a default key).
        let collection: JWTKeyCollection
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var signingKeyID: String?
    }

    public let algorithm: SigningAlgorithm
    private let repository: any IdentityRepository
    private let masterKey: MasterKey
    /// How long a retired key keeps verifying: the token lifetime plus a margin for processes that
    /// have not yet reloaded the ring.
    private let retention: TimeInterval
    private let state = Mutex(State())
    /// When a token named a key this ring did not know, and the ring was reloaded for it.
    private let lastReloadForUnknownKey = Mutex(Date.distantPast)

    public init(
        algorithm: SigningAlgorithm, repository: any IdentityRepository, masterKey: MasterKey, retention: TimeInterval
    ) {
        self.algorithm = algorithm
        self.repository = repository
        self.masterKey = masterKey
        self.retention = retention
    }

    /// Loads the keys; creates the first one when none of the configured algorithm exists, and then
    /// returns its key id.
    /// With `creatingIfNone` false, a ring without keys stays empty (an ID-token algorithm no client
    /// has asked for yet).
    @discardableResult
    public func load(now: Date = Date(), creatingIfNone: Bool = true) async throws -> String? {
        var stored = try await repository.signingKeys()
        var created: String?
        if creatingIfNone, !stored.contains(where: { $0.algorithm == algorithm.rawValue && $0.retiredAt == nil }) {
            created = try await addKey(now: now)
            stored = try await repository.signingKeys()
        }
        var entries: [String: Entry] = [:]
        for key in stored {
            guard let algorithm = SigningAlgorithm(rawValue: key.algorithm), algorithm == self.algorithm else {
                continue
            }
            let seed = try masterKey.open(key.sealedPrivateKey, context: Self.sealingContext(key.keyID))
            let signingKey = try SigningKey(algorithm: algorithm, privateSeed: seed)
            guard signingKey.keyID == key.keyID, signingKey.publicKey == key.publicKey else {
                throw PQCryptoError.invalidKeyMaterial
            }
            entries[key.keyID] = Entry(
                keyID: key.keyID, algorithm: algorithm, publicJWK: signingKey.publicJWK, createdAt: key.createdAt,
                retiredAt: key.retiredAt, collection: try await Self.collection(for: signingKey))
        }
        let signing = entries.values.filter { $0.retiredAt == nil }.max { $0.createdAt < $1.createdAt }?.keyID
        state.withLock {
            $0.entries = entries
            $0.signingKeyID = signing
        }
        return created
    }

    /// A ring of `algorithm` over the same store and master key.
    func sibling(_ algorithm: SigningAlgorithm) -> SigningKeyRing {
        SigningKeyRing(algorithm: algorithm, repository: repository, masterKey: masterKey, retention: retention)
    }

    /// Creates a key, stores it sealed, and retires the previous signing key. Returns its key id.
    @discardableResult
    public func addKey(now: Date = Date()) async throws -> String {
        try await addKey(SigningKey.generate(algorithm), now: now)
    }

    /// Adds a key made elsewhere (say, by an independent implementation from a known seed).
    @discardableResult
    public func addKey(_ key: SigningKey, now: Date = Date()) async throws -> String {
        guard key.algorithm == algorithm else { throw PQCryptoError.invalidKeyMaterial }
        let stored = StoredSigningKey(
            keyID: key.keyID, algorithm: algorithm.rawValue, publicKey: key.publicKey,
            sealedPrivateKey: try masterKey.seal(key.privateSeed, context: Self.sealingContext(key.keyID)),
            createdAt: now)
        try await repository.insertSigningKey(stored, retiringOthersAt: now)
        return key.keyID
    }

    /// The public JWK Set: every key of the configured algorithm, retired ones included, so that receipts
    /// and checkpoints signed years ago still verify. Tokens are accepted only from keys within
    /// ``acceptsTokens(from:now:)``.
    public var jwks: [[String: String]] {
        state.withLock { state in
            state.entries.values.sorted { $0.createdAt > $1.createdAt }.map { entry in
                entry.publicJWK.merging(["kid": entry.keyID, "use": "sig"]) { current, _ in current }
            }
        }
    }

    /// What the admin pages show of each key: never a private part.
    public struct KeyStatus: Sendable {
        public let keyID: String
        public let algorithm: String
        public let createdAt: Date
        public let retiredAt: Date?
        public let signing: Bool
    }

    public var keyStatuses: [KeyStatus] {
        state.withLock { state in
            state.entries.values.sorted { $0.createdAt > $1.createdAt }.map { entry in
                KeyStatus(
                    keyID: entry.keyID, algorithm: entry.algorithm.rawValue, createdAt: entry.createdAt,
                    retiredAt: entry.retiredAt, signing: entry.keyID == state.signingKeyID)
            }
        }
    }

    var hasSigningKey: Bool { state.withLock { $0.signingKeyID != nil } }

    func signer() throws(IdentityError) -> Entry {
        guard let entry = state.withLock({ state in state.signingKeyID.flatMap { state.entries[$0] } }) else {
            throw .invalidToken("no signing key is loaded")
        }
        return entry
    }

    /// Reloads the ring because a token named a key it does not know: another replica may have just
    /// created or rotated one. At most once a second, so tokens with made-up key ids cannot turn into a
    /// flood of database reads. Returns whether it reloaded.
    func reloadForUnknownKey(now: Date = Date()) async -> Bool {
        let due = lastReloadForUnknownKey.withLock { last in
            guard now.timeIntervalSince(last) >= 1 else { return false }
            last = now
            return true
        }
        guard due else { return false }
        do {
            try await load(now: now)
            return true
        } catch {
            return false
        }
    }

    func entry(keyID: String) -> Entry? {
        state.withLock { $0.entries[keyID] }
    }

    /// A retired key verifies tokens only until every token it signed has expired.
    func acceptsTokens(from entry: Entry, now: Date = Date()) -> Bool {
        guard let retiredAt = entry.retiredAt else { return true }
        return now.timeIntervalSince(retiredAt) <= retention
    }

    private struct Header: Decodable {
        let alg: String?
        let kid: String?
        let typ: String?
        let crit: [String]?
    }

    /// The key a compact JWS names, if its header is one we issue: the configured algorithm, the
    /// expected `typ`, no `crit`, and a key of the ring. Everything else fails before any signature is
    /// looked at.
    func entry(forCompact token: String, type: String) throws(IdentityError) -> Entry {
        guard token.utf8.count <= TokenAuthority.maximumTokenLength else {
            throw .invalidToken("the token is too long")
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(parts[0]),
            let header = try? JSONDecoder().decode(Header.self, from: headerBytes)
        else { throw .invalidToken("the token is malformed") }
        guard header.alg == algorithm.rawValue else { throw .invalidToken("the token's algorithm is not accepted") }
        guard header.typ == type else { throw .invalidToken("the token is not of the expected type") }
        guard header.crit == nil else { throw .invalidToken("the token has critical header parameters") }
        guard let keyID = header.kid, let entry = entry(keyID: keyID), entry.algorithm.rawValue == header.alg else {
            throw .invalidToken("the token's key is not known")
        }
        return entry
    }

    /// What a signing key's seed is sealed to; `qspp keys rotate-kek` re-seals under the same context.
    public static func sealingContext(_ keyID: String) -> String { "qspp signing key " + keyID }

    private static func collection(for key: SigningKey) async throws -> JWTKeyCollection {
        let collection = JWTKeyCollection()
        switch key.algorithm {
        case .mldsa65:
            await collection.add(mldsa: try MLDSA65PrivateKey(seedRepresentation: key.privateSeed), kid: nil)
        case .ed25519:
            await collection.add(
                eddsa: EdDSA.PrivateKey(backing: try Curve25519.Signing.PrivateKey(rawRepresentation: key.privateSeed)))
        case .es256:
            await collection.add(
                ecdsa: try ES256PrivateKey(backing: P256.Signing.PrivateKey(rawRepresentation: key.privateSeed)))
        }
        return collection
    }
}
