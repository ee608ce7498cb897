import Foundation
import HTTPTypes
import HummingbirdTesting
import Identity
import QSPPTestSupport
import Testing

/// Restriction, objection, opt-out and rectification, carried out by staff on verified requests.
@Suite("Data-subject rights")
struct RightsAPITests {
    /// Files a request as the user and verifies it as staff; returns its id.
    func verifiedRequest(_ kind: String, _ user: TestUser, _ api: API) async throws -> String {
        let filed = try await api.send(.post, "/v1/me/requests", json: #"{"kind":"\#(kind)"}"#, token: user.accessToken)
        let id = try #require(try filed.object()["id"] as? String)
        #expect(
            try await api.send(.post, "/v1/requests/\(id)/transitions", json: #"{"status":"verified"}"#).status == .ok)
        return id
    }

    func decide(
        _ api: API, _ user: TestUser, _ purpose: String, _ decision: String, token: String? = nil
    )
        async throws -> TestResponse
    {
        try await api.send(
            .post, "/v1/subjects/\(user.id)/consents", json: #"{"purpose":"\#(purpose)","decision":"\#(decision)"}"#,
            token: token ?? user.accessToken)
    }

    @Test(arguments: Backend.all)
    func restrictionFreezesEverythingButThePersonsOwnWithdrawals(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            #expect(try await decide(api, user, "marketing", "granted").status == .created)
            let id = try await verifiedRequest("restriction", user, api)
            let done = try await api.send(.post, "/v1/requests/\(id)/fulfilment").object()
            #expect(done["outcome"] as? String == "restricted")
            #expect((done["request"] as? [String: Any])?["status"] as? String == "completed")

            try await decide(api, user, "analytics", "granted").expectProblem(.conflict)
            try await decide(api, user, "analytics", "granted", token: api.adminToken).expectProblem(.conflict)
            try await decide(api, user, "marketing", "withdrawn", token: api.adminToken).expectProblem(.conflict)
            #expect(try await decide(api, user, "marketing", "withdrawn").status == .created)
            try await api.send(.patch, "/v1/me", json: #"{"displayName":"X"}"#, token: user.accessToken)
                .expectProblem(.conflict)
            let me = try await api.send(.get, "/v1/me", token: user.accessToken).object()
            #expect(me["restrictedSince"] is String)

            #expect(try await api.send(.delete, "/v1/subjects/\(user.id)/restriction").status == .noContent)
            #expect(try await decide(api, user, "analytics", "granted").status == .created)
            try await api.send(.delete, "/v1/subjects/\(user.id)/restriction").expectProblem(.notFound)
            try await api.send(.delete, "/v1/subjects/\(user.id)/restriction", token: user.accessToken)
                .expectProblem(.forbidden)
        }
    }

    @Test(arguments: Backend.all)
    func objectionWithdrawsLegitimateInterestsAndOptOutWithdrawsSaleOrSharing(backend: Backend) async throws {
        try await withApp(backend) { api in
            let purpose = "li_" + UUID().uuidString.lowercased().prefix(8)
            let created = try await api.send(
                .post, "/v1/purposes",
                json:
                    #"{"id":"\#(purpose)","title":"Fraud scoring","lawfulBasis":"legitimate_interests","notice":{"text":"We score."}}"#
            )
            #expect(created.status == .created)
            #expect(try created.object()["lawfulBasis"] as? String == "legitimate_interests")
            try await api.send(
                .post, "/v1/purposes",
                json: #"{"id":"x_\#(purpose)","title":"T","lawfulBasis":"whim","notice":{"text":"t"}}"#
            ).expectProblem(.badRequest)

            let user = try await api.newUser()
            for purpose in [purpose, "marketing", "third_party_sharing"] {
                #expect(try await decide(api, user, purpose, "granted").status == .created)
            }
            let objection = try await verifiedRequest("objection", user, api)
            let objected = try await api.send(.post, "/v1/requests/\(objection)/fulfilment").object()
            #expect(objected["outcome"] as? String == "withdrawn")
            #expect((objected["purposes"] as? [String])?.contains(purpose) == true)
            #expect((objected["purposes"] as? [String])?.contains("marketing") == false)

            let optOut = try await verifiedRequest("opt_out", user, api)
            let optedOut = try await api.send(.post, "/v1/requests/\(optOut)/fulfilment").object()
            // (The shared test database may hold other tests' sale-or-sharing purposes too.)
            let withdrawn = optedOut["purposes"] as? [String] ?? []
            #expect(withdrawn.contains("third_party_sharing") && !withdrawn.contains("marketing"))

            let state = try await api.send(.get, "/v1/subjects/\(user.id)/consents").object()
            let statuses = Dictionary(
                uniqueKeysWithValues: (state["purposes"] as? [[String: Any]] ?? []).map {
                    ($0["purpose"] as? String ?? "", $0["status"] as? String ?? "")
                })
            #expect(statuses[purpose] == "withdrawn")
            #expect(statuses["third_party_sharing"] == "withdrawn")
            #expect(statuses["marketing"] == "granted")

            // Access is delivered by export, and an answered request cannot be fulfilled again.
            let access = try await verifiedRequest("access", user, api)
            try await api.send(.post, "/v1/requests/\(access)/fulfilment").expectProblem(.conflict)
            try await api.send(.post, "/v1/requests/\(objection)/fulfilment").expectProblem(.conflict)
            try await api.send(.post, "/v1/requests/\(access)/fulfilment", token: user.accessToken)
                .expectProblem(.forbidden)
        }
    }

    @Test(arguments: Backend.all)
    func rectificationChangesTheProfileAndLeavesAnAuditRecord(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let newEmail = "renamed-\(UUID().uuidString.lowercased())@example.com"
            let changed = try await api.send(
                .patch, "/v1/me", json: #"{"displayName":"Ada L.","email":"\#(newEmail)"}"#, token: user.accessToken)
            #expect(changed.status == .ok)
            #expect(try changed.object()["displayName"] as? String == "Ada L.")
            // The email moves only once the new address follows its link.
            #expect(try changed.object()["email"] as? String == user.email)
            #expect(try changed.object()["emailChangeMailed"] as? Bool == true)
            #expect(try await api.login(user.email).status == .ok)
            let link = try await api.mailed(to: newEmail, subject: "Move your QSPP account to this address")
            let token = try #require(
                link.parts["text/plain"]?.firstMatch(of: /confirm-email-change\?token=([A-Za-z0-9_-]+)/)
            ).1
            #expect(
                try await api.send(.post, "/v1/auth/email/change/confirm", json: #"{"token":"\#(token)"}"#, token: nil)
                    .status == .ok)
            #expect(try await api.login(newEmail).status == .ok)
            #expect(try await api.login(user.email).status == .unauthorized)
            try await api.send(.post, "/v1/auth/email/change/confirm", json: #"{"token":"\#(token)"}"#, token: nil)
                .expectProblem(.badRequest)
            let me = try await api.send(.get, "/v1/me", token: user.accessToken).object()
            #expect(me["email"] as? String == newEmail && me["emailVerified"] as? Bool == true)
            let audit = try await api.services.identity.authEvents(userID: UUID(uuidString: user.id), limit: 10)
            let record = try #require(audit.first { $0.kind == .profileRectified })
            #expect(record.details["fields"] == "displayName")
            #expect(audit.contains { $0.kind == .emailChangeRequested } && audit.contains { $0.kind == .emailChanged })
            #expect(!audit.flatMap(\.details.values).contains { $0.contains("Ada") || $0.contains(newEmail) })
            // Staff rectify on a verified request.
            let id = try await verifiedRequest("rectification", user, api)
            try await api.send(.post, "/v1/requests/\(id)/fulfilment", json: "{}").expectProblem(.badRequest)
            let done = try await api.send(
                .post, "/v1/requests/\(id)/fulfilment", json: #"{"displayName":"Ada Lovelace"}"#)
            #expect(try done.object()["outcome"] as? String == "rectified")
            let rectified = try await api.send(.get, "/v1/me", token: user.accessToken).object()
            #expect(rectified["displayName"] as? String == "Ada Lovelace")

            // Another account's address gets the same answer, and nothing changes.
            let other = try await api.newUser()
            let taken = try await api.send(
                .patch, "/v1/me", json: #"{"email":"\#(newEmail)"}"#, token: other.accessToken)
            #expect(try taken.object()["emailChangeMailed"] as? Bool == true)
            #expect(try await api.login(other.email).status == .ok)
            try await api.send(
                .patch, "/v1/me", json: #"{"displayName":"\#(String(repeating: "x", count: 201))"}"#,
                token: other.accessToken
            ).expectProblem(.badRequest)
            try await api.send(.patch, "/v1/me", json: #"{"nickname":"x"}"#, token: other.accessToken)
                .expectProblem(.badRequest)
            try await api.send(.patch, "/v1/me", json: #"{"email":"not-an-email"}"#, token: other.accessToken)
                .expectProblem(.badRequest)
        }
    }
}
