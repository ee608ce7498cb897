public import Foundation
import PQCrypto

/// What the browser says about a ceremony (`clientDataJSON`, WebAuthn Level 3 §5.8.1): its type, the
/// challenge it answers and the origin of the page that asked. Read strictly: a JSON object of bounded
/// size whose members have the types the specification gives them.
public struct ClientData: Sendable {
    public enum CeremonyType: String, Sendable {
        case create = "webauthn.create"
        case get = "webauthn.get"
    }

    public let type: CeremonyType
    public let challenge: Data
    public let origin: String
    /// Whether the page that asked was in a frame of another origin.
    public let crossOrigin: Bool
    public let topOrigin: String?
    /// The bytes as the browser sent them: their hash is what the authenticator signed.
    public let bytes: Data

    /// Longer than any browser writes, short enough that no one can make us parse much.
    public static let maximumLength = 4096

    private struct Members: Decodable {
        var type: String
        var challenge: String
        var origin: String
        var crossOrigin: Bool?
        var topOrigin: String?
    }

    public init(_ bytes: Data) throws(WebAuthnError) {
        guard bytes.count <= Self.maximumLength, let members = try? JSONDecoder().decode(Members.self, from: bytes)
        else { throw WebAuthnError(.malformedClientData, "not a JSON object of bounded size with its members") }
        guard let type = CeremonyType(rawValue: members.type) else { throw WebAuthnError(.wrongCeremony) }
        guard let challenge = Base64URL.decode(members.challenge), !challenge.isEmpty else {
            throw WebAuthnError(.malformedClientData, "no base64url challenge")
        }
        self.type = type
        self.challenge = challenge
        origin = members.origin
        crossOrigin = members.crossOrigin ?? false
        topOrigin = members.topOrigin
        self.bytes = bytes
    }
}
