public import Crypto
public import Foundation

/// The key-encryption key: an X-Wing (ML-KEM-768 + X25519) key pair whose 32-byte seed comes from
/// configuration or a key file, never from the database. Secrets are sealed to its public half with
/// HPKE (RFC 9180, X-Wing / HKDF-SHA256 / AES-256-GCM), so a copy of the database alone reveals nothing,
/// today or to a quantum attacker later.
public struct MasterKey: Sendable {
    private let privateKey: XWingMLKEM768X25519.PrivateKey
    /// Keys being rotated away from: they still open what they sealed, but never seal.
    private var previousKeys: [XWingMLKEM768X25519.PrivateKey] = []
    private static let ciphersuite = HPKE.Ciphersuite.XWingMLKEM768X25519_SHA256_AES_GCM_256
    /// The first byte of every sealed value: lets a later format coexist with this one.
    private static let formatVersion: UInt8 = 1

    public init(seed: some DataProtocol) throws(PQCryptoError) {
        guard seed.count == 32 else { throw .invalidMasterKey }
        do {
            privateKey = try XWingMLKEM768X25519.PrivateKey(seedRepresentation: seed, publicKey: nil)
        } catch {
            throw .invalidMasterKey
        }
    }

    /// Reads the base64 text of a 32-byte seed, as written by `generateSeedText()`.
    public init(base64Seed text: String) throws(PQCryptoError) {
        guard let seed = Data(base64Encoded: text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw .invalidMasterKey
        }
        try self.init(seed: seed)
    }

    public static func generateSeedText() -> String {
        Data(SymmetricKey(size: .bits256).withUnsafeBytes { Array($0) }).base64EncodedString()
    }

    /// A short public identifier of this key, safe to log: which KEK sealed a value.
    public var fingerprint: String { Self.fingerprint(privateKey) }

    private static func fingerprint(_ key: XWingMLKEM768X25519.PrivateKey) -> String {
        Hex.encode(SHA256.hash(data: key.publicKey.rawRepresentation).prefix(8))
    }

    /// A symmetric key for one `purpose`, derived from this key's seed with HKDF-SHA256: the same on
    /// every replica that holds the master key, and unrelated from one purpose to the next.
    public func derivedKey(for purpose: String) -> SymmetricKey {
        HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: privateKey.seedRepresentation),
            info: Data("qspp derived key v1: \(purpose)".utf8), outputByteCount: 32)
    }

    /// The bytes of ``derivedKey(for:)``, to seed a key pair with.
    public func derivedSeed(for purpose: String) -> Data {
        derivedKey(for: purpose).withUnsafeBytes { Data($0) }
    }

    /// This key, also able to open what `previous` sealed: the state of every server during a
    /// rotation, until `qspp keys rotate-kek` has re-sealed everything.
    public func opening(previous: [MasterKey]) -> MasterKey {
        var key = self
        key.previousKeys = previous.map(\.privateKey).filter { Self.fingerprint($0) != fingerprint }
        return key
    }

    /// Seals `plaintext`, bound to `context` (for example the row it belongs to), so a sealed value
    /// moved to another row does not open.
    public func seal(_ plaintext: some DataProtocol, context: String) throws(PQCryptoError) -> Data {
        do {
            var sender = try HPKE.Sender(
                recipientKey: privateKey.publicKey, ciphersuite: Self.ciphersuite, info: Data(context.utf8))
            let ciphertext = try sender.seal(plaintext)
            return Data([Self.formatVersion]) + sender.encapsulatedKey + ciphertext
        } catch {
            throw .sealingFailed
        }
    }

    /// Opens with this key, or else with a previous one.
    public func open(_ sealed: some DataProtocol, context: String) throws(PQCryptoError) -> Data {
        for key in [privateKey] + previousKeys {
            if let plaintext = try? Self.open(sealed, context: context, with: key) { return plaintext }
        }
        throw .cannotOpen
    }

    private static func open(
        _ sealed: some DataProtocol, context: String, with privateKey: XWingMLKEM768X25519.PrivateKey
    ) throws(PQCryptoError) -> Data {
        let bytes = Data(sealed)
        let encapsulatedLength = 1120
        guard bytes.count > 1 + encapsulatedLength, bytes.first == formatVersion else { throw .cannotOpen }
        let encapsulated = bytes.dropFirst().prefix(encapsulatedLength)
        let ciphertext = bytes.dropFirst(1 + encapsulatedLength)
        do {
            var recipient = try HPKE.Recipient(
                privateKey: privateKey, ciphersuite: ciphersuite, info: Data(context.utf8),
                encapsulatedKey: Data(encapsulated))
            return try recipient.open(Data(ciphertext))
        } catch {
            throw .cannotOpen
        }
    }
}
