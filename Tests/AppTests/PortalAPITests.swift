import Foundation
import HTTPTypes
import HummingbirdTesting
import QSPPTestSupport
import Testing

/// Upstream portal clients keep working: same paths, shapes and status codes.
@Suite("Portal seed routes")
struct PortalAPITests {
    @Test(arguments: Backend.all)
    func upstreamAuthAndConsentFlowsKeepTheirShapes(backend: Backend) async throws {
        try await withApp(backend) { api in
            let email = "portal-\(UUID().uuidString.lowercased())@example.com"
            let registered = try await api.send(
                .post, "/portal/auth/register", json: #"{"email":"\#(email)","password":"Pa;ss1234 and more"}"#,
                token: nil)
            // Upstream answered 201 with the new id, and 409 for a taken email; that told anyone which
            // emails have accounts, so both now get the same 202.
            #expect(registered.status == .accepted)
            #expect(Set(try registered.object().keys) == ["status", "message"])
            let again = try await api.send(
                .post, "/portal/auth/register", json: #"{"email":"\#(email)","password":"Pa;ss1234 and more"}"#,
                token: nil)
            #expect(again.status == .accepted)
            #expect(Set(try again.object().keys) == ["status", "message"])

            // Upstream's SQL-pattern filter refused passwords like this one; the real login does not.
            let login = try await api.login(email, password: "Pa;ss1234 and more", path: "/portal/auth/login")
            #expect(login.status == .ok)
            let body = try login.object()
            #expect(body["status"] as? String == "success")
            #expect(body["message"] is String)
            let userID = try #require((body["user"] as? [String: Any])?["id"] as? String)
            #expect(UUID(uuidString: userID) != nil)
            #expect((body["user"] as? [String: Any])?["email"] as? String == email)
            #expect(body["refreshToken"] == nil)
            let accessToken = try #require(body["accessToken"] as? String)
            let cookie = try #require(login.headers[.setCookie])
            let refreshToken = String(cookie.split(separator: ";")[0].dropFirst("refreshToken=".count))

            let remembered = try await api.login(
                email, password: "Pa;ss1234 and more", rememberMe: true, path: "/portal/auth/login")
            #expect(try remembered.object()["refreshToken"] is String)

            let refreshed = try await api.send(
                .post, "/portal/auth/refresh", token: nil, headers: [.cookie: "refreshToken=\(refreshToken)"])
            #expect(refreshed.status == .ok)
            #expect(try refreshed.object()["accessToken"] is String)

            let grant =
                #"{"userId":"\#(userID)","consentType":"marketing","granted":true,"ipAddress":"10.0.0.1","userAgent":"Upstream/1"}"#
            let recorded = try await api.send(.post, "/portal/consent", json: grant, token: accessToken)
            #expect(recorded.status == .created)
            let consent = try #require(try recorded.object()["consent"] as? [String: Any])
            #expect(consent["granted"] as? Bool == true)
            #expect(consent["consentType"] as? String == "marketing")
            // Unchanged state is upstream's 409; history is never overwritten.
            try await api.send(.post, "/portal/consent", json: grant, token: accessToken).expectProblem(.conflict)
            let withdraw = #"{"userId":"\#(userID)","consentType":"marketing","granted":false}"#
            #expect(try await api.send(.post, "/portal/consent", json: withdraw, token: accessToken).status == .created)
            try await api.send(
                .post, "/portal/consent", json: #"{"userId":"\#(userID)","consentType":"marketing"}"#,
                token: accessToken
            )
            .expectProblem(.badRequest)
            try await api.send(
                .post, "/portal/consent", json: #"{"userId":"\#(userID)","consentType":"nope","granted":true}"#,
                token: accessToken
            )
            .expectProblem(.notFound)

            let listing = try await api.send(.get, "/portal/consent/\(userID)", token: accessToken).object()
            let consents = try #require(listing["consents"] as? [[String: Any]])
            #expect(consents.first { $0["consentType"] as? String == "marketing" }?["granted"] as? Bool == false)
            #expect(try await api.history(userID).count == 2)
        }
    }
}
