import Foundation
import HTTPTypes
import HummingbirdTesting
import Identity
import Privacy
import QSPPTestSupport
import Testing

@Suite("Data-subject requests API")
struct PrivacyAPITests {
    @Test(arguments: Backend.all)
    func subjectsFileAndFollowTheirOwnRequestsOnly(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let stranger = try await api.newUser()
            let filed = try await api.send(
                .post, "/v1/me/requests", json: #"{"kind":"access"}"#, token: user.accessToken)
            #expect(filed.status == .created)
            let request = try filed.object()
            #expect(request["status"] as? String == "received")
            #expect(request["regime"] as? String == "gdpr")
            #expect(request["overdue"] as? Bool == false)
            #expect(request["onBehalf"] as? Bool == false)
            let id = try #require(request["id"] as? String)
            // The person is told by mail, through the outbox, that the request arrived and when it is due.
            let notice = try await api.mailed(to: user.email, subject: "We received your request")
            #expect(notice.parts["text/plain"]?.contains("access to your data (GDPR Art. 15)") == true)
            try await api.send(.post, "/v1/me/requests", json: #"{"kind":"access"}"#, token: user.accessToken)
                .expectProblem(.conflict)
            try await api.send(.post, "/v1/me/requests", json: #"{"kind":"teleport"}"#, token: user.accessToken)
                .expectProblem(.badRequest)
            let mine = try await api.send(.get, "/v1/me/requests", token: user.accessToken).object()
            #expect((mine["requests"] as? [[String: Any]])?.map { $0["id"] as? String } == [id])
            #expect(try await api.send(.get, "/v1/requests/\(id)", token: user.accessToken).status == .ok)
            #expect(try await api.send(.get, "/v1/requests/\(id)/events", token: user.accessToken).status == .ok)
            // Somebody else's request answers like a missing one; the queue and transitions are for staff.
            try await api.send(.get, "/v1/requests/\(id)", token: stranger.accessToken).expectProblem(.notFound)
            try await api.send(.get, "/v1/requests/\(id)/events", token: stranger.accessToken).expectProblem(.notFound)
            try await api.send(.get, "/v1/requests", token: user.accessToken).expectProblem(.forbidden)
            try await api.send(
                .post, "/v1/requests/\(id)/transitions", json: #"{"status":"verified"}"#, token: user.accessToken
            ).expectProblem(.forbidden)
            try await api.send(.get, "/v1/me/requests", token: nil).expectProblem(.unauthorized)
        }
    }

    @Test(arguments: Backend.all)
    func staffWorkTheQueueByDueDate(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            // On someone's behalf, the identity check is recorded and the request starts verified.
            try await api.send(.post, "/v1/subjects/\(user.id)/requests", json: #"{"kind":"know"}"#)
                .expectProblem(.badRequest)
            try await api.send(
                .post, "/v1/subjects/\(UUID())/requests", json: #"{"kind":"know","identityVerification":"x"}"#
            ).expectProblem(.notFound)
            let filed = try await api.send(
                .post, "/v1/subjects/\(user.id)/requests",
                json: #"{"kind":"know","identityVerification":"matched the order number and email"}"#)
            #expect(filed.status == .created)
            let request = try filed.object()
            #expect(request["status"] as? String == "verified")
            #expect(request["regime"] as? String == "ccpa")
            #expect(request["onBehalf"] as? Bool == true)
            let id = try #require(request["id"] as? String)

            // A request received two months ago is overdue and comes first.
            let old = try await PrivacyService(
                repository: api.services.store.privacy, now: { Date().addingTimeInterval(-60 * 86400) }
            ).file(.erasure, for: UUID(uuidString: user.id)!, by: UUID(uuidString: user.id)!)
            let queue = try await api.send(.get, "/v1/requests").object()
            let items = try #require(queue["requests"] as? [[String: Any]])
            let ids = items.compactMap { $0["id"] as? String }
            let oldIndex = try #require(ids.firstIndex(of: old.id.uuidString.lowercased()))
            #expect(oldIndex < (ids.firstIndex(of: id) ?? -1))
            #expect(items[oldIndex]["overdue"] as? Bool == true)
            #expect(try await api.metricsOfEveryProcess().contains("qspp_dsr_overdue_requests"))

            let transition = "/v1/requests/\(id)/transitions"
            try await api.send(.post, transition, json: #"{"status":"completed"}"#).expectProblem(.conflict)
            try await api.send(.post, transition, json: #"{"status":"rejected"}"#).expectProblem(.badRequest)
            #expect(try await api.send(.post, transition, json: #"{"status":"in_progress"}"#).status == .ok)
            let extended = try await api.send(.post, "/v1/requests/\(id)/extension", json: #"{"reason":"volume"}"#)
            #expect(extended.status == .ok)
            #expect(try extended.object()["extensionReason"] as? String == "volume")
            try await api.send(.post, "/v1/requests/\(id)/extension", json: #"{"reason":"again"}"#)
                .expectProblem(.conflict)
            let rejected = try await api.send(
                .post, transition, json: #"{"status":"rejected","reason":"the subject withdrew the request"}"#)
            #expect(try rejected.object()["rejectionReason"] as? String == "the subject withdrew the request")
            try await api.send(.post, transition, json: #"{"status":"completed"}"#).expectProblem(.conflict)
            let events = try #require(
                try await api.send(.get, "/v1/requests/\(id)/events").object()["events"] as? [[String: Any]])
            #expect(
                events.compactMap { $0["to"] as? String } == ["verified", "in_progress", "in_progress", "rejected"])
            try await api.send(.post, "/v1/requests/\(UUID())/transitions", json: #"{"status":"verified"}"#)
                .expectProblem(.notFound)
        }
    }

    /// Separation of duties: an erasure filed by one member of staff is verified by another, never by
    /// whoever filed it, so no single person can have someone's data destroyed.
    @Test(arguments: Backend.all)
    func anErasureFiledByStaffIsVerifiedBySomeoneElse(backend: Backend) async throws {
        try await withApp(backend) { api in
            let subject = try await api.newUser()
            let filed = try await api.send(
                .post, "/v1/subjects/\(subject.id)/requests",
                json: #"{"kind":"erasure","identityVerification":"called back on the number on file"}"#)
            #expect(filed.status == .created)
            #expect(try filed.object()["status"] as? String == "received")
            let id = try #require(try filed.object()["id"] as? String)
            let refused = try await api.send(.post, "/v1/requests/\(id)/transitions", json: #"{"status":"verified"}"#)
            #expect(try refused.expectProblem(.forbidden).contains("someone other than whoever filed it"))
            try await api.send(.post, "/v1/requests/\(id)/fulfilment").expectProblem(.conflict)
            #expect(try await api.send(.get, "/v1/me", token: subject.accessToken).status == .ok, "nothing was erased")

            let officer = try await api.newUser()
            let account = try #require(try await api.services.identity.account(id: UUID(uuidString: officer.id)!))
            try await api.services.identity.setRoles(of: account, to: [.user, .dpo])
            let token = try #require(try await api.login(officer.email).object()["accessToken"] as? String)
            let verified = try await api.send(
                .post, "/v1/requests/\(id)/transitions", json: #"{"status":"verified"}"#, token: token)
            #expect(verified.status == .ok)
            #expect(try verified.object()["status"] as? String == "verified")
        }
    }
}
