import Crypto
import Foundation
import HTTPTypes
import HummingbirdTesting
import Identity
import NIOCore
import Outbox
import PQCrypto
import QSPPTestSupport
import Testing

@testable import App
@testable import Services

/// The website SDK's server side beyond recording, through the real router on both backends: the SDK
/// itself served to other sites; a GPC signal sent alone; a visitor reading back and erasing their own
/// history with their token; an account taking a visitor's history over, audited, ledgered and
/// reported as `subject.merged`, and erased with it.
@Suite("Visitor history")
struct VisitorHistoryAPITests {
    typealias Pages = ConsentPropertyAPITests

    @Test func theSDKIsServedToEveryOriginUnderItsHashAndItsVersion() async throws {
        try await withApp(.sqlite, isolated: true) { api in
            let sdk = ConsentSDK.bundled
            let hashed = try await api.send(
                .get, sdk.hashedPath, token: nil, headers: [.origin: "https://shop.example"])
            #expect(hashed.status == .ok)
            let script = Data(hashed.body.readableBytesView)
            #expect(sdk.integrity == "sha384-" + Data(SHA384.hash(data: script)).base64EncodedString())
            #expect(sdk.hashedPath.contains(Hex.encode(SHA256.hash(data: script).prefix(8))))
            #expect(hashed.headers[.contentType] == "text/javascript; charset=utf-8")
            #expect(hashed.headers[.cacheControl] == "public, max-age=31536000, immutable")
            #expect(hashed.headers[.accessControlAllowOrigin] == "*")
            #expect(hashed.headers[HTTPField.Name("Cross-Origin-Resource-Policy")!] == "cross-origin")
            let stable = try await api.send(.get, ConsentSDK.stablePath, token: nil)
            #expect(Data(stable.body.readableBytesView) == script)
            #expect(stable.headers[.cacheControl] == "public, max-age=300")
            let etag = try #require(stable.headers[.eTag])
            let cached = try await api.send(.get, ConsentSDK.stablePath, token: nil, headers: [.ifNoneMatch: etag])
            #expect(cached.status == .notModified && cached.body.readableBytes == 0)
            for missing in ["/sdk/qspp-consent.0000000000000000.js", "/sdk/other.js", "/sdk/v2/qspp-consent.js"] {
                #expect(try await api.send(.get, missing, token: nil).status == .notFound, "\(missing)")
            }
            // Pages of the QSPP origin itself still may not be loaded by others.
            let asset = try await api.send(.get, "/assets/portal.css", token: nil)
            #expect(asset.headers[HTTPField.Name("Cross-Origin-Resource-Policy")!] == "same-origin")
            // The property's snippet pins this release.
            let id = try await Pages.property(api)
            let listed = try await api.send(.get, "/v1/admin/properties").object()["properties"] as? [[String: Any]]
            let snippet = try #require(listed?.first?["snippet"] as? String)
            #expect(snippet.contains(sdk.hashedPath) && snippet.contains(sdk.integrity))
            #expect(snippet.contains("data-qspp-property=\"\(id)\""))
        }
    }

    @Test(arguments: Backend.all)
    func aGPCSignalAloneWithdrawsSaleOrSharing(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { api in
            let id = try await Pages.property(api)
            let token = try await Pages.visit(api, id)
            let path = "/v1/properties/\(id)/consents"
            try await Pages.fromPage(api, .post, path, json: #"{"decisions":[]}"#, visitor: token)
                .expectProblem(.badRequest)
            try await Pages.fromPage(
                api, .post, path, json: #"{"decisions":[],"globalPrivacyControl":"yes"}"#, visitor: token
            ).expectProblem(.badRequest)
            let sent = try await Pages.fromPage(
                api, .post, path, json: #"{"decisions":[],"globalPrivacyControl":true}"#, visitor: token)
            #expect(sent.status == .created)
            let events = try sent.object()["events"] as? [[String: Any]] ?? []
            #expect(events.map { $0["purpose"] as? String }.contains("third_party_sharing"))
            #expect(events.allSatisfy { $0["decision"] as? String == "withdrawn" && $0["method"] as? String == "gpc" })
            // Said again, the signal has nothing left to withdraw.
            let again = try await Pages.fromPage(
                api, .post, path, json: #"{"decisions":[],"globalPrivacyControl":true}"#, visitor: token)
            #expect((try again.object()["events"] as? [Any])?.isEmpty == true)
        }
    }

    @Test(arguments: Backend.all)
    func aVisitorReadsBackAndErasesTheirHistoryWithTheirTokenAlone(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { api in
            let id = try await Pages.property(api)
            let token = try await Pages.visit(api, id)
            let other = try await Pages.visit(api, id)
            let path = "/v1/properties/\(id)/consents"
            #expect(
                try await Pages.fromPage(
                    api, .post, path, json: #"{"decisions":[{"purpose":"analytics","decision":"granted"}]}"#,
                    visitor: token
                ).status == .created)
            let me = "/v1/properties/\(id)/visitors/me"
            let history = try await Pages.fromPage(api, .get, me, visitor: token)
            #expect(history.status == .ok && history.headers[.accessControlAllowOrigin] == Pages.shop)
            let events = try history.object()["events"] as? [[String: Any]] ?? []
            #expect(events.count == 1 && events.first?["purpose"] as? String == "analytics")
            #expect(events.first?["sourceIp"] == nil && events.first?["userAgent"] == nil, "a token shows no origin")
            let receipt = try #require(events.first?["receipt"] as? String)
            #expect(try await Pages.fromPage(api, .get, receipt, visitor: token).status == .ok)
            #expect(
                (try await Pages.fromPage(api, .get, me, visitor: other).object()["events"] as? [Any])?.isEmpty == true)
            try await Pages.fromPage(api, .get, me, origin: "https://evil.example", visitor: token)
                .expectProblem(.forbidden)
            try await Pages.fromPage(api, .delete, me, origin: "https://evil.example", visitor: token)
                .expectProblem(.forbidden)
            try await Pages.fromPage(api, .delete, me, visitor: "v1.x.y.z").expectProblem(.unauthorized)
            let preflight = try await api.send(
                .options, me, token: nil,
                headers: [.origin: Pages.shop, .accessControlRequestMethod: "DELETE"])
            #expect(preflight.headers[.accessControlAllowMethods]?.contains("DELETE") == true)

            let erased = try await Pages.fromPage(api, .delete, me, visitor: token)
            #expect(erased.status == .ok, "\(String(buffer: erased.body))")
            let visitor = try #require(try erased.object()["visitorId"] as? String)
            #expect(try await api.services.store.erasures.erasure(of: "visitor:" + visitor) != nil)
            // The decision stays, pseudonymous; where it came from is gone, and so is the token.
            let kept = try await api.history("visitor:" + visitor)
            #expect(kept.count == 1 && kept.first?["userAgent"] == nil)
            try await Pages.fromPage(api, .get, me, visitor: token).expectProblem(.gone)
            try await Pages.fromPage(
                api, .post, path, json: #"{"decisions":[{"purpose":"analytics","decision":"granted"}]}"#,
                visitor: token
            ).expectProblem(.gone)
            #expect(try await Pages.fromPage(api, .get, me, visitor: other).status == .ok, "others are untouched")
        }
    }

    @Test(arguments: Backend.all)
    func anAccountTakesOverAVisitorsHistoryOnceAuditedAndReported(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { api in
            let hook = try await WebhookAPITests.register(
                api, #"{"url":"https://hooks.example/in","events":["subject.merged"]}"#)
            #expect(hook.status == .created)
            let id = try await Pages.property(api)
            let token = try await Pages.visit(api, id)
            let decided = try await Pages.fromPage(
                api, .post, "/v1/properties/\(id)/consents",
                json: #"{"decisions":[{"purpose":"analytics","decision":"granted"}]}"#, visitor: token)
            let eventID = try #require((try decided.object()["events"] as? [[String: Any]])?.first?["id"] as? String)
            let user = try await api.newUser(confirmed: true)
            let stranger = try await api.newUser()
            // Before: the decision's receipt is the visitor's, not the account's.
            try await api.send(.get, "/v1/consent-receipts/\(eventID)", token: user.accessToken).expectProblem(
                .notFound)

            for bad in [#"{"visitor":"v1.x.y.z"}"#, #"{"visitor":""}"#] {
                try await api.send(.post, "/v1/me/visitor-links", json: bad, token: user.accessToken)
                    .expectProblem(.unauthorized)
            }
            try await api.send(.post, "/v1/me/visitor-links", json: #"{"visitor":1}"#, token: user.accessToken)
                .expectProblem(.badRequest)
            try await api.send(.post, "/v1/me/visitor-links", json: #"{"visitor":"\#(token)"}"#, token: nil)
                .expectProblem(.unauthorized)

            let linked = try await api.send(
                .post, "/v1/me/visitor-links", json: #"{"visitor":"\#(token)"}"#, token: user.accessToken)
            #expect(linked.status == .ok, "\(String(buffer: linked.body))")
            let link = try linked.object()
            #expect(link["accountId"] as? String == user.id)
            let visitor = try #require(link["visitorId"] as? String)
            let again = try await api.send(
                .post, "/v1/me/visitor-links", json: #"{"visitor":"\#(token)"}"#, token: user.accessToken)
            #expect(try again.object()["linkedAt"] as? String == link["linkedAt"] as? String, "linked once")
            try await api.send(
                .post, "/v1/me/visitor-links", json: #"{"visitor":"\#(token)"}"#, token: stranger.accessToken
            ).expectProblem(.conflict)

            // Audited once, ledgered once, and the decision's receipt is now the account holder's too.
            let audit = try await api.services.identity.authEvents(userID: UUID(uuidString: user.id))
            #expect(audit.filter { $0.kind == .visitorLinked }.count == 1)
            #expect(audit.first { $0.kind == .visitorLinked }?.details["visitor"] == "visitor:" + visitor)
            #expect(try await api.services.store.ledger.ledgerSequence(reference: "merge:visitor:" + visitor) != nil)
            #expect(try await api.send(.get, "/v1/consent-receipts/\(eventID)", token: user.accessToken).status == .ok)
            try await api.send(.get, "/v1/consent-receipts/\(eventID)", token: stranger.accessToken)
                .expectProblem(.notFound)
            // Nothing is rewritten: the decision is still the visitor's.
            #expect(try await api.history("visitor:" + visitor).count == 1)
            #expect(try await api.history(user.id).isEmpty)
            // The account's export carries the website decisions, with the visitor they were made as.
            let export = try await api.send(.get, "/v1/me/export", token: user.accessToken)
            #expect(export.status == .ok)
            let files = try ExportAPITests.unzip(Data(export.body.readableBytesView))
            let rows = String(decoding: try #require(files["website-consent-events.jsonl"]), as: UTF8.self)
                .split(separator: "\n").map { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
            #expect(rows.count == 1)
            #expect(rows.first??["visitorId"] as? String == visitor && rows.first??["id"] as? String == eventID)

            // Queued for the endpoint (the server's own sender may already be trying it, so the queue is
            // read, not a sender of the test's).
            let dispatcher = WebhookDeliveryTests.dispatcher(api)
            while try await dispatcher.dispatchDue() > 0 {}
            let registered = try #require(try hook.object()["endpoint"] as? [String: Any])
            let endpoint = try #require((registered["id"] as? String).flatMap(UUID.init(uuidString:)))
            let merged = try await api.services.store.webhooks.webhookDeliveries(
                endpointID: endpoint, state: nil, limit: 10
            ).map { try #require(try JSONSerialization.jsonObject(with: $0.event.body) as? [String: Any]) }
            #expect(merged.count == 1)
            #expect(merged.first?["type"] as? String == "subject.merged")
            let data = merged.first?["data"] as? [String: Any]
            #expect(data?["subjectId"] as? String == user.id)
            #expect(data?["mergedSubjectId"] as? String == "visitor:" + visitor)
        }
    }

    @Test(arguments: Backend.all)
    func erasingAnAccountErasesTheVisitorsItTookOver(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { api in
            let id = try await Pages.property(api)
            let token = try await Pages.visit(api, id)
            let kept = try await Pages.visit(api, id)
            let user = try await api.newUser()
            let linked = try await api.send(
                .post, "/v1/me/visitor-links", json: #"{"visitor":"\#(token)"}"#, token: user.accessToken)
            let visitor = try #require(try linked.object()["visitorId"] as? String)
            let filed = try await api.send(
                .post, "/v1/me/requests", json: #"{"kind":"erasure"}"#, token: user.accessToken
            ).object()
            let request = try #require(filed["id"] as? String)
            try await api.send(.post, "/v1/requests/\(request)/transitions", json: #"{"status":"verified"}"#)
            #expect(try await api.send(.post, "/v1/requests/\(request)/erasure").status == .ok)
            #expect(try await api.services.store.erasures.erasure(of: "visitor:" + visitor) != nil)
            #expect(try await api.services.store.ledger.ledgerSequence(reference: "erasure:visitor:" + visitor) != nil)
            try await Pages.fromPage(api, .get, "/v1/properties/\(id)/visitors/me", visitor: token)
                .expectProblem(.gone)
            #expect(
                try await Pages.fromPage(api, .get, "/v1/properties/\(id)/visitors/me", visitor: kept).status == .ok)
        }
    }
}
