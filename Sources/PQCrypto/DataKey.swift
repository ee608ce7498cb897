import Crypto
public import Foundation
import Kernel

/// A data-encryption key: 256 random bits for AES-256-GCM, one or more per data subject. Destroying
/// a subject's data keys is what erasure by crypto-shredding means: every field sealed under them,
/// in the database and in every backup of it, becomes noise.
public struct DataKey: Sendable {
    public let id: UUID
    private let key: SymmetricKey

    /// Sealed fields are text, so they fit the columns that held plaintext: this prefix, then
    /// base64url of key id (16 bytes) ‖ nonce (12) ‖ ciphertext ‖ tag (16).
    public static let prefix = "enc1."

    public init(id: UUID = .random(), material: some ContiguousBytes) throws(PQCryptoError) {
        let key = SymmetricKey(data: material)
        guard key.bitCount == 256 else { throw .invalidKeyMaterial }
        self.id = id
        self.key = key
    }

    public static func generate() -> DataKey {
        try! DataKey(material: SymmetricKey(size: .bits256))
    }

    public var material: Data { key.withUnsafeBytes { Data($0) } }

    /// The context a key is wrapped under: a wrapped key moved to another subject does not open.
    public static func wrappingContext(subject: String, keyID: UUID) -> String {
        "qspp data key \(subject) \(keyID.lowercasedString)"
    }

    /// Seals `plaintext`, bound to `context` (the subject and field), so a ciphertext copied into
    /// another subject's row or another column does not open.
    public func seal(_ plaintext: String, context: String) throws(PQCryptoError) -> String {
        do {
            let box = try AES.GCM.seal(Array(plaintext.utf8), using: key, authenticating: Array(context.utf8))
            var bytes: [UInt8] = []
            bytes.reserveCapacity(16 + 12 + box.ciphertext.count + 16)
            withUnsafeBytes(of: id.uuid) { bytes += $0 }
            box.nonce.withUnsafeBytes { bytes += $0 }
            bytes += box.ciphertext
            bytes += box.tag
            return Self.prefix + Base64URL.encode(bytes)
        } catch {
            throw .sealingFailed
        }
    }

    public func open(_ sealed: String, context: String) throws(PQCryptoError) -> String {
        guard let bytes = Self.payload(sealed), bytes.count >= 16 + 12 + 16, Self.keyID(of: sealed) == id else {
            throw .cannotOpen
        }
        do {
            let box = try AES.GCM.SealedBox(
                nonce: AES.GCM.Nonce(data: bytes[16..<28]), ciphertext: bytes[28..<(bytes.count - 16)],
                tag: bytes[(bytes.count - 16)...])
            let plaintext = try AES.GCM.open(box, using: key, authenticating: Data(context.utf8))
            guard let text = String(data: plaintext, encoding: .utf8) else { throw PQCryptoError.cannotOpen }
            return text
        } catch {
            throw .cannotOpen
        }
    }

    public static func isSealed(_ text: String) -> Bool { text.hasPrefix(prefix) }

    /// The id of the key that sealed `text`, or nil when it is not a sealed field.
    public static func keyID(of text: String) -> UUID? {
        guard let bytes = payload(text), bytes.count >= 16 else { return nil }
        let raw = Array(bytes.prefix(16))
        return UUID(
            uuid: (
                raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7], raw[8], raw[9], raw[10], raw[11],
                raw[12], raw[13], raw[14], raw[15]
            ))
    }

    private static func payload(_ text: String) -> Data? {
        guard text.hasPrefix(prefix) else { return nil }
        return Base64URL.decode(text.dropFirst(prefix.count)).map { Data($0) }
    }
}

/// A keyed blind index: equal inputs give equal tags, so a column can be searched for a value
/// without storing it, and the tags reveal nothing without the key.
public struct BlindIndex: Sendable {
    private let key: SymmetricKey

    public init(material: some ContiguousBytes) throws(PQCryptoError) {
        let key = SymmetricKey(data: material)
        guard key.bitCount == 256 else { throw .invalidKeyMaterial }
        self.key = key
    }

    public func tag(_ value: String, domain: String) -> String {
        Hex.encode(HMAC<SHA256>.authenticationCode(for: Data((domain + "\u{0}" + value).utf8), using: key))
    }
}
