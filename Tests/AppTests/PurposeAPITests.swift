import Foundation
import HTTPTypes
import QSPPTestSupport
import Testing

@Suite("Purpose API")
struct PurposeAPITests {
    @Test(arguments: Backend.all)
    func theCatalogIsPublicAndSeeded(backend: Backend) async throws {
        try await withApp(backend) { api in
            let response = try await api.send(.get, "/v1/purposes", token: nil)
            #expect(response.status == .ok)
            let purposes = try #require(try response.object()["purposes"] as? [[String: Any]])
            let ids = Set(purposes.compactMap { $0["id"] as? String })
            #expect(
                ids.isSuperset(of: ["marketing", "analytics", "data_processing", "cookies", "third_party_sharing"]))
            let sharing = try #require(purposes.first { $0["id"] as? String == "third_party_sharing" })
            #expect(sharing["saleOrSharing"] as? Bool == true)
            #expect((sharing["currentNotice"] as? [String: Any])?["version"] as? Int == 1)
            #expect(try await api.send(.get, "/v1/purposes/marketing", token: nil).status == .ok)
            try await api.send(.get, "/v1/purposes/nothing_here", token: nil).expectProblem(.notFound)
        }
    }

    @Test(arguments: Backend.all)
    func adminsCreateUpdateAndVersionPurposes(backend: Backend) async throws {
        try await withApp(backend) { api in
            let id = "research_\(UUID().uuidString.prefix(8).lowercased())"
            let create =
                #"{"id":"\#(id)","title":"Research","description":"Studies","saleOrSharing":false,"notice":{"text":"We study usage.","effectiveAt":"2026-01-01T00:00:00Z"}}"#
            try await api.send(.post, "/v1/purposes", json: create, token: nil).expectProblem(.unauthorized)
            let created = try await api.send(.post, "/v1/purposes", json: create)
            #expect(created.status == .created)
            #expect(created.headers[.location] == "/v1/purposes/\(id)")
            try await api.send(.post, "/v1/purposes", json: create).expectProblem(.conflict)

            let subject = uniqueSubjectText()
            try await api.send(
                .post, "/v1/subjects/\(subject)/consents", json: #"{"purpose":"\#(id)","decision":"granted"}"#)

            let patched = try await api.send(
                .patch, "/v1/purposes/\(id)", json: #"{"title":"Research and statistics","saleOrSharing":true}"#)
            #expect(patched.status == .ok)
            #expect(try patched.object()["title"] as? String == "Research and statistics")
            #expect(try patched.object()["saleOrSharing"] as? Bool == true)
            try await api.send(.patch, "/v1/purposes/\(id)", json: #"{"title":""}"#).expectProblem(.badRequest)
            try await api.send(.patch, "/v1/purposes/\(id)", json: #"{"colour":"red"}"#).expectProblem(.badRequest)
            try await api.send(.patch, "/v1/purposes/missing_one", json: #"{"title":"x"}"#).expectProblem(.notFound)

            let notice = try await api.send(
                .post, "/v1/purposes/\(id)/notices", json: #"{"url":"https://example.com/research-v2"}"#)
            #expect(notice.status == .created)
            #expect((try notice.object()["currentNotice"] as? [String: Any])?["version"] as? Int == 2)
            try await api.send(.post, "/v1/purposes/\(id)/notices", json: #"{}"#).expectProblem(.badRequest)
            try await api.send(.post, "/v1/purposes/\(id)/notices", json: #"{"url":"ftp://x"}"#).expectProblem(
                .badRequest)

            let state = try await api.send(.get, "/v1/subjects/\(subject)/consents").object()
            let research = (state["purposes"] as? [[String: Any]])?.first { $0["purpose"] as? String == id }
            #expect(research?["needsReconsent"] as? Bool == true)
            #expect(research?["status"] as? String == "needs_reconsent")
            #expect(research?["noticeVersion"] as? Int == 1)
            #expect(research?["currentNoticeVersion"] as? Int == 2)
        }
    }

    @Test(arguments: Backend.all)
    func badPurposeDefinitionsAreRefused(backend: Backend) async throws {
        try await withApp(backend) { api in
            let cases = [
                #"{"id":"Bad Id","title":"x","notice":{"text":"t"}}"#,
                #"{"id":"fine_id","notice":{"text":"t"}}"#,
                #"{"id":"fine_id","title":"x"}"#,
                #"{"id":"fine_id","title":"x","notice":{"text":"t","colour":"red"}}"#,
                #"{"id":"fine_id","title":"\#(String(repeating: "t", count: 201))","notice":{"text":"t"}}"#,
                #"{"id":"fine_id","title":"x","notice":{"text":"t","effectiveAt":"soon"}}"#,
                #"{"id":"fine_id","title":"x","saleOrSharing":"yes","notice":{"text":"t"}}"#,
            ]
            for body in cases {
                try await api.send(.post, "/v1/purposes", json: body).expectProblem(.badRequest)
            }
        }
    }
}
