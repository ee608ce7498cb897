import Foundation
import HTTPTypes
import HummingbirdTesting
import Identity
import NIOCore
import Outbox
import QSPPTestSupport
import Testing

@testable import App

/// Webhook endpoints through the real router on both backends: registration and its refusals,
/// pausing, rotating, deleting, and who may do it.
@Suite("Webhooks")
struct WebhookAPITests {
    static func register(_ api: API, _ json: String, token: String? = nil) async throws -> TestResponse {
        try await api.send(.post, "/v1/admin/webhooks", json: json, token: token ?? api.adminToken)
    }

    @Test(arguments: Backend.all)
    func adminsRegisterAndRunEndpoints(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { api in
            let created = try await Self.register(
                api, #"{"url":"https://hooks.example/in","description":"CRM","events":["consent.granted"]}"#)
            #expect(created.status == .created, "\(String(buffer: created.body))")
            let body = try created.object()
            let secret = try #require(body["secret"] as? String)
            #expect(secret.hasPrefix("whsec_") && StandardWebhookSignature.key(secret) != nil)
            let endpoint = try #require(body["endpoint"] as? [String: Any])
            let id = try #require(endpoint["id"] as? String)
            #expect(endpoint["enabled"] as? Bool == true && endpoint["events"] as? [String] == ["consent.granted"])
            #expect(endpoint["secret"] == nil)

            let listed = try await api.send(.get, "/v1/admin/webhooks", token: api.adminToken).object()
            #expect((listed["endpoints"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
            let paused = try await api.send(
                .patch, "/v1/admin/webhooks/\(id)", json: #"{"enabled":false}"#, token: api.adminToken)
            #expect(try paused.object()["enabled"] as? Bool == false)
            #expect(try paused.object()["disabledReason"] as? String == "disabled by an administrator")
            let resumed = try await api.send(
                .patch, "/v1/admin/webhooks/\(id)", json: #"{"enabled":true}"#, token: api.adminToken)
            #expect(try resumed.object()["enabled"] as? Bool == true)
            let rotated = try await api.send(.post, "/v1/admin/webhooks/\(id)/secret", token: api.adminToken)
            #expect(try rotated.object()["secret"] as? String != secret)

            // Only administrators.
            let user = try await api.newUser()
            try await api.send(.get, "/v1/admin/webhooks", token: user.accessToken).expectProblem(.forbidden)
            try await Self.register(
                api, #"{"url":"https://a.example","events":["consent.granted"]}"#, token: user.accessToken
            )
            .expectProblem(.forbidden)
            try await api.send(.get, "/v1/admin/webhooks", token: nil).expectProblem(.unauthorized)

            #expect(try await api.send(.delete, "/v1/admin/webhooks/\(id)", token: api.adminToken).status == .noContent)
            try await api.send(.get, "/v1/admin/webhooks/\(id)", token: api.adminToken).expectProblem(.notFound)
            try await api.send(.get, "/v1/admin/webhooks/not-an-id", token: api.adminToken).expectProblem(.notFound)

            let audit = try await api.services.identity.authEvents(userID: nil, limit: 50).map(\.kind)
            for kind in [
                AuthEvent.Kind.webhookRegistered, .webhookDisabled, .webhookEnabled, .webhookSecretRotated,
                .webhookDeleted,
            ] {
                #expect(audit.contains(kind), "\(kind)")
            }
        }
    }

    @Test(arguments: Backend.all)
    func badRegistrationsAreRefusedAndChangeNothing(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { api in
            let long = String(repeating: "a", count: 2001)
            for body in [
                #"{"url":"http://hooks.example/in","events":["consent.granted"]}"#,
                #"{"url":"https://127.0.0.1/in","events":["consent.granted"]}"#,
                #"{"url":"https://10.1.2.3/in","events":["consent.granted"]}"#,
                #"{"url":"https://[::1]/in","events":["consent.granted"]}"#,
                #"{"url":"https://169.254.169.254/latest","events":["consent.granted"]}"#,
                #"{"url":"https://localhost/in","events":["consent.granted"]}"#,
                #"{"url":"https://user:pw@hooks.example/in","events":["consent.granted"]}"#,
                #"{"url":"https://hooks.example/in#x","events":["consent.granted"]}"#,
                #"{"url":"not a url","events":["consent.granted"]}"#,
                #"{"url":"https://hooks.example/\#(long)","events":["consent.granted"]}"#,
                #"{"url":"https://hooks.example/in","events":[]}"#,
                #"{"url":"https://hooks.example/in","events":["consent.changed"]}"#,
                #"{"url":"https://hooks.example/in","events":["consent.granted"],"purposes":["no_such_purpose"]}"#,
                #"{"url":"https://hooks.example/in","events":["consent.granted"],"description":"\#(String(repeating: "d", count: 201))"}"#,
                #"{"url":"https://hooks.example/in","events":["consent.granted"],"secret":"mine"}"#,
                #"{"events":["consent.granted"]}"#,
            ] {
                try await Self.register(api, body).expectProblem(.badRequest)
            }
            #expect(try await api.services.store.webhooks.webhookEndpoints().isEmpty)
        }
    }
}
