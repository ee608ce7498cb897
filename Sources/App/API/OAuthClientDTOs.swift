import Foundation
import Hummingbird
import Identity
import Kernel
import PQCrypto

/// A client as an administrator registers it. Members not listed here are refused, and every value is
/// checked against the values OAuth defines, so a typo is an error rather than a client that silently
/// lacks what was meant.
struct OAuthClientInput: Decodable {
    var name: String
    var kind: String
    var tokenEndpointAuthMethod: String?
    var redirectUris: [String]?
    var grantTypes: [String]
    var scopes: [String]
    var backchannelLogoutUri: String?
    var postLogoutRedirectUris: [String]?
    var requirePushedAuthorizationRequests: Bool?
    var idTokenSignedResponseAlg: String?
    var jwks: KeySet?
    var currentPassword: String?

    /// A JWK Set (RFC 7517 §5). Members that are not strings (`key_ops`, `ext`) say nothing QSPP checks,
    /// and are left out.
    struct KeySet: Codable {
        var keys: [[String: String]]

        init(keys: [[String: String]]) { self.keys = keys }

        init(from decoder: any Decoder) throws {
            struct Member: Decodable {
                let text: String?
                init(from decoder: any Decoder) throws {
                    text = try? decoder.singleValueContainer().decode(String.self)
                }
            }
            struct Keys: Decodable { let keys: [[String: Member]] }
            keys = try Keys(from: decoder).keys.map { $0.compactMapValues(\.text) }
        }
    }

    enum CodingKeys: String, CodingKey {
        case name, kind, tokenEndpointAuthMethod, redirectUris, grantTypes, scopes, backchannelLogoutUri, jwks
        case postLogoutRedirectUris, requirePushedAuthorizationRequests, idTokenSignedResponseAlg, currentPassword
    }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        kind = try container.decode(String.self, forKey: .kind)
        tokenEndpointAuthMethod = try container.decodeIfPresent(String.self, forKey: .tokenEndpointAuthMethod)
        redirectUris = try container.decodeIfPresent([String].self, forKey: .redirectUris)
        grantTypes = try container.decode([String].self, forKey: .grantTypes)
        scopes = try container.decode([String].self, forKey: .scopes)
        backchannelLogoutUri = try container.decodeIfPresent(String.self, forKey: .backchannelLogoutUri)
        postLogoutRedirectUris = try container.decodeIfPresent([String].self, forKey: .postLogoutRedirectUris)
        requirePushedAuthorizationRequests = try container.decodeIfPresent(
            Bool.self, forKey: .requirePushedAuthorizationRequests)
        idTokenSignedResponseAlg = try container.decodeIfPresent(String.self, forKey: .idTokenSignedResponseAlg)
        jwks = try container.decodeIfPresent(KeySet.self, forKey: .jwks)
        currentPassword = try container.decodeIfPresent(String.self, forKey: .currentPassword)
    }

    func registration() throws -> OAuthClientRegistration {
        OAuthClientRegistration(
            name: name, kind: try Self.one(OAuthClient.Kind.self, kind, "kind"),
            authentication: try tokenEndpointAuthMethod.map {
                try Self.one(OAuthClient.Authentication.self, $0, "tokenEndpointAuthMethod")
            },
            redirectURIs: redirectUris ?? [],
            grantTypes: try Self.set(OAuthClient.GrantType.self, grantTypes, "grantTypes"),
            scopes: try Self.set(OAuthClient.Scope.self, scopes, "scopes"),
            backChannelLogoutURI: backchannelLogoutUri, postLogoutRedirectURIs: postLogoutRedirectUris ?? [],
            requiresPushedRequests: requirePushedAuthorizationRequests ?? false,
            idTokenAlgorithm: try idTokenSignedResponseAlg.map {
                try Self.one(SigningAlgorithm.self, $0, "idTokenSignedResponseAlg")
            } ?? .mldsa65, keys: jwks?.keys ?? [])
    }

    private static func one<Value: RawRepresentable<String> & CaseIterable>(
        _: Value.Type, _ text: String, _ field: String
    ) throws -> Value {
        guard let value = Value(rawValue: text) else {
            throw IdentityError.invalidField(
                field, "must be one of \(Value.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", "))")
        }
        return value
    }

    static func set<Value: RawRepresentable<String> & CaseIterable & Hashable>(
        _ type: Value.Type, _ texts: [String], _ field: String
    ) throws -> Set<Value> {
        guard Set(texts).count == texts.count else { throw IdentityError.invalidField(field, "names a value twice") }
        return Set(try texts.map { try one(type, $0, field) })
    }
}

struct OAuthClientOutput: ResponseCodable {
    var clientId: String
    var name: String
    var kind: String
    var tokenEndpointAuthMethod: String
    var redirectUris: [String]
    var grantTypes: [String]
    var scopes: [String]
    var backchannelLogoutUri: String?
    var postLogoutRedirectUris: [String]
    var requirePushedAuthorizationRequests: Bool
    var idTokenSignedResponseAlg: String
    var jwks: OAuthClientInput.KeySet?
    var createdAt: String
    var createdBy: String

    init(_ client: OAuthClient) {
        clientId = client.id
        name = client.name
        kind = client.kind.rawValue
        tokenEndpointAuthMethod = client.authentication.rawValue
        redirectUris = client.redirectURIs
        grantTypes = client.grantTypes.sorted().map(\.rawValue)
        scopes = client.scopes.sorted().map(\.rawValue)
        backchannelLogoutUri = client.backChannelLogoutURI
        postLogoutRedirectUris = client.postLogoutRedirectURIs
        requirePushedAuthorizationRequests = client.requiresPushedRequests
        idTokenSignedResponseAlg = client.idTokenAlgorithm.rawValue
        jwks = client.keys.isEmpty ? nil : OAuthClientInput.KeySet(keys: client.keys)
        createdAt = RFC3339.string(from: client.createdAt)
        createdBy = client.createdBy.lowercasedString
    }
}

/// A client with the secret just made for it, which is not shown again.
struct IssuedClientOutput: ResponseCodable {
    var client: OAuthClientOutput
    var clientSecret: String?

    init(_ issued: IdentityService.IssuedClient) {
        client = OAuthClientOutput(issued.client)
        clientSecret = issued.secret
    }
}

struct OAuthClientList: ResponseCodable {
    var clients: [OAuthClientOutput]
}
