import Foundation
import HTTPTypes
import HummingbirdTesting
import Identity
import QSPPTestSupport
import Testing

/// Every route that touches someone's data, walked as {anonymous, another user, the owner, admin}.
@Suite("Who may do what")
struct AccessTableTests {
    struct Row: Sendable {
        let method: HTTPRequest.Method
        let path: String
        let body: String?
        /// For anonymous, another user, the owner, and an admin.
        let expected: [HTTPResponse.Status]
    }

    @Test(arguments: Backend.all)
    func everyRouteChecksWhoIsAsking(backend: Backend) async throws {
        try await withApp(backend) { api in
            let owner = try await api.newUser()
            let other = try await api.newUser()
            let id = owner.id
            let decision = #"{"purpose":"analytics","decision":"granted"}"#
            let rows: [Row] = [
                Row(
                    method: .post, path: "/v1/subjects/\(id)/consents", body: decision,
                    expected: [.unauthorized, .notFound, .created, .created]),
                Row(
                    method: .post, path: "/v1/subjects/\(id)/consents/batch", body: #"{"decisions":[\#(decision)]}"#,
                    expected: [.unauthorized, .notFound, .created, .created]),
                Row(
                    method: .get, path: "/v1/subjects/\(id)/consents", body: nil,
                    expected: [.unauthorized, .notFound, .ok, .ok]),
                Row(
                    method: .get, path: "/v1/subjects/\(id)/consents/history", body: nil,
                    expected: [.unauthorized, .notFound, .ok, .ok]),
                Row(
                    method: .post, path: "/consent",
                    body: #"{"userId":"\#(id)","consentType":"marketing","status":"granted"}"#,
                    expected: [.unauthorized, .notFound, .created, .created]),
                Row(method: .get, path: "/consent/\(id)", body: nil, expected: [.unauthorized, .notFound, .ok, .ok]),
                Row(
                    method: .post, path: "/portal/consent",
                    body: #"{"userId":"\#(id)","consentType":"cookies","granted":true}"#,
                    expected: [.unauthorized, .notFound, .created, .conflict]),
                Row(
                    method: .get, path: "/portal/consent/\(id)", body: nil,
                    expected: [.unauthorized, .notFound, .ok, .ok]),
                Row(method: .get, path: "/v1/me", body: nil, expected: [.unauthorized, .ok, .ok, .ok]),
                Row(method: .get, path: "/v1/me/sessions", body: nil, expected: [.unauthorized, .ok, .ok, .ok]),
                Row(
                    method: .get, path: "/v1/users/\(id)/sessions", body: nil,
                    expected: [.unauthorized, .forbidden, .forbidden, .ok]),
                Row(
                    method: .delete, path: "/v1/users/\(id)/sessions/\(UUID())", body: nil,
                    expected: [.unauthorized, .forbidden, .forbidden, .notFound]),
                Row(
                    method: .post, path: "/v1/purposes",
                    body:
                        #"{"id":"p_\#(UUID().uuidString.prefix(8).lowercased())","title":"T","description":"D","notice":{"text":"N"}}"#,
                    expected: [.unauthorized, .forbidden, .forbidden, .created]),
                Row(method: .get, path: "/v1/purposes", body: nil, expected: [.ok, .ok, .ok, .ok]),
                Row(method: .get, path: "/.well-known/jwks.json", body: nil, expected: [.ok, .ok, .ok, .ok]),
            ]
            let callers: [(String, String?)] = [
                ("anonymous", nil), ("another user", other.accessToken), ("owner", owner.accessToken),
                ("admin", asAdmin),
            ]
            for row in rows {
                for (index, caller) in callers.enumerated() {
                    let response = try await api.send(row.method, row.path, json: row.body, token: caller.1)
                    #expect(
                        response.status == row.expected[index],
                        "\(row.method) \(row.path) as \(caller.0): \(response.status), expected \(row.expected[index])")
                    if response.status.code >= 400 {
                        #expect(response.headers[.contentType] == "application/problem+json")
                    }
                }
            }
            // What the other user attempted left no trace in the owner's history.
            let history = try await api.history(id)
            #expect(history.count == 7)
        }
    }

    @Test(arguments: Backend.all)
    func aDPOReadsAnySubjectButWritesNone(backend: Backend) async throws {
        try await withApp(backend) { api in
            let subject = try await api.newUser()
            let officer = try await api.newUser()
            let account = try #require(try await api.services.identity.account(id: UUID(uuidString: officer.id)!))
            try await api.services.identity.setRoles(of: account, to: [.user, .dpo])
            // Roles travel in the token: the officer logs in again to get them.
            let token = try #require(try await api.login(officer.email).object()["accessToken"] as? String)
            #expect(try jwtPart(token, 1)["roles"] as? [String] == ["dpo", "user"])
            #expect(
                try await api.send(.get, "/v1/subjects/\(subject.id)/consents?reason=audit", token: token).status == .ok
            )
            #expect(
                try await api.send(.get, "/v1/subjects/\(subject.id)/consents/history?reason=audit", token: token)
                    .status == .ok)
            try await api.send(
                .post, "/v1/subjects/\(subject.id)/consents", json: #"{"purpose":"analytics","decision":"granted"}"#,
                token: token
            ).expectProblem(.notFound)
            try await api.send(.get, "/v1/users/\(subject.id)/sessions", token: token).expectProblem(.forbidden)
        }
    }
}
