import Crypto
import Foundation
import Identity
import PQCrypto
import QSPPTestSupport
import Testing

/// The authorization endpoint's rules about time, on a clock the test moves: how recent a sign-in
/// `prompt=login` and `max_age` accept, and how long a code lives.
@Suite("Authorization flow over time")
struct AuthorizationFlowTests {
    typealias Fixture = OAuthClientTests.Fixture

    static let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

    static func request(
        _ client: OAuthClient, _ extra: [(name: String, value: String)] = []
    ) throws -> AuthorizationRequest {
        try AuthorizationRequest.checked(
            [
                ("response_type", "code"), ("client_id", client.id), ("redirect_uri", client.redirectURIs[0]),
                ("scope", "openid email"), ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
                ("code_challenge_method", "S256"),
            ] + extra, client: client)
    }

    static func register(_ fixture: Fixture) async throws -> OAuthClient {
        var registration = OAuthClientTests.webApp
        registration.requiresPushedRequests = false
        return try await fixture.identity.registerOAuthClient(
            registration, by: fixture.admin, password: nil, client: ClientInfo()
        ).client
    }

    @Test func maxAgeAndPromptLoginAskForAFreshSignIn() async throws {
        let fixture = try await Fixture()
        let client = try await Self.register(fixture)
        let identity = fixture.identity
        for extra in [[("max_age", "60")], [("prompt", "login")]] as [[(name: String, value: String)]] {
            let request = try Self.request(client, extra)
            guard
                case .consent = try await identity.authorize(
                    request, client: client, user: fixture.user, from: ClientInfo())
            else {
                Issue.record("a sign-in of a moment ago satisfies \(extra)")
                continue
            }
        }
        fixture.clock.advance(120)
        for extra in [[("max_age", "60")], [("prompt", "login")]] as [[(name: String, value: String)]] {
            let step = try await identity.authorize(
                try Self.request(client, extra), client: client, user: fixture.user, from: ClientInfo())
            guard case .signIn(again: true) = step else {
                Issue.record("a sign-in two minutes old satisfied \(extra)")
                continue
            }
        }
        let silent = try await identity.authorize(
            try Self.request(client, [("max_age", "60"), ("prompt", "none")]), client: client, user: fixture.user,
            from: ClientInfo())
        guard case .answer(let answer) = silent else {
            Issue.record("prompt=none with a stale sign-in must answer the client")
            return
        }
        #expect(answer.parameters.first { $0.name == "error" }?.value == "login_required")
        let lenient = try await identity.authorize(
            try Self.request(client, [("max_age", "600")]), client: client, user: fixture.user, from: ClientInfo())
        guard case .consent = lenient else {
            Issue.record("a two-minute-old sign-in satisfies max_age=600")
            return
        }
    }

    @Test func aCodeExpiresAfterAMinute() async throws {
        let fixture = try await Fixture()
        let client = try await Self.register(fixture)
        let identity = fixture.identity
        guard
            let secret = try await identity.rotateOAuthClientSecret(
                id: client.id, by: fixture.admin, password: nil, client: ClientInfo()
            ).secret
        else { throw CancellationError() }
        let authenticated = try await identity.authenticateClient(
            .init(id: client.id, secret: secret, method: .clientSecretBasic))
        for wait: TimeInterval in [59, 61] {
            let step = try await identity.authorize(
                try Self.request(client), client: client, user: fixture.user, decision: true, from: ClientInfo())
            guard case .answer(let answer) = step,
                let code = answer.parameters.first(where: { $0.name == "code" })?.value
            else { throw CancellationError() }
            fixture.clock.advance(wait)
            do {
                let issued = try await identity.exchangeCode(
                    code, redirectURI: client.redirectURIs[0], verifier: Self.verifier, client: authenticated,
                    from: ClientInfo())
                #expect(wait < 60 && issued.idToken != nil, "a code used after \(wait) s")
            } catch let error as OAuthError {
                #expect(wait > 60 && error.code == .invalidGrant, "\(wait) s: \(error)")
            }
        }
    }
}
