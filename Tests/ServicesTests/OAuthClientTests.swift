import Foundation
import Identity
import PQCrypto
import QSPPTestSupport
import Testing

/// Registering OAuth clients: only administrators, with fresh proof of themselves, each change audited;
/// and every rule between a client's kind, authentication, grants and URIs refuses its breach.
@Suite("OAuth clients")
struct OAuthClientTests {
    struct Fixture {
        let clock = TestClock()
        let repository = InMemoryIdentityRepository()
        let identity: IdentityService
        let admin: AuthenticatedUser
        let user: AuthenticatedUser

        init() async throws {
            identity = try await InMemoryServices.identity(over: repository, clock: clock)
            let administrator = try await identity.createAdministrator(
                email: "oauth-admin@example.com", password: testPassword)
            admin = try await Self.signIn(identity, "oauth-admin@example.com", roles: administrator.roles)
            _ = try await identity.register(
                email: "oauth-user@example.com", password: testPassword, client: ClientInfo())
            user = try await Self.signIn(identity, "oauth-user@example.com", roles: [.user])
        }

        static func signIn(
            _ identity: IdentityService, _ email: String, roles: Set<Role>
        ) async throws
            -> AuthenticatedUser
        {
            guard
                case .authenticated(let grant) = try await identity.login(
                    email: email, password: testPassword, rememberMe: false, client: ClientInfo())
            else { throw CancellationError() }
            return AuthenticatedUser(
                userID: grant.account.id, sessionID: grant.sessionID, roles: roles, authenticationMethods: ["pwd"])
        }
    }

    static let webApp = OAuthClientRegistration(
        name: "  Shop  ", kind: .confidential, redirectURIs: ["https://shop.example/callback"],
        grantTypes: [.authorizationCode, .refreshToken], scopes: [.openid, .email], requiresPushedRequests: true,
        idTokenAlgorithm: .ed25519)

    @Test func anAdministratorRegistersRotatesAndDeletesAndEachStepIsAudited() async throws {
        let fixture = try await Fixture()
        let identity = fixture.identity
        let issued = try await identity.registerOAuthClient(
            Self.webApp, by: fixture.admin, password: nil, client: ClientInfo())
        let client = issued.client
        let secret = try #require(issued.secret)
        #expect(client.name == "Shop" && client.authentication == .clientSecretBasic)
        #expect(client.secretDigest == OpaqueSecret.digest(secret) && secret.count == 43)
        #expect(client.id.count == 22 && client.createdBy == fixture.admin.userID)
        #expect(try await identity.oauthClients(by: fixture.admin) == [client])
        #expect(try await identity.oauthClient(id: client.id, by: fixture.admin) == client)

        let rotated = try await identity.rotateOAuthClientSecret(
            id: client.id, by: fixture.admin, password: nil, client: ClientInfo())
        let newSecret = try #require(rotated.secret)
        #expect(newSecret != secret)
        #expect(
            try await identity.oauthClient(id: client.id, by: fixture.admin).secretDigest
                == OpaqueSecret.digest(newSecret))

        try await identity.deleteOAuthClient(id: client.id, by: fixture.admin, password: nil, client: ClientInfo())
        #expect(try await identity.oauthClients(by: fixture.admin).isEmpty)
        await #expect(throws: IdentityError.oauthClientNotFound) {
            _ = try await identity.oauthClient(id: client.id, by: fixture.admin)
        }
        await #expect(throws: IdentityError.oauthClientNotFound) {
            try await identity.deleteOAuthClient(id: client.id, by: fixture.admin, password: nil, client: ClientInfo())
        }
        let audit = try await identity.authEvents(userID: fixture.admin.userID, limit: 20)
        let kinds = audit.filter { $0.details["client_id"] == client.id }.map(\.kind)
        #expect(Set(kinds) == [.oauthClientRegistered, .oauthClientSecretRotated, .oauthClientDeleted])
        #expect(audit.first { $0.kind == .oauthClientRegistered }?.details["scopes"] == "email openid")
        #expect(!audit.contains { $0.details.values.contains(secret) || $0.details.values.contains(newSecret) })
        // Each event has its ledger entry.
        #expect(
            fixture.repository.ledgerReferences.filter { ref in
                audit.contains { "auth:" + $0.id.uuidString.lowercased() == ref }
            }.count >= 3)
    }

    @Test func onlyAnAdministratorWithFreshProofMayChangeClients() async throws {
        let fixture = try await Fixture()
        let identity = fixture.identity
        await #expect(throws: IdentityError.forbidden) {
            _ = try await identity.registerOAuthClient(
                Self.webApp, by: fixture.user, password: nil, client: ClientInfo())
        }
        await #expect(throws: IdentityError.forbidden) { _ = try await identity.oauthClients(by: fixture.user) }
        fixture.clock.advance(IdentityService.stepUpWindow + 1)
        await #expect(throws: IdentityError.recentAuthenticationRequired) {
            _ = try await identity.registerOAuthClient(
                Self.webApp, by: fixture.admin, password: nil, client: ClientInfo())
        }
        await #expect(throws: IdentityError.invalidCredentials) {
            _ = try await identity.registerOAuthClient(
                Self.webApp, by: fixture.admin, password: "not the password", client: ClientInfo())
        }
        let issued = try await identity.registerOAuthClient(
            Self.webApp, by: fixture.admin, password: testPassword, client: ClientInfo())
        await #expect(throws: IdentityError.recentAuthenticationRequired) {
            try await identity.deleteOAuthClient(
                id: issued.client.id, by: fixture.admin, password: nil, client: ClientInfo())
        }
        await #expect(throws: IdentityError.recentAuthenticationRequired) {
            _ = try await identity.rotateOAuthClientSecret(
                id: issued.client.id, by: fixture.admin, password: nil, client: ClientInfo())
        }
        #expect(try await identity.oauthClients(by: fixture.admin).count == 1)
    }

    @Test func aPublicClientHasNoSecretAndNoMachineGrants() async throws {
        let fixture = try await Fixture()
        let spa = OAuthClientRegistration(
            name: "Single-page app", kind: .public, redirectURIs: ["http://127.0.0.1:8123/cb"],
            grantTypes: [.authorizationCode], scopes: [.openid])
        let issued = try await fixture.identity.registerOAuthClient(
            spa, by: fixture.admin, password: nil, client: ClientInfo())
        #expect(issued.secret == nil && issued.client.secretDigest == nil && issued.client.authentication == .none)
        await #expect(
            throws: IdentityError.invalidField(
                "tokenEndpointAuthMethod", "only a client that authenticates with a secret has one to rotate")
        ) {
            _ = try await fixture.identity.rotateOAuthClientSecret(
                id: issued.client.id, by: fixture.admin, password: nil, client: ClientInfo())
        }
    }

    /// Each broken rule, and the field it is reported under.
    @Test(arguments: [
        (
            OAuthClientRegistration(name: " ", kind: .confidential, grantTypes: [.clientCredentials], scopes: [.admin]),
            "name"
        ),
        (
            OAuthClientRegistration(
                name: "a\u{7}b", kind: .confidential, grantTypes: [.clientCredentials], scopes: [.admin]), "name"
        ),
        (
            OAuthClientRegistration(
                name: String(repeating: "n", count: 101), kind: .confidential, grantTypes: [.clientCredentials],
                scopes: [.admin]), "name"
        ),
        (
            OAuthClientRegistration(
                name: "x", kind: .public, authentication: .clientSecretBasic, redirectURIs: ["https://a.example/cb"],
                grantTypes: [.authorizationCode], scopes: [.openid]), "tokenEndpointAuthMethod"
        ),
        (
            OAuthClientRegistration(
                name: "x", kind: .confidential, authentication: OAuthClient.Authentication.none,
                grantTypes: [.clientCredentials], scopes: [.admin]), "tokenEndpointAuthMethod"
        ),
        (
            OAuthClientRegistration(name: "x", kind: .public, grantTypes: [.clientCredentials], scopes: [.admin]),
            "grantTypes"
        ),
        (
            OAuthClientRegistration(
                name: "x", kind: .public, redirectURIs: ["https://a.example/cb"],
                grantTypes: [.authorizationCode, .tokenExchange], scopes: [.openid]), "grantTypes"
        ),
        (OAuthClientRegistration(name: "x", kind: .confidential, grantTypes: [], scopes: [.admin]), "grantTypes"),
        (
            OAuthClientRegistration(
                name: "x", kind: .confidential, grantTypes: [.refreshToken, .clientCredentials], scopes: [.admin]),
            "grantTypes"
        ),
        (
            OAuthClientRegistration(
                name: "x", kind: .confidential, grantTypes: [.authorizationCode], scopes: [.openid]), "redirectUris"
        ),
        (
            OAuthClientRegistration(
                name: "x", kind: .confidential, redirectURIs: ["https://a.example/cb"],
                grantTypes: [.clientCredentials], scopes: [.admin]), "redirectUris"
        ),
        (
            OAuthClientRegistration(
                name: "x", kind: .confidential, redirectURIs: ["https://a.example/cb", "https://a.example/cb"],
                grantTypes: [.authorizationCode], scopes: [.openid]), "redirectUris"
        ),
        (
            OAuthClientRegistration(
                name: "x", kind: .confidential, redirectURIs: (0...10).map { "https://a.example/\($0)" },
                grantTypes: [.authorizationCode], scopes: [.openid]), "redirectUris"
        ),
        (
            OAuthClientRegistration(name: "x", kind: .confidential, grantTypes: [.clientCredentials], scopes: []),
            "scopes"
        ),
        (
            OAuthClientRegistration(
                name: "x", kind: .confidential, grantTypes: [.clientCredentials], scopes: [.admin],
                backChannelLogoutURI: "https://a.example/logout"), "backchannelLogoutUri"
        ),
        (
            OAuthClientRegistration(
                name: "x", kind: .confidential, redirectURIs: ["https://a.example/cb"],
                grantTypes: [.authorizationCode], scopes: [.openid], backChannelLogoutURI: "http://a.example/logout"),
            "backchannelLogoutUri"
        ),
        (
            OAuthClientRegistration(
                name: "Shop\u{202E}", kind: .confidential, grantTypes: [.clientCredentials], scopes: [.admin]), "name"
        ),
        (
            OAuthClientRegistration(
                name: "x", kind: .confidential, grantTypes: [.clientCredentials], scopes: [.openid]), "scopes"
        ),
        (
            OAuthClientRegistration(
                name: "x", kind: .confidential, redirectURIs: ["https://a.example/cb"],
                grantTypes: [.authorizationCode], scopes: [.openid, .offlineAccess]), "scopes"
        ),
        (
            OAuthClientRegistration(
                name: "x", kind: .public, redirectURIs: ["https://a.example/cb"], grantTypes: [.authorizationCode],
                scopes: [.openid, .consentWrite]), "scopes"
        ),
        (
            OAuthClientRegistration(
                name: "x", kind: .public, redirectURIs: ["https://a.example/cb"], grantTypes: [.authorizationCode],
                scopes: [.admin]), "scopes"
        ),
        (
            OAuthClientRegistration(
                name: "x", kind: .confidential, grantTypes: [.clientCredentials], scopes: [.consentRead],
                requiresPushedRequests: true), "requirePushedAuthorizationRequests"
        ),
        (
            OAuthClientRegistration(
                name: "x", kind: .confidential, redirectURIs: ["https://a.example/cb"],
                grantTypes: [.authorizationCode], scopes: [.consentRead],
                backChannelLogoutURI: "https://a.example/logout"), "backchannelLogoutUri"
        ),
        (
            OAuthClientRegistration(
                name: "x", kind: .confidential, redirectURIs: ["https://a.example/cb"],
                grantTypes: [.authorizationCode], scopes: [.openid], backChannelLogoutURI: "https://192.168.1.9/logout"),
            "backchannelLogoutUri"
        ),
        (
            OAuthClientRegistration(
                name: "x", kind: .confidential, redirectURIs: ["https://a.example/cb?state=1"],
                grantTypes: [.authorizationCode], scopes: [.openid]), "redirectUris"
        ),
    ])
    func aBrokenRuleIsRefusedByName(registration: OAuthClientRegistration, field: String) async throws {
        let fixture = try await Fixture()
        do {
            _ = try await fixture.identity.registerOAuthClient(
                registration, by: fixture.admin, password: nil, client: ClientInfo())
            Issue.record("registered \(registration)")
        } catch let error as IdentityError {
            #expect(error.kind == .invalidField && error.description.hasPrefix(field + ":"), "\(error)")
        }
        #expect(try await fixture.identity.oauthClients(by: fixture.admin).isEmpty)
    }

    /// A redirect URI is compared character for character, so only forms an attacker cannot vary are
    /// registered.
    @Test func onlyExactHTTPSOrLoopbackURIsAreAccepted() {
        for good in [
            "https://shop.example/callback", "https://shop.example:8443/a/b?x=1&next=%2Fhome",
            "http://127.0.0.1/cb", "http://127.0.0.1:51234/cb", "http://[::1]:9000/cb",
            "https://xn--shp-8ma.example/cb",
            "https://shop.example/Call.Back/..x",
        ] {
            #expect(OAuthClientRegistration.problem(withURI: good) == nil, "\(good)")
        }
        for good in ["https://shop.example/logout", "https://auth.shop.example:8443/bc"] {
            #expect(OAuthClientRegistration.problem(withLogoutURI: good) == nil, "\(good)")
        }
        for bad in [
            "http://127.0.0.1/logout", "https://127.0.0.1/logout", "https://10.0.0.7/logout", "https://[::1]/logout",
            "https://localhost/logout", "https://a.localhost/logout", "http://shop.example/logout",
        ] {
            #expect(OAuthClientRegistration.problem(withLogoutURI: bad) != nil, "\(bad)")
        }
        for bad in [
            "http://shop.example/callback", "https://shop.example/cb#frag", "https://shop.example/cb#",
            "https://user:pw@shop.example/cb", "https://user@shop.example/cb", "/callback", "shop.example/cb",
            "https:///cb", "https://shop.example/c b", "https://shop.example/cb\n", "javascript:alert(1)",
            "com.example.app:/cb", "ftp://shop.example/cb", "http://localhost:3000/cb",
            "HTTPS://shop.example/cb", "https://Shop.Example/cb", "https://sh\u{43F}p.example/cb",
            "https://shop.example\u{200B}/cb", "https://shop.example/cb\u{202E}", "https://shop.example/cb\"><script>",
            "https://shop.example/cb\\..\\x", "https://shop.example/cb/../x", "https://shop.example/cb/%2E%2e/x",
            "https://shop.example/./cb", "https://%73hop.example/cb", "https://shop.example:443/cb",
            "https://shop.example:0443/cb", "https://shop.example:99999/cb", "https://shop.example:/cb",
            "http://127.0.0.1:80/cb", "https://shop.example/cb?code=x", "https://shop.example/cb?a=1&state=y",
            "https://shop.example/cb?iss=https://evil.example",
            "https://shop.example/" + String(repeating: "a", count: 2000),
            "", "https://",
        ] {
            #expect(OAuthClientRegistration.problem(withURI: bad) != nil, "\(bad)")
        }
    }
}
