import Crypto
import Foundation

/// A witness's key: it makes C2SP `cosignature/v1` signatures, Ed25519 over `cosignature/v1`, the time
/// and the checkpoint's text, so every cosignature says when the witness vouched for that tree.
public struct NoteCosigner: Sendable {
    public let verifierKey: NoteVerifierKey
    private let key: Curve25519.Signing.PrivateKey

    public init?(name: String, seed: Data) {
        guard let key = try? Curve25519.Signing.PrivateKey(rawRepresentation: seed),
            let verifierKey = NoteVerifierKey(
                name: name, algorithm: .ed25519Cosignature, publicKey: key.publicKey.rawRepresentation)
        else { return nil }
        self.key = key
        self.verifierKey = verifierKey
    }

    public func cosign(_ text: String, at date: Date) throws -> SignedNote.Signature {
        let timestamp = UInt64(max(0, date.timeIntervalSince1970.rounded(.down)))
        var bytes = withUnsafeBytes(of: timestamp.bigEndian) { Data($0) }
        bytes.append(try key.signature(for: Self.message(text, timestamp: timestamp)))
        return SignedNote.Signature(name: verifierKey.name, keyID: verifierKey.keyID, bytes: bytes)
    }

    static func message(_ text: String, timestamp: UInt64) -> Data {
        Data("cosignature/v1\ntime \(timestamp)\n\(text)".utf8)
    }
}

/// Which witnesses a verifier trusts, and how many of them must have cosigned a checkpoint: with a
/// quorum of more than half, two different trees of one size can never both reach it.
public struct WitnessPolicy: Sendable, Equatable {
    public let witnesses: [NoteVerifierKey]
    public let quorum: Int

    public init(witnesses: [NoteVerifierKey], quorum: Int) {
        self.witnesses = witnesses
        self.quorum = min(max(quorum, 0), witnesses.count)
    }

    public static let none = WitnessPolicy(witnesses: [], quorum: 0)

    /// The witnesses whose valid cosignature `note` carries.
    public func cosigners(of note: SignedNote) -> [NoteVerifierKey] {
        witnesses.filter { $0.hasSigned(note) }
    }

    public func isSatisfied(by note: SignedNote) -> Bool {
        cosigners(of: note).count >= quorum
    }
}
