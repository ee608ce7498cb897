import Crypto
import Foundation
import PQCrypto

/// A C2SP `tlog-checkpoint`: the origin that names the log, the tree's size and its root hash. Its
/// text is what a checkpoint's signatures sign.
public struct TreeCheckpoint: Sendable, Equatable {
    public var origin: String
    public var size: Int64
    public var root: Data

    public init(origin: String, size: Int64, root: Data) {
        self.origin = origin
        self.size = size
        self.root = root
    }

    public var text: String { "\(origin)\n\(size)\n\(root.base64EncodedString())\n" }

    /// The checkpoint a note's text states; extension lines after the root are allowed and ignored.
    public init?(text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard text.hasSuffix("\n"), lines.count >= 4, !lines[0].isEmpty,
            let size = Int64(lines[1]), size >= 0, String(size) == lines[1],
            let root = Data(base64Encoded: String(lines[2])), root.count == 32
        else { return nil }
        self.init(origin: String(lines[0]), size: size, root: root)
    }
}

/// A C2SP signed note: text, then one signature line per key.
public struct SignedNote: Sendable, Equatable {
    public struct Signature: Sendable, Equatable {
        public var name: String
        public var keyID: UInt32
        public var bytes: Data

        public init(name: String, keyID: UInt32, bytes: Data) {
            self.name = name
            self.keyID = keyID
            self.bytes = bytes
        }

        /// `— name base64(key id ‖ signature)` and a newline.
        public var line: String {
            var encoded = withUnsafeBytes(of: keyID.bigEndian) { Data($0) }
            encoded.append(bytes)
            return "\u{2014} \(name) \(encoded.base64EncodedString())\n"
        }
    }

    /// Ends in a newline.
    public var text: String
    public var signatures: [Signature]

    public init(text: String, signatures: [Signature]) {
        self.text = text
        self.signatures = signatures
    }

    /// Signature lines kept from a note: the C2SP minimum is 16, and an ML-DSA-65 line is over 4 KB.
    public static let maximumSignatures = 64
    public static let maximumSize = 512 * 1024

    public var formatted: String {
        text + "\n" + signatures.map(\.line).joined()
    }

    /// Parses a note strictly: valid UTF-8 with no control characters but newlines, the text separated
    /// from the signatures by its last blank line, and every signature line well formed.
    public init?(parsing note: String) {
        guard note.utf8.count <= Self.maximumSize, note.hasSuffix("\n"),
            !note.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" }),
            let split = note.range(of: "\n\n", options: .backwards)
        else { return nil }
        let text = String(note[..<split.lowerBound]) + "\n"
        let lines = note[split.upperBound...].split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        guard !lines.isEmpty, lines.count <= Self.maximumSignatures else { return nil }
        var signatures: [Signature] = []
        for line in lines {
            let parts = line.split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 3, parts[0] == "\u{2014}", Self.isValidKeyName(String(parts[1])),
                let bytes = Data(base64Encoded: String(parts[2])), bytes.count > 4
            else { return nil }
            let keyID = bytes.prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            signatures.append(Signature(name: String(parts[1]), keyID: keyID, bytes: Data(bytes.dropFirst(4))))
        }
        self.init(text: text, signatures: signatures)
    }

    /// C2SP: non-empty, with no Unicode space and no `+`.
    public static func isValidKeyName(_ name: String) -> Bool {
        !name.isEmpty && !name.unicodeScalars.contains { $0 == "+" || $0.properties.isWhitespace }
    }
}

/// A public key that signs notes, as a verifier pins it. Ed25519 is C2SP's type 0x01, which Go's
/// `sumdb/note` and existing witnesses verify; ML-DSA-65 has no assigned type yet, so it takes 0xff
/// followed by a name of its own, as C2SP advises. A witness's Ed25519 key is type 0x04: it makes
/// C2SP `cosignature/v1` signatures, which are timestamped.
public struct NoteVerifierKey: Sendable, Equatable {
    public enum Algorithm: Sendable, Equatable {
        case ed25519, mldsa65, ed25519Cosignature

        var typePrefix: Data {
            switch self {
            case .ed25519: Data([0x01])
            case .mldsa65: Data([0xff]) + Data("qspp-ml-dsa-65".utf8)
            case .ed25519Cosignature: Data([0x04])
            }
        }
    }

    public let name: String
    public let algorithm: Algorithm
    public let publicKey: Data

    public init?(name: String, algorithm: Algorithm, publicKey: Data) {
        guard SignedNote.isValidKeyName(name) else { return nil }
        switch algorithm {
        case .ed25519, .ed25519Cosignature:
            guard (try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey)) != nil else { return nil }
        case .mldsa65: guard (try? MLDSA65.PublicKey(rawRepresentation: publicKey)) != nil else { return nil }
        }
        self.name = name
        self.algorithm = algorithm
        self.publicKey = publicKey
    }

    /// SHA-256(name ‖ 0x0A ‖ type ‖ public key), its first four bytes big-endian.
    public var keyID: UInt32 {
        var hasher = SHA256()
        hasher.update(data: Data(name.utf8) + [0x0A] + algorithm.typePrefix + publicKey)
        return hasher.finalize().prefix(4).reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// The verifier key as Go's `sumdb/note` writes it: `name+hex key id+base64(type ‖ public key)`.
    public var text: String {
        name + "+" + String(format: "%08x", keyID) + "+" + (algorithm.typePrefix + publicKey).base64EncodedString()
    }

    public init?(text: String) {
        // Base64 may hold `+`; the name may not.
        let parts = text.split(separator: "+", maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count == 3, parts[1].count == 8, let id = UInt32(parts[1], radix: 16),
            let encoded = Data(base64Encoded: String(parts[2]))
        else { return nil }
        let algorithm: Algorithm
        if encoded.starts(with: Algorithm.mldsa65.typePrefix) {
            algorithm = .mldsa65
        } else if encoded.first == 0x01 {
            algorithm = .ed25519
        } else if encoded.first == 0x04 {
            algorithm = .ed25519Cosignature
        } else {
            return nil
        }
        let key = encoded.dropFirst(algorithm.typePrefix.count)
        guard let parsed = NoteVerifierKey(name: String(parts[0]), algorithm: algorithm, publicKey: Data(key)),
            parsed.keyID == id
        else { return nil }
        self = parsed
    }

    /// Whether `keys` vouch for `note`: at least one of them signed it, and no line naming one of them
    /// fails to verify.
    public static func vouch(for note: SignedNote, by keys: [NoteVerifierKey]) -> Bool {
        let known = keys.filter { key in note.signatures.contains { $0.name == key.name && $0.keyID == key.keyID } }
        return !known.isEmpty && known.allSatisfy { $0.hasSigned(note) }
    }

    /// Whether `note` carries a valid signature by this key. A signature line naming this key that does
    /// not verify is a failure, whatever else the note holds.
    public func hasSigned(_ note: SignedNote) -> Bool {
        let mine = note.signatures.filter { $0.name == name && $0.keyID == keyID }
        return !mine.isEmpty && mine.allSatisfy { verify($0.bytes, text: note.text) }
    }

    /// Whether `signature` signs `text`: directly, or for a cosignature, the `cosignature/v1` message of
    /// its timestamp and the text.
    func verify(_ signature: Data, text: String) -> Bool {
        switch algorithm {
        case .ed25519:
            (try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey))?.isValidSignature(
                signature, for: Data(text.utf8)) ?? false
        case .mldsa65:
            (try? MLDSA65.PublicKey(rawRepresentation: publicKey))?.isValidSignature(signature, for: Data(text.utf8))
                ?? false
        case .ed25519Cosignature:
            signature.count == 72
                && (try? Curve25519.Signing.PublicKey(rawRepresentation: publicKey))?.isValidSignature(
                    signature.dropFirst(8),
                    for: NoteCosigner.message(text, timestamp: signature.prefix(8).reduce(0) { $0 << 8 | UInt64($1) }))
                    ?? false
        }
    }
}

/// A private key that signs notes. Made from a `SigningKey`, so its seed is handled as every other key's.
public struct NoteSigner: Sendable {
    public let verifierKey: NoteVerifierKey
    private let key: SigningKey

    public init(name: String, key: SigningKey) throws(PQCryptoError) {
        let algorithm: NoteVerifierKey.Algorithm = key.algorithm == .mldsa65 ? .mldsa65 : .ed25519
        guard let verifierKey = NoteVerifierKey(name: name, algorithm: algorithm, publicKey: key.publicKey) else {
            throw .invalidKeyMaterial
        }
        self.verifierKey = verifierKey
        self.key = key
    }

    public func sign(_ text: String) throws -> SignedNote.Signature {
        let message = Data(text.utf8)
        let bytes: Data
        switch verifierKey.algorithm {
        case .ed25519, .ed25519Cosignature:
            bytes = try Curve25519.Signing.PrivateKey(rawRepresentation: key.privateSeed).signature(for: message)
        case .mldsa65:
            bytes = try MLDSA65.PrivateKey(seedRepresentation: key.privateSeed, publicKey: nil).signature(for: message)
        }
        return SignedNote.Signature(name: verifierKey.name, keyID: verifierKey.keyID, bytes: bytes)
    }
}
