import App
import Foundation
import HTTPTypes
import HummingbirdTesting
import QSPPTestSupport
import Testing

@Suite("Consent API")
struct ConsentAPITests {
    @Test(arguments: Backend.all)
    func recordOneDecisionThenReadStateAndHistory(backend: Backend) async throws {
        try await withApp(backend) { api in
            let subject = uniqueSubjectText()
            let created = try await api.send(
                .post, "/v1/subjects/\(subject)/consents",
                json:
                    #"{"purpose":"marketing","decision":"granted","method":"explicit","clientTimestamp":"2026-11-25T09:30:00.5+01:00"}"#,
                headers: [.userAgent: "PortalTest/1.0"])
            #expect(created.status == .created)
            let event = try #require((try created.object()["events"] as? [[String: Any]])?.first)
            #expect(event["subjectId"] as? String == subject)
            #expect(event["purpose"] as? String == "marketing")
            #expect(event["decision"] as? String == "granted")
            #expect(event["method"] as? String == "explicit")
            #expect(event["noticeVersion"] as? Int == 1)
            #expect(event["userAgent"] as? String == "PortalTest/1.0")
            #expect(event["clientTimestamp"] as? String == "2026-11-25T08:30:00.500000Z")
            #expect(UUID(uuidString: event["id"] as? String ?? "") != nil)

            let withdrawn = try await api.send(
                .post, "/v1/subjects/\(subject)/consents", json: #"{"purpose":"marketing","decision":"withdrawn"}"#)
            #expect(withdrawn.status == .created)

            let state = try await api.send(.get, "/v1/subjects/\(subject)/consents")
            #expect(state.status == .ok)
            let purposes = try #require(try state.object()["purposes"] as? [[String: Any]])
            let marketing = try #require(purposes.first { $0["purpose"] as? String == "marketing" })
            #expect(marketing["decision"] as? String == "withdrawn")
            #expect(marketing["status"] as? String == "withdrawn")
            #expect(marketing["needsReconsent"] as? Bool == false)
            let cookies = try #require(purposes.first { $0["purpose"] as? String == "cookies" })
            #expect(cookies["decision"] == nil)
            #expect(cookies["status"] as? String == "unset")

            let history = try await api.history(subject)
            #expect(history.map { $0["decision"] as? String } == ["withdrawn", "granted"])
        }
    }

    @Test(arguments: Backend.all)
    func batchesAreAtomic(backend: Backend) async throws {
        try await withApp(backend) { api in
            let subject = uniqueSubjectText()
            let good = try await api.send(
                .post, "/v1/subjects/\(subject)/consents/batch",
                json:
                    #"{"decisions":[{"purpose":"marketing","decision":"granted"},{"purpose":"analytics","decision":"withdrawn"}]}"#
            )
            #expect(good.status == .created)
            #expect((try good.object()["events"] as? [Any])?.count == 2)
            let bad = try await api.send(
                .post, "/v1/subjects/\(subject)/consents/batch",
                json:
                    #"{"decisions":[{"purpose":"cookies","decision":"granted"},{"purpose":"no_such_purpose","decision":"granted"}]}"#
            )
            #expect(try bad.expectProblem(.notFound).contains("no_such_purpose"))
            #expect(try await api.history(subject).count == 2)
            let tooMany = (0..<101).map { _ in #"{"purpose":"cookies","decision":"granted"}"# }.joined(separator: ",")
            try await api.send(.post, "/v1/subjects/\(subject)/consents/batch", json: #"{"decisions":[\#(tooMany)]}"#)
                .expectProblem(.badRequest)
            try await api.send(.post, "/v1/subjects/\(subject)/consents/batch", json: #"{"decisions":[]}"#)
                .expectProblem(.badRequest)
            #expect(try await api.history(subject).count == 2)
        }
    }

    @Test(arguments: Backend.all)
    func historyPagesWithOpaqueCursors(backend: Backend) async throws {
        try await withApp(backend) { api in
            let subject = uniqueSubjectText()
            for index in 0..<5 {
                try await api.send(
                    .post, "/v1/subjects/\(subject)/consents",
                    json: #"{"purpose":"cookies","decision":"\#(index.isMultiple(of: 2) ? "granted" : "withdrawn")"}"#)
            }
            var ids: [String] = []
            var uri = "/v1/subjects/\(subject)/consents/history?limit=2"
            var pages = 0
            while true {
                let page = try await api.send(.get, uri)
                #expect(page.status == .ok)
                let object = try page.object()
                ids += (object["events"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                pages += 1
                guard let cursor = object["nextCursor"] as? String else { break }
                uri = "/v1/subjects/\(subject)/consents/history?limit=2&cursor=\(cursor)"
            }
            #expect(pages == 3)
            #expect(ids == (try await api.history(subject)).compactMap { $0["id"] as? String })
            #expect(Set(ids).count == 5)
            try await api.send(.get, "/v1/subjects/\(subject)/consents/history?cursor=bm90LWEtY3Vyc29y").expectProblem(
                .badRequest)
            try await api.send(.get, "/v1/subjects/\(subject)/consents/history?limit=0").expectProblem(.badRequest)
            try await api.send(.get, "/v1/subjects/\(subject)/consents/history?limit=abc").expectProblem(.badRequest)
            try await api.send(.get, "/v1/subjects/\(subject)/consents/history?limit=501").expectProblem(.badRequest)
        }
    }

    @Test(arguments: Backend.all)
    func anIdempotencyKeyReturnsTheOriginalResultAndWritesOnce(backend: Backend) async throws {
        try await withApp(backend) { api in
            let subject = uniqueSubjectText()
            let key = UUID().uuidString
            let body = #"{"purpose":"analytics","decision":"granted"}"#
            let first = try await api.send(
                .post, "/v1/subjects/\(subject)/consents", json: body, headers: [.idempotencyKey: key])
            let retry = try await api.send(
                .post, "/v1/subjects/\(subject)/consents", json: body, headers: [.idempotencyKey: key])
            #expect(first.status == .created)
            #expect(retry.status == .created)
            #expect(retry.headers[.idempotentReplayed] == "true")
            #expect(first.headers[.idempotentReplayed] == nil)
            #expect(Data(first.body.readableBytesView) == Data(retry.body.readableBytesView))
            let other = try await api.send(
                .post, "/v1/subjects/\(subject)/consents", json: #"{"purpose":"analytics","decision":"withdrawn"}"#,
                headers: [.idempotencyKey: key])
            try other.expectProblem(.unprocessableContent)
            try await api.send(
                .post, "/v1/subjects/\(subject)/consents", json: body, headers: [.idempotencyKey: "has space"]
            )
            .expectProblem(.badRequest)
            #expect(try await api.history(subject).count == 1)
        }
    }

    @Test(arguments: Backend.all)
    func globalPrivacyControlWithdrawsSaleAndSharing(backend: Backend) async throws {
        try await withApp(backend) { api in
            let subject = uniqueSubjectText()
            try await api.send(
                .post, "/v1/subjects/\(subject)/consents",
                json: #"{"purpose":"third_party_sharing","decision":"granted"}"#)
            let response = try await api.send(
                .post, "/v1/subjects/\(subject)/consents", json: #"{"purpose":"marketing","decision":"granted"}"#,
                headers: [.secGPC: "1"])
            #expect(response.status == .created)
            let events = try #require(try response.object()["events"] as? [[String: Any]])
            let gpc = try #require(events.first { $0["purpose"] as? String == "third_party_sharing" })
            #expect(gpc["method"] as? String == "gpc")
            #expect(gpc["decision"] as? String == "withdrawn")
            #expect(events.last?["purpose"] as? String == "marketing")
            let state = try await api.send(.get, "/v1/subjects/\(subject)/consents").object()
            let sharing = (state["purposes"] as? [[String: Any]])?.first {
                $0["purpose"] as? String == "third_party_sharing"
            }
            #expect(sharing?["decision"] as? String == "withdrawn")
            #expect(sharing?["method"] as? String == "gpc")
        }
    }

    @Test(arguments: Backend.all)
    func badInputGetsAProblemAndChangesNothing(backend: Backend) async throws {
        try await withApp(backend) { api in
            let subject = uniqueSubjectText()
            let path = "/v1/subjects/\(subject)/consents"
            try await api.send(.post, path, json: #"{"purpose":"cookies","decision":"granted"}"#)
            let cases: [(String, HTTPResponse.Status, String)] = [
                (#"{"purpose":"cookies","decision":"granted""#, .badRequest, "not valid JSON"),
                ("[]", .badRequest, "body"),
                (#"{"purpose":"cookies"}"#, .badRequest, "decision: is required"),
                (
                    #"{"purpose":"cookies","decision":"granted","extra":true}"#, .badRequest,
                    "extra: is not a known field"
                ),
                (#"{"purpose":42,"decision":"granted"}"#, .badRequest, "purpose: must be a string"),
                (
                    #"{"purpose":"cookies","decision":"maybe"}"#, .badRequest,
                    "decision: must be 'granted' or 'withdrawn'"
                ),
                (#"{"purpose":"cookies","decision":"granted","method":"gpc"}"#, .badRequest, "method"),
                (#"{"purpose":"Cookies!","decision":"granted"}"#, .badRequest, "purpose"),
                (#"{"purpose":"unknown_purpose","decision":"granted"}"#, .notFound, "unknown_purpose"),
                (
                    #"{"purpose":"cookies","decision":"granted","noticeVersion":99}"#, .unprocessableContent,
                    "version 99"
                ),
                (#"{"purpose":"cookies","decision":"granted","noticeVersion":0}"#, .badRequest, "noticeVersion"),
                (
                    #"{"purpose":"cookies","decision":"granted","clientTimestamp":"yesterday"}"#, .badRequest,
                    "clientTimestamp"
                ),
                (
                    #"{"purpose":"cookies","decision":"granted","clientTimestamp":"2026-11-25T10:00:00"}"#, .badRequest,
                    "clientTimestamp"
                ),
                (#"{"purpose":"\#(String(repeating: "a", count: 65))","decision":"granted"}"#, .badRequest, "purpose"),
                ("", .badRequest, "body"),
            ]
            for (body, status, fragment) in cases {
                let detail = try await api.send(.post, path, json: body).expectProblem(status)
                #expect(detail.contains(fragment), "\(body) -> \(detail)")
            }
            let huge =
                #"{"purpose":"cookies","decision":"granted","method":"\#(String(repeating: "x", count: 70_000))"}"#
            try await api.send(.post, path, json: huge).expectProblem(.contentTooLarge)
            try await api.send(
                .post, path, json: "purpose=cookies", headers: [.contentType: "application/x-www-form-urlencoded"]
            )
            .expectProblem(.unsupportedMediaType)
            try await api.send(
                .post, "/v1/subjects/\(String(repeating: "x", count: 129))/consents",
                json: #"{"purpose":"cookies","decision":"granted"}"#
            )
            .expectProblem(.badRequest)
            try await api.send(.get, "/v1/subjects/bad%20id/consents").expectProblem(.badRequest)
            #expect(try await api.history(subject).count == 1)
        }
    }

    @Test(arguments: Backend.all)
    func subjectRoutesNeedTheAdminToken(backend: Backend) async throws {
        try await withApp(backend) { api in
            let subject = uniqueSubjectText()
            let body = #"{"purpose":"cookies","decision":"granted"}"#
            for token in [nil, "wrong-token-0123456789abcdefghijklmno", api.adminToken + "x"] as [String?] {
                let write = try await api.send(.post, "/v1/subjects/\(subject)/consents", json: body, token: token)
                let detail = try write.expectProblem(.unauthorized)
                #expect(!detail.contains(api.adminToken))
                #expect(write.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
                try await api.send(.get, "/v1/subjects/\(subject)/consents", token: token).expectProblem(.unauthorized)
                try await api.send(.get, "/v1/subjects/\(subject)/consents/history", token: token).expectProblem(
                    .unauthorized)
                try await api.send(.post, "/v1/subjects/\(subject)/consents/batch", json: body, token: token)
                    .expectProblem(.unauthorized)
                try await api.send(.get, "/consent/\(subject)", token: token).expectProblem(.unauthorized)
                try await api.send(
                    .post, "/consent", json: #"{"userId":"\#(subject)","consentType":"cookies","status":"granted"}"#,
                    token: token
                )
                .expectProblem(.unauthorized)
            }
            try await api.send(
                .get, "/v1/subjects/\(subject)/consents", token: nil,
                headers: [.authorization: "Basic YWRtaW46YWRtaW4="]
            )
            .expectProblem(.unauthorized)
            #expect(try await api.history(subject).isEmpty)
        }
    }
}
