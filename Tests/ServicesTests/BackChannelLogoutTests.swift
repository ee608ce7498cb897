import Foundation
import Identity
import Logging
import Outbox
import PQCrypto
import QSPPTestSupport
import Services
import Synchronization
import Testing

/// OpenID Connect Back-Channel Logout: ending a person's session queues a notice for each application
/// session started from it, and the sender posts each client a logout token it can check.
@Suite("Back-channel logout")
struct BackChannelLogoutTests {
    typealias Fixture = OAuthClientTests.Fixture

    /// Records what it was given, and fails as it is told to.
    final class RecordingTransport: LogoutTokenTransport {
        let delivered = Mutex<[(token: String, uri: String)]>([])
        let failures = Mutex<[DeliveryFailure]>([])

        func deliver(_ token: String, to uri: String) async throws(DeliveryFailure) {
            if let failure = failures.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { throw failure }
            delivered.withLock { $0.append((token, uri)) }
        }
    }

    static let endpoint = "https://shop.example/backchannel-logout"

    /// A client with a back-channel endpoint, and the sid of the application session `fixture.user`
    /// started with it.
    static func signedIn(
        _ fixture: Fixture, algorithm: SigningAlgorithm, endpoint: String? = endpoint
    ) async throws -> (client: OAuthClient, sid: String) {
        var registration = OAuthClientTests.webApp
        registration.requiresPushedRequests = false
        registration.backChannelLogoutURI = endpoint
        registration.idTokenAlgorithm = algorithm
        let issued = try await fixture.identity.registerOAuthClient(
            registration, by: fixture.admin, password: nil, client: ClientInfo())
        let client = issued.client
        let authenticated = try await fixture.identity.authenticateClient(
            .init(id: client.id, secret: try #require(issued.secret), method: .clientSecretBasic))
        guard
            case .answer(let answer) = try await fixture.identity.authorize(
                try AuthorizationFlowTests.request(client), client: client, user: fixture.user, decision: true,
                from: ClientInfo()),
            let code = answer.parameters.first(where: { $0.name == "code" })?.value
        else { throw CancellationError() }
        let tokens = try await fixture.identity.exchangeCode(
            code, redirectURI: client.redirectURIs[0], verifier: AuthorizationFlowTests.verifier,
            client: authenticated, from: ClientInfo())
        let idToken = try #require(tokens.idToken)
        let claims = try Self.claims(of: idToken, type: "JWT", fixture)
        return (client, try #require(claims["sid"] as? String))
    }

    static func claims(of token: String, type: String, _ fixture: Fixture) throws -> [String: Any] {
        let jwks = try JSONSerialization.data(withJSONObject: ["keys": fixture.identity.tokens.jwks])
        let verified = try OfflineJWSVerifier(jwks: jwks).verify(token, type: type)
        return try #require(try JSONSerialization.jsonObject(with: verified.payload) as? [String: Any])
    }

    static func sender(_ fixture: Fixture, _ transport: RecordingTransport) -> BackChannelLogoutSender {
        BackChannelLogoutSender(
            notices: fixture.repository, identity: fixture.identity, transport: transport,
            policy: OutboxRetryPolicy(maximumAttempts: 3, firstDelay: 30, longestDelay: 60),
            logger: Logger(label: "test"), now: { fixture.clock.now })
    }

    @Test(arguments: [SigningAlgorithm.mldsa65, .ed25519, .es256])
    func signingOutTellsTheClientWithATokenItCanCheck(algorithm: SigningAlgorithm) async throws {
        let fixture = try await Fixture()
        let (client, sid) = try await Self.signedIn(fixture, algorithm: algorithm)
        let transport = RecordingTransport()
        let sender = Self.sender(fixture, transport)
        #expect(try await sender.sendDue() == 0, "nothing ended yet")

        try await fixture.identity.logout(user: fixture.user, everywhere: false, client: ClientInfo())
        #expect(try await sender.sendDue() == 1)
        let delivered = transport.delivered.withLock { $0 }
        try #require(delivered.count == 1)
        #expect(delivered[0].uri == Self.endpoint)
        let claims = try Self.claims(of: delivered[0].token, type: "logout+jwt", fixture)
        #expect(claims["iss"] as? String == fixture.identity.tokens.issuer)
        #expect(claims["aud"] as? [String] == [client.id] || claims["aud"] as? String == client.id)
        #expect(claims["sub"] as? String == fixture.user.userID.lowercasedString)
        #expect(claims["sid"] as? String == sid)
        #expect(claims["nonce"] == nil, "a logout token must not carry a nonce")
        #expect(claims["jti"] as? String != nil)
        let events = try #require(claims["events"] as? [String: Any])
        #expect(events["http://schemas.openid.net/event/backchannel-logout"] as? [String: Any] != nil)
        let issuedAt = try #require(claims["iat"] as? Double)
        let expiry = try #require(claims["exp"] as? Double)
        #expect(expiry > issuedAt && expiry - issuedAt <= 120)
        #expect(fixture.repository.queuedLogoutNotices.isEmpty, "a delivered notice is forgotten")
        #expect(try await sender.sendDue() == 0, "and not sent again")
    }

    @Test func aFailedDeliveryIsTriedAgainLaterAndARefusalIsFinal() async throws {
        let fixture = try await Fixture()
        _ = try await Self.signedIn(fixture, algorithm: .ed25519)
        let transport = RecordingTransport()
        transport.failures.withLock {
            $0 = [
                DeliveryFailure("no answer", permanent: false),
                DeliveryFailure("the relying party answered 400", permanent: true),
            ]
        }
        let sender = Self.sender(fixture, transport)
        try await fixture.identity.logout(user: fixture.user, everywhere: false, client: ClientInfo())

        #expect(try await sender.sendDue() == 1)
        #expect(try await sender.sendDue() == 0, "a failed notice waits for its backoff")
        fixture.clock.advance(31)
        #expect(try await sender.sendDue() == 1)
        let notices = fixture.repository.queuedLogoutNotices
        #expect(notices.count == 1 && notices[0].dead && notices[0].attempts == 2, "\(notices)")
        fixture.clock.advance(3600)
        #expect(try await sender.sendDue() == 0, "dead stays dead")
        #expect(transport.delivered.withLock { $0 }.isEmpty)
    }

    @Test func noOneIsToldWhenTheClientListensNowhereOrIsGone() async throws {
        let fixture = try await Fixture()
        let (client, _) = try await Self.signedIn(fixture, algorithm: .es256)
        let transport = RecordingTransport()
        let sender = Self.sender(fixture, transport)
        try await fixture.identity.logout(user: fixture.user, everywhere: false, client: ClientInfo())
        try await fixture.identity.deleteOAuthClient(
            id: client.id, by: fixture.admin, password: nil, client: ClientInfo())
        #expect(try await sender.sendDue() == 1)
        #expect(transport.delivered.withLock { $0 }.isEmpty)
        #expect(fixture.repository.queuedLogoutNotices.isEmpty, "the notice for a deleted client is dropped")

        // A client without an endpoint never has a notice queued.
        let other = try await Fixture()
        _ = try await Self.signedIn(other, algorithm: .ed25519, endpoint: nil)
        try await other.identity.logout(user: other.user, everywhere: false, client: ClientInfo())
        #expect(other.repository.queuedLogoutNotices.isEmpty)
    }
}
