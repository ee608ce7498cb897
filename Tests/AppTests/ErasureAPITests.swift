import Foundation
import HTTPTypes
import QSPPTestSupport
import Storage
import Testing

@Suite("Erasure by crypto-shredding")
struct ErasureAPITests {
    @Test(arguments: Backend.all)
    func anErasedSubjectCannotLogInAndKeepsOnlyPseudonymousProof(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let decided = try await api.send(
                .post, "/v1/subjects/\(user.id)/consents", json: #"{"purpose":"marketing","decision":"granted"}"#,
                token: user.accessToken, headers: [.userAgent: "ErasureTestAgent/1.0"])
            #expect(decided.status == .created)
            let before = try await api.history(user.id)
            #expect(before.first?["userAgent"] as? String == "ErasureTestAgent/1.0")

            let filed = try await api.send(
                .post, "/v1/me/requests", json: #"{"kind":"erasure"}"#, token: user.accessToken
            ).object()
            let id = try #require(filed["id"] as? String)
            // Not before the person's identity is verified.
            try await api.send(.post, "/v1/requests/\(id)/erasure").expectProblem(.conflict)
            try await api.send(.post, "/v1/requests/\(id)/erasure", token: user.accessToken).expectProblem(.forbidden)
            try await api.send(.post, "/v1/requests/\(id)/transitions", json: #"{"status":"verified"}"#)

            let erased = try await api.send(.post, "/v1/requests/\(id)/erasure")
            #expect(erased.status == .ok)
            let body = try erased.object()
            #expect((body["request"] as? [String: Any])?["status"] as? String == "completed")
            let erasedAt = try #require(body["erasedAt"] as? String)

            // No way back in; the access token's session is over too.
            #expect(try await api.login(user.email).status == .unauthorized)
            try await api.send(.get, "/v1/me", token: user.accessToken).expectProblem(.unauthorized)
            // The proof of consent stays, pseudonymous; what was personal is gone for good.
            let after = try await api.history(user.id)
            #expect(after.count == before.count)
            #expect(after.first?["decision"] as? String == "granted")
            #expect(after.first?["userAgent"] == nil && after.first?["sourceIp"] == nil)
            #expect(try await api.services.store.erasures.erasure(of: user.id) != nil)
            let report = try await api.services.ledger.verify()
            #expect(report.isIntact, "\(String(describing: report.problem))")

            // Idempotent: the same answer again, nothing more destroyed or written.
            let again = try await api.send(.post, "/v1/requests/\(id)/erasure").object()
            #expect(again["erasedAt"] as? String == erasedAt)
            #expect(
                try await api.services.store.erasures.shred(subject: user.id, requestID: nil, at: Date())
                    == (try await api.services.store.erasures.erasure(of: user.id)))

            // Only erasure and delete requests are fulfilled by erasing.
            let other = try await api.newUser()
            let access = try await api.send(
                .post, "/v1/me/requests", json: #"{"kind":"access"}"#, token: other.accessToken
            )
            .object()
            try await api.send(.post, "/v1/requests/\(access["id"] as! String)/erasure").expectProblem(.conflict)
            try await api.send(.post, "/v1/requests/\(UUID())/erasure").expectProblem(.notFound)
        }
    }
}
