import Crypto
public import Foundation

/// Encrypts a file to a recipient's post-quantum public key, in chunks, so that neither side ever
/// holds the whole file in memory. The format (documented in docs/export-format.md):
///
///     header  = "QSPPX1" ‖ kem (1 byte: 1 = X-Wing, 2 = ML-KEM-768) ‖ length of enc (2 bytes BE) ‖ enc
///     key ‖ base nonce = HKDF-SHA256(ikm: shared secret, salt: enc, info: "qspp export v1" ‖ kem byte), 32 + 12 bytes
///     chunk i = length of c (4 bytes BE) ‖ c,  c = AES-256-GCM(key, nonce_i, plaintext_i, aad: header ‖ i (8 bytes BE) ‖ last (1 byte))
///     nonce_i = base nonce XOR i (as 12 bytes BE)
///
/// Plaintext chunks are 64 KiB but the last; the last chunk carries `last = 1`, so a truncated file
/// fails to decrypt instead of yielding a shorter archive.
public enum ExportEnvelope {
    public enum Recipient: String, Sendable, CaseIterable {
        case xwing = "X-Wing"
        case mlkem768 = "ML-KEM-768"

        var code: UInt8 { self == .xwing ? 1 : 2 }
    }

    public enum Failure: Error, Equatable, CustomStringConvertible {
        case invalidPublicKey, malformed, cannotDecrypt

        public var description: String {
            switch self {
            case .invalidPublicKey: "the public key is not a valid key of that algorithm"
            case .malformed: "the file is not a QSPP export envelope"
            case .cannotDecrypt:
                "the file does not decrypt with this key: wrong key, or the file was altered or cut short"
            }
        }
    }

    static let magic = Data("QSPPX1".utf8)
    static let chunkSize = 64 * 1024

    /// Checks a recipient public key before any work is done for it.
    public static func validate(_ publicKey: Data, for recipient: Recipient) throws(Failure) {
        _ = try encapsulate(publicKey, recipient)
    }

    public static func encrypt(_ input: URL, to output: URL, recipient: Recipient, publicKey: Data) throws {
        let (sharedSecret, encapsulated) = try encapsulate(publicKey, recipient)
        var header = magic + Data([recipient.code])
        header += Data([UInt8(encapsulated.count >> 8), UInt8(encapsulated.count & 0xFF)]) + encapsulated
        let (key, baseNonce) = derive(sharedSecret, encapsulated: encapsulated, code: recipient.code)

        FileManager.default.createFile(atPath: output.path, contents: nil, attributes: [.posixPermissions: 0o600])
        let reader = try FileHandle(forReadingFrom: input)
        let writer = try FileHandle(forWritingTo: output)
        defer {
            try? reader.close()
            try? writer.close()
        }
        try writer.write(contentsOf: header)
        var index: UInt64 = 0
        var chunk = try reader.read(upToCount: chunkSize) ?? Data()
        while true {
            let next = try reader.read(upToCount: chunkSize) ?? Data()
            let last = next.isEmpty
            let box = try AES.GCM.seal(
                chunk, using: key, nonce: nonce(baseNonce, index), authenticating: aad(header, index, last))
            let sealed = box.ciphertext + box.tag
            try writer.write(contentsOf: bigEndian(UInt32(sealed.count)) + sealed)
            if last { break }
            chunk = next
            index += 1
        }
    }

    /// For the subject's side (and the tests): `qspp export decrypt` uses this.
    public static func decrypt(_ input: URL, to output: URL, privateSeed: Data) throws {
        let reader = try FileHandle(forReadingFrom: input)
        defer { try? reader.close() }
        guard let start = try reader.read(upToCount: 9), start.count == 9, start.prefix(6) == magic,
            let recipient = Recipient.allCases.first(where: { $0.code == start[6] })
        else { throw Failure.malformed }
        let length = Int(start[7]) << 8 | Int(start[8])
        guard let encapsulated = try reader.read(upToCount: length), encapsulated.count == length else {
            throw Failure.malformed
        }
        let header = start + encapsulated
        let sharedSecret = try decapsulate(encapsulated, recipient, seed: privateSeed)
        let (key, baseNonce) = derive(sharedSecret, encapsulated: encapsulated, code: recipient.code)

        FileManager.default.createFile(atPath: output.path, contents: nil, attributes: [.posixPermissions: 0o600])
        let writer = try FileHandle(forWritingTo: output)
        defer { try? writer.close() }
        var index: UInt64 = 0
        while true {
            guard let lengthBytes = try reader.read(upToCount: 4), lengthBytes.count == 4 else {
                throw Failure.cannotDecrypt
            }
            let size = lengthBytes.reduce(0) { $0 << 8 | Int($1) }
            guard size >= 16, size <= chunkSize + 16, let sealed = try reader.read(upToCount: size),
                sealed.count == size
            else { throw Failure.cannotDecrypt }
            let atEnd = (try reader.read(upToCount: 1) ?? Data()).isEmpty
            if !atEnd { try reader.seek(toOffset: try reader.offset() - 1) }
            do {
                let box = try AES.GCM.SealedBox(
                    nonce: nonce(baseNonce, index), ciphertext: sealed.dropLast(16), tag: sealed.suffix(16))
                try writer.write(
                    contentsOf: try AES.GCM.open(box, using: key, authenticating: aad(header, index, atEnd)))
            } catch {
                throw Failure.cannotDecrypt
            }
            if atEnd { return }
            index += 1
        }
    }

    /// A new key pair for receiving exports: the 32-byte private seed and the public key.
    public static func generateKeyPair(_ recipient: Recipient) throws -> (privateSeed: Data, publicKey: Data) {
        let seed = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        switch recipient {
        case .xwing:
            return (
                seed,
                try XWingMLKEM768X25519.PrivateKey(seedRepresentation: seed, publicKey: nil).publicKey.rawRepresentation
            )
        case .mlkem768:
            let longSeed = SymmetricKey(size: .init(bitCount: 512)).withUnsafeBytes { Data($0) }
            return (
                longSeed,
                try MLKEM768.PrivateKey(seedRepresentation: longSeed, publicKey: nil).publicKey.rawRepresentation
            )
        }
    }

    private static func encapsulate(
        _ publicKey: Data, _ recipient: Recipient
    ) throws(Failure) -> (SymmetricKey, Data) {
        do {
            switch recipient {
            case .xwing:
                let result = try XWingMLKEM768X25519.PublicKey(rawRepresentation: publicKey).encapsulate()
                return (result.sharedSecret, result.encapsulated)
            case .mlkem768:
                let result = try MLKEM768.PublicKey(rawRepresentation: publicKey).encapsulate()
                return (result.sharedSecret, result.encapsulated)
            }
        } catch {
            throw .invalidPublicKey
        }
    }

    private static func decapsulate(_ encapsulated: Data, _ recipient: Recipient, seed: Data) throws -> SymmetricKey {
        do {
            switch recipient {
            case .xwing:
                return try XWingMLKEM768X25519.PrivateKey(seedRepresentation: seed, publicKey: nil).decapsulate(
                    encapsulated)
            case .mlkem768:
                return try MLKEM768.PrivateKey(seedRepresentation: seed, publicKey: nil).decapsulate(encapsulated)
            }
        } catch {
            throw Failure.cannotDecrypt
        }
    }

    private static func derive(_ secret: SymmetricKey, encapsulated: Data, code: UInt8) -> (SymmetricKey, Data) {
        let material = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: secret, salt: encapsulated, info: Data("qspp export v1".utf8) + Data([code]),
            outputByteCount: 44
        ).withUnsafeBytes { Data($0) }
        return (SymmetricKey(data: material.prefix(32)), material.suffix(12))
    }

    private static func nonce(_ base: Data, _ index: UInt64) -> AES.GCM.Nonce {
        var bytes = Array(base)
        let counter = Array(bigEndian(index))
        for offset in 0..<8 { bytes[4 + offset] ^= counter[offset] }
        return try! AES.GCM.Nonce(data: bytes)
    }

    private static func aad(_ header: Data, _ index: UInt64, _ last: Bool) -> Data {
        header + bigEndian(index) + Data([last ? 1 : 0])
    }

    private static func bigEndian<T: FixedWidthInteger>(_ value: T) -> Data {
        withUnsafeBytes(of: value.bigEndian) { Data($0) }
    }
}
