import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import Identity
import NIOCore
import Outbox
import PQCrypto
import QSPPTestSupport
import Synchronization
import Testing

@testable import App
@testable import Services

/// Webhook deliveries: the dispatcher and the sender driven by hand against a transport that records
/// what it is given: the events, their signatures and order, retries, dead deliveries, replay, and an
/// endpoint disabled with its administrator told. The server's own sender posts through the same
/// transport, so whichever sender leases a delivery, the test sees it. Not in the split topology, whose
/// consent role runs its own sender on the same tables.
@Suite("Webhook delivery")
struct WebhookDeliveryTests {
    /// Records every post, answering with the status of the moment.
    final class RecordingTransport: WebhookTransport {
        struct Post: Sendable {
            let body: Data
            let headers: [String: String]
            let url: String
        }
        let posts = Mutex<[Post]>([])
        let status = Mutex<UInt>(204)

        func post(_ body: Data, headers: [(String, String)], to url: String) async throws(DeliveryFailure) -> UInt {
            let fields = Dictionary(headers.map { ($0.0.lowercased(), $0.1) }) { first, _ in first }
            posts.withLock { $0.append(Post(body: body, headers: fields, url: url)) }
            return status.withLock { $0 }
        }
    }

    static func dispatcher(_ api: API) -> WebhookDispatcher {
        WebhookDispatcher(
            webhooks: api.services.store.webhooks, ledger: api.services.store.ledger,
            source: WebhookEventSource(
                requests: api.services.store.privacy, tasks: api.services.store.requestTasks,
                issuer: api.services.settings.issuer),
            ring: api.services.identity.tokens.keyRing, issuer: api.services.settings.issuer, now: { Date() })
    }

    static func sender(
        _ api: API, _ transport: RecordingTransport, policy: OutboxRetryPolicy = .init()
    )
        -> WebhookSender
    {
        WebhookSender(
            webhooks: api.services.store.webhooks, transport: transport,
            secrets: WebhookSecrets(webhooks: api.services.store.webhooks, masterKey: api.services.settings.masterKey),
            identity: api.services.identity, policy: policy, metrics: api.services.metrics, logger: testLogger,
            now: { Date() })
    }

    /// Deliveries neither delivered nor dead yet, over every endpoint.
    static func pending(_ api: API) async throws -> Int {
        var count = 0
        for endpoint in try await api.services.store.webhooks.webhookEndpoints() {
            count += try await api.services.store.webhooks.webhookDeliveries(
                endpointID: endpoint.id, state: .pending, limit: 1000
            ).count
        }
        return count
    }

    @Test(arguments: Backend.all)
    func eventsArriveSignedAndInOrder(backend: Backend) async throws {
        let transport = RecordingTransport()
        try await withApp(backend, isolated: true, webhookTransport: transport) { api in
            let created = try await WebhookAPITests.register(
                api,
                #"{"url":"https://hooks.example/in","events":["consent.granted","consent.withdrawn","purpose.notice_published","request.created"],"purposes":["marketing"]}"#
            )
            let secret = try #require(try created.object()["secret"] as? String)
            let (ana, ben) = (uniqueSubjectText(), uniqueSubjectText())
            var sequences: [String: [Int]] = [:]
            for (subject, purpose, decision) in [
                (ana, "marketing", "granted"), (ben, "marketing", "granted"), (ana, "analytics", "granted"),
                (ana, "marketing", "withdrawn"), (ben, "marketing", "withdrawn"), (ana, "marketing", "granted"),
            ] {
                let recorded = try await api.send(
                    .post, "/v1/subjects/\(subject)/consents",
                    json: #"{"purpose":"\#(purpose)","decision":"\#(decision)"}"#)
                let event = try #require((try recorded.object()["events"] as? [[String: Any]])?.first)
                if purpose == "marketing" {
                    sequences[subject, default: []].append(try #require(event["ledgerSequence"] as? Int))
                }
            }
            #expect(
                try await api.send(.post, "/v1/purposes/marketing/notices", json: #"{"text":"New."}"#).status
                    == .created)
            let user = try await api.newUser()
            #expect(
                try await api.send(.post, "/v1/me/requests", json: #"{"kind":"access"}"#, token: user.accessToken)
                    .status == .created)

            let dispatcher = Self.dispatcher(api)
            while try await dispatcher.dispatchDue() > 0 {}
            let sender = Self.sender(api, transport)
            while try await sender.sendDue() > 0 {}
            try await waitUntil("every event was posted", timeout: .seconds(60)) {
                try await Self.pending(api) == 0 && transport.posts.withLock { $0.count } >= 7
            }

            let posts = transport.posts.withLock { $0 }
            let key = try #require(StandardWebhookSignature.key(secret))
            let jwks = try await api.send(.get, "/.well-known/jwks.json", token: nil)
            let verifier = try OfflineJWSVerifier(jwks: Data(jwks.body.readableBytesView))
            var arrived: [String: [Int]] = [:]
            var types: [String] = []
            for post in posts {
                let id = try #require(post.headers["webhook-id"])
                let timestamp = try #require(post.headers["webhook-timestamp"].flatMap(Int64.init))
                #expect(post.url == "https://hooks.example/in")
                #expect(
                    post.headers["webhook-signature"]
                        == StandardWebhookSignature.header(key: key, id: id, timestamp: timestamp, body: post.body))
                let statement = try verifier.verify(
                    try #require(post.headers["webhook-signature-jws"]), type: "webhook+jwt")
                let claims = try #require(try JSONSerialization.jsonObject(with: statement.payload) as? [String: Any])
                #expect(claims["id"] as? String == id)
                #expect(claims["body_sha256"] as? String == Base64URL.encode(Data(SHA256.hash(data: post.body))))
                let payload = try #require(try JSONSerialization.jsonObject(with: post.body) as? [String: Any])
                let type = try #require(payload["type"] as? String)
                types.append(type)
                #expect(claims["type"] as? String == type)
                let data = try #require(payload["data"] as? [String: Any])
                if type.hasPrefix("consent.") {
                    #expect(data["purpose"] as? String == "marketing", "the purpose filter holds")
                    let subject = try #require(data["subjectId"] as? String)
                    arrived[subject, default: []].append(try #require(Int(id.dropFirst(4))))
                }
            }
            #expect(arrived == sequences, "every marketing decision, once each, in order per subject")
            #expect(types.filter { $0 == "purpose.notice_published" }.count == 1)
            #expect(types.filter { $0 == "request.created" }.count == 1)
            #expect(posts.count == 7)
            #expect(try await sender.sendDue() == 0, "nothing is sent twice")
        }
    }

    @Test(arguments: Backend.all)
    func aFailingEndpointIsRetriedThenDisabledAndItsAdministratorTold(backend: Backend) async throws {
        let transport = RecordingTransport()
        transport.status.withLock { $0 = 500 }
        let policy = OutboxRetryPolicy(maximumAttempts: 2, firstDelay: 0.01, longestDelay: 0.01)
        try await withApp(
            backend, isolated: true, webhookTransport: transport, configure: { $0.webhooks.retry = policy }
        ) { api in
            let created = try await WebhookAPITests.register(
                api, #"{"url":"https://hooks.example/in","events":["consent.granted"]}"#)
            let id = try #require((try created.object()["endpoint"] as? [String: Any])?["id"] as? String)
            let subject = uniqueSubjectText()
            #expect(
                try await api.send(
                    .post, "/v1/subjects/\(subject)/consents", json: #"{"purpose":"marketing","decision":"granted"}"#
                )
                .status == .created)
            while try await Self.dispatcher(api).dispatchDue() > 0 {}
            let sender = Self.sender(api, transport, policy: policy)
            // The disabling is recorded after the delivery dies, by whichever sender took it.
            try await waitUntil("the delivery died and its endpoint was disabled", timeout: .seconds(60)) {
                try await sender.sendDue()
                return try await api.services.identity.authEvents(userID: nil, limit: 20).contains {
                    $0.kind == .webhookDisabled
                }
            }
            #expect(transport.posts.withLock { $0.count } == 2, "two attempts, then dead")

            let log = try await api.send(.get, "/v1/admin/webhooks/\(id)/deliveries?state=dead", token: api.adminToken)
            let dead = try #require((try log.object()["deliveries"] as? [[String: Any]])?.first)
            #expect(dead["attempts"] as? Int == 2 && dead["lastError"] as? String == "the endpoint answered 500")
            let endpoint = try await api.send(.get, "/v1/admin/webhooks/\(id)", token: api.adminToken).object()
            #expect(endpoint["enabled"] as? Bool == false, "nothing ever arrived: the endpoint is disabled")
            // Pending, or already taken by the server's mail sender.
            var mail: [QueuedMailStatus] = []
            for state in OutboxState.allCases {
                mail += try await api.services.store.mailOutbox.mails(in: state, limit: 50)
            }
            #expect(mail.contains { $0.template == .webhookDisabled }, "its administrator is told")

            // Replayed and enabled, it arrives; replaying what is not dead is refused.
            let deliveryID = try #require(dead["id"] as? String)
            try await api.send(.post, "/v1/admin/webhooks/\(id)/deliveries/\(UUID())/replay", token: api.adminToken)
                .expectProblem(.conflict)
            let replay = "/v1/admin/webhooks/\(id)/deliveries/\(deliveryID)/replay"
            #expect(try await api.send(.post, replay, token: api.adminToken).status == .accepted)
            try await api.send(.post, replay, token: api.adminToken).expectProblem(.conflict)
            #expect(try await sender.sendDue() == 0, "a disabled endpoint waits")
            _ = try await api.send(
                .patch, "/v1/admin/webhooks/\(id)", json: #"{"enabled":true}"#, token: api.adminToken)
            transport.status.withLock { $0 = 200 }
            try await waitUntil("the replay was delivered") {
                try await sender.sendDue()
                return try await Self.pending(api) == 0
            }
            #expect(transport.posts.withLock { $0.count } == 3, "the replay, once")
            let delivered = try await api.send(
                .get, "/v1/admin/webhooks/\(id)/deliveries?state=delivered", token: api.adminToken)
            #expect((try delivered.object()["deliveries"] as? [[String: Any]])?.count == 1)
            try await api.send(.get, "/v1/admin/webhooks/\(id)/deliveries?state=lost", token: api.adminToken)
                .expectProblem(.badRequest)
        }
    }

    @Test(arguments: Backend.all)
    func aRequestsTaskGoesToItsSystemsEndpointAlone(backend: Backend) async throws {
        let transport = RecordingTransport()
        try await withApp(backend, isolated: true, webhookTransport: transport) { api in
            let system = try await RequestFanOutAPITests.endpoint(api)
            let bystander = try await WebhookAPITests.register(
                api, #"{"url":"https://other.example/in","events":["request.created","request.completed"]}"#)
            #expect(bystander.status == .created)
            try await WebhookAPITests.register(api, #"{"url":"https://x.example/in","events":["request.task"]}"#)
                .expectProblem(.badRequest)
            _ = try await RequestFanOutAPITests.system(api, "CRM", system)
            let user = try await api.newUser()
            let request = try await RequestFanOutAPITests.verifiedRequest("erasure", user, api)
            let task = try #require(try await RequestFanOutAPITests.tasks(api, request)["CRM"]?["id"] as? String)

            let dispatcher = Self.dispatcher(api)
            while try await dispatcher.dispatchDue() > 0 {}
            let sender = Self.sender(api, transport)
            while try await sender.sendDue() > 0 {}
            try await waitUntil("the task was posted", timeout: .seconds(60)) {
                let posted = transport.posts.withLock { $0.map { String(decoding: $0.body, as: UTF8.self) } }
                return try await Self.pending(api) == 0 && posted.contains { $0.contains(#""request.task""#) }
            }

            var tasks: [(post: RecordingTransport.Post, data: [String: Any])] = []
            for post in transport.posts.withLock({ $0 }) {
                let payload = try #require(try JSONSerialization.jsonObject(with: post.body) as? [String: Any])
                if payload["type"] as? String == "request.task" {
                    tasks.append((post, try #require(payload["data"] as? [String: Any])))
                }
            }
            #expect(tasks.count == 1, "one task, to its system's endpoint only")
            let (post, data) = try #require(tasks.first)
            #expect(post.url == "https://systems.example/qspp")
            #expect(data["taskId"] as? String == task && data["requestId"] as? String == request)
            #expect(data["action"] as? String == "erase" && data["kind"] as? String == "erasure")
            #expect(data["subjectId"] as? String == user.id && data["system"] as? String == "CRM")
            #expect((data["answerUrl"] as? String)?.hasSuffix("/v1/request-tasks/\(task)/answer") == true)
            let id = try #require(post.headers["webhook-id"])
            let timestamp = try #require(post.headers["webhook-timestamp"].flatMap(Int64.init))
            #expect(post.headers["webhook-signature"] == system.key.sign(id: id, timestamp: timestamp, body: post.body))
            #expect(data["state"] as? String == "open")

            // Rejected, the request's open task is cancelled, and its system told so.
            #expect(
                try await api.send(
                    .post, "/v1/requests/\(request)/transitions", json: #"{"status":"rejected","reason":"a duplicate"}"#
                ).status == .ok)
            try await api.services.fanOut.runDue()
            while try await dispatcher.dispatchDue() > 0 {}
            // Whichever sender takes it, the cancellation is queued for the system's endpoint.
            let endpointID = try #require(UUID(uuidString: system.id))
            let queued = try await api.services.store.webhooks.webhookDeliveries(
                endpointID: endpointID, state: nil, limit: 50)
            let cancellations = try queued.filter { $0.event.kind == .requestTask }.compactMap { delivery in
                let payload = try JSONSerialization.jsonObject(with: delivery.event.body) as? [String: Any]
                let data = payload?["data"] as? [String: Any]
                return data?["state"] as? String == "cancelled" ? data : nil
            }
            #expect(cancellations.count == 1 && cancellations.first?["taskId"] as? String == task)
        }
    }
}
