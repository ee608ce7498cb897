import Foundation
import Hummingbird
import Identity
import Kernel
import PQCrypto
import WebAuthn

/// Bytes sent as base64url text, as WebAuthn's JSON forms send them. Anything else is refused while
/// decoding, with the member's path.
struct Base64URLBytes: Codable, Sendable {
    var data: Data

    init(_ data: Data) { self.data = data }

    init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard text.count <= 64 * 1024, let data = Base64URL.decode(text) else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: decoder.codingPath, debugDescription: "must be base64url"))
        }
        self.data = data
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Base64URL.encode(data))
    }
}

/// `PublicKeyCredentialCreationOptionsJSON` (WebAuthn Level 3 §5.1.9): what the browser passes to
/// `PublicKeyCredential.parseCreationOptionsFromJSON()` and then to `navigator.credentials.create()`.
struct PasskeyCreationOptionsOutput: ResponseCodable {
    struct Party: Codable { var id: String, name: String }
    struct User: Codable { var id: Base64URLBytes, name: String, displayName: String }
    struct Parameter: Codable {
        var type = "public-key"
        var alg: Int
    }
    struct Descriptor: Codable {
        var type = "public-key"
        var id: Base64URLBytes
    }
    struct Selection: Codable {
        var residentKey = "required"
        var requireResidentKey = true
        var userVerification = "preferred"
    }

    var rp: Party
    var user: User
    var challenge: Base64URLBytes
    var pubKeyCredParams: [Parameter]
    var timeout: Int
    var excludeCredentials: [Descriptor]
    var authenticatorSelection = Selection()
    var attestation = "none"

    init(_ options: IdentityService.PasskeyCreationOptions) {
        rp = Party(id: options.relyingParty.id, name: options.relyingParty.name)
        user = User(
            id: Base64URLBytes(options.userHandle), name: options.userName, displayName: options.userDisplayName)
        challenge = Base64URLBytes(options.challenge)
        pubKeyCredParams = options.algorithms.map { Parameter(alg: $0.rawValue) }
        timeout = Int(options.timeout * 1000)
        excludeCredentials = options.excludeCredentials.map { Descriptor(id: Base64URLBytes($0)) }
    }
}

/// `PublicKeyCredentialRequestOptionsJSON` (WebAuthn Level 3 §5.1.10).
struct PasskeyRequestOptionsOutput: ResponseCodable {
    var challenge: Base64URLBytes
    var rpId: String
    var allowCredentials: [PasskeyCreationOptionsOutput.Descriptor]
    var userVerification: String
    var timeout: Int

    init(_ options: IdentityService.PasskeyRequestOptions) {
        challenge = Base64URLBytes(options.challenge)
        rpId = options.relyingPartyID
        allowCredentials = options.allowCredentials.map { .init(id: Base64URLBytes($0)) }
        userVerification = options.userVerificationRequired ? "required" : "preferred"
        timeout = Int(options.timeout * 1000)
    }
}

/// `RegistrationResponseJSON` (WebAuthn Level 3 §5.1): what `navigator.credentials.create()` returned,
/// as `PublicKeyCredential.toJSON()` writes it.
struct PasskeyRegistrationInput: Decodable {
    struct Response: Decodable {
        var clientDataJSON: Base64URLBytes
        var attestationObject: Base64URLBytes
    }
    var id: String
    var type: String
    var response: Response

    var registration: RelyingParty.Registration {
        get throws {
            guard type == "public-key" else { throw Problem.invalid("credential.type: must be public-key") }
            return RelyingParty.Registration(
                clientDataJSON: response.clientDataJSON.data, attestationObject: response.attestationObject.data)
        }
    }
}

/// `AuthenticationResponseJSON` (WebAuthn Level 3 §5.1).
struct PasskeyAssertionInput: Decodable {
    struct Response: Decodable {
        var clientDataJSON: Base64URLBytes
        var authenticatorData: Base64URLBytes
        var signature: Base64URLBytes
        var userHandle: Base64URLBytes?
    }
    var id: String
    var rawId: Base64URLBytes
    var type: String
    var response: Response

    var assertion: RelyingParty.Assertion {
        get throws {
            guard type == "public-key" else { throw Problem.invalid("credential.type: must be public-key") }
            guard Base64URL.decode(id) == rawId.data else {
                throw Problem.invalid("credential.id: must be rawId in base64url")
            }
            return RelyingParty.Assertion(
                credentialID: rawId.data, clientDataJSON: response.clientDataJSON.data,
                authenticatorData: response.authenticatorData.data, signature: response.signature.data,
                userHandle: response.userHandle?.data)
        }
    }
}

/// A passkey as its owner sees it: never the key.
struct PasskeyOutput: ResponseCodable {
    var id: String
    var name: String
    var algorithm: String
    var synced: Bool
    var attestation: String
    var createdAt: String
    var lastUsedAt: String?

    init(_ passkey: Passkey) {
        id = Base64URL.encode(passkey.id)
        name = passkey.name
        algorithm = COSEAlgorithm(rawValue: passkey.algorithm).map(Self.name) ?? String(passkey.algorithm)
        synced = passkey.backedUp
        attestation = passkey.attestation
        createdAt = RFC3339.string(from: passkey.createdAt)
        lastUsedAt = passkey.lastUsedAt.map(RFC3339.string(from:))
    }

    static func name(_ algorithm: COSEAlgorithm) -> String {
        switch algorithm {
        case .es256: "ES256"
        case .edDSA: "EdDSA"
        case .rs256: "RS256"
        case .mlDSA65: "ML-DSA-65"
        }
    }
}

struct PasskeyList: ResponseCodable {
    var passkeys: [PasskeyOutput]
}
