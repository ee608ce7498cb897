import Foundation
import HTTPTypes
import QSPPTestSupport
import Testing

/// Upstream ZynConsent's routes keep their request and response shapes.
@Suite("Upstream-compatible consent API")
struct LegacyAPITests {
    @Test(arguments: Backend.all)
    func postThenListNewestFirst(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = uniqueSubjectText()
            let granted = try await api.send(
                .post, "/consent",
                json:
                    #"{"userId":"\#(user)","consentType":"marketing","status":"granted","timestamp":"2026-01-02T03:04:05Z"}"#
            )
            #expect(granted.status == .created)
            let body = try granted.object()
            #expect(body["message"] is String)
            let event = try #require(body["consentEvent"] as? [String: Any])
            #expect(event["userId"] as? String == user)
            #expect(event["consentType"] as? String == "marketing")
            #expect(event["status"] as? String == "granted")
            #expect(event["timestamp"] as? String == "2026-01-02T03:04:05.000000Z")

            let revoked = try await api.send(
                .post, "/consent", json: #"{"userId":"\#(user)","consentType":"marketing","status":"revoked"}"#)
            #expect(revoked.status == .created)
            #expect((try revoked.object()["consentEvent"] as? [String: Any])?["status"] as? String == "revoked")

            let listing = try await api.send(.get, "/consent/\(user)")
            #expect(listing.status == .ok)
            let listed = try listing.object()
            #expect(listed["message"] is String)
            let events = try #require(listed["consentEvents"] as? [[String: Any]])
            #expect(events.map { $0["status"] as? String } == ["revoked", "granted"])
            // The v1 ledger sees the same events as withdrawn and granted.
            #expect(try await api.history(user).map { $0["decision"] as? String } == ["withdrawn", "granted"])
        }
    }

    @Test(arguments: Backend.all)
    func unknownUsersAndBadInput(backend: Backend) async throws {
        try await withApp(backend) { api in
            try await api.send(.get, "/consent/\(uniqueSubjectText())").expectProblem(.notFound)
            try await api.send(.get, "/consent/bad%2Fid").expectProblem(.badRequest)
            let user = uniqueSubjectText()
            let cases: [(String, HTTPResponse.Status)] = [
                (#"{"userId":"\#(user)","consentType":"marketing","status":"granted_ish"}"#, .badRequest),
                (#"{"userId":"\#(user)","consentType":"marketing"}"#, .badRequest),
                (#"{"userId":"\#(user)","consentType":"nope","status":"granted"}"#, .notFound),
                (#"{"userId":"","consentType":"marketing","status":"granted"}"#, .badRequest),
                (
                    #"{"userId":"\#(user)","consentType":"marketing","status":"granted","timestamp":"not a date"}"#,
                    .badRequest
                ),
                (#"{"userId":"\#(user)","consentType":"marketing","status":"granted","admin":true}"#, .badRequest),
            ]
            for (body, status) in cases {
                try await api.send(.post, "/consent", json: body).expectProblem(status)
            }
            try await api.send(.get, "/consent/\(user)").expectProblem(.notFound)
        }
    }
}
