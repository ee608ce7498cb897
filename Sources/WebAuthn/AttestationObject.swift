import Crypto
public import Foundation

/// How far a new credential's origin is known (WebAuthn Level 3 §6.5): `none` says nothing, `self`
/// proves that the authenticator holds the key it registers, and `untrusted` is a statement in
/// another format (or with a certificate chain) that is stored as sent but not checked against any
/// manufacturer's roots.
public enum AttestationTrust: String, Sendable, CaseIterable {
    case none
    case selfAttested = "self"
    case untrusted
}

/// The attestation object of a registration: its format, its statement and the authenticator data
/// with the new credential.
public struct AttestationObject: Sendable {
    public let format: String
    public let statement: CBORValue
    public let authenticatorData: AuthenticatorData

    /// The formats IANA registers (WebAuthn Level 3 §8). Any other is refused; those besides `none`
    /// and `packed` are kept as ``AttestationTrust/untrusted``.
    public static let registeredFormats: Set<String> = [
        "none", "packed", "tpm", "android-key", "android-safetynet", "fido-u2f", "apple", "compound",
    ]

    /// Larger than any key and statement of the algorithms here (an ML-DSA-65 key and signature fit).
    public static let maximumLength = 16 * 1024

    public init(_ bytes: Data) throws(WebAuthnError) {
        guard bytes.count <= Self.maximumLength else {
            throw WebAuthnError(.malformedAttestation, "longer than any authenticator writes")
        }
        let object = try CBORDecoder().decode(bytes)
        guard case .map(let entries) = object, entries.count == 3, let format = object["fmt"]?.text,
            let statement = object["attStmt"], case .map = statement, let authData = object["authData"]?.bytes
        else { throw WebAuthnError(.malformedAttestation, "not a map of fmt, attStmt and authData") }
        guard Self.registeredFormats.contains(format) else {
            throw WebAuthnError(.malformedAttestation, "an attestation format that is not registered")
        }
        self.format = format
        self.statement = statement
        authenticatorData = try AuthenticatorData(authData)
    }

    /// Checks the statement against the credential it registers, for `none` and `packed`
    /// self-attestation; every other statement is untrusted, never refused for what it says.
    public func verify(clientDataHash: Data) throws(WebAuthnError) -> AttestationTrust {
        guard let credential = authenticatorData.credential else {
            throw WebAuthnError(.malformedAttestation, "no attested credential")
        }
        switch format {
        case "none":
            guard statement == .map([]) else { throw WebAuthnError(.malformedAttestation, "a statement with none") }
            return .none
        case "packed":
            guard let alg = statement["alg"]?.int, let signature = statement["sig"]?.bytes else {
                throw WebAuthnError(.malformedAttestation, "a packed statement without alg and sig")
            }
            if statement["x5c"] != nil { return .untrusted }
            guard case .map(let entries) = statement, entries.count == 2 else {
                throw WebAuthnError(.malformedAttestation, "a packed statement with unknown members")
            }
            guard alg == credential.publicKey.algorithm.rawValue else {
                throw WebAuthnError(.invalidAttestation, "self-attestation with another algorithm than the key's")
            }
            guard credential.publicKey.isValidSignature(signature, for: authenticatorData.bytes + clientDataHash)
            else { throw WebAuthnError(.invalidAttestation, "a self-attestation signature that does not verify") }
            return .selfAttested
        default:
            return .untrusted
        }
    }
}
