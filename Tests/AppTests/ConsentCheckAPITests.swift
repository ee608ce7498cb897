import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import QSPPTestSupport
import Testing

@testable import App

/// Consent checks for services, through the real router on both backends: one subject and purpose,
/// or many at once, each answer with an entity tag that `If-None-Match` turns into `304`.
@Suite("Consent checks")
struct ConsentCheckAPITests {
    @Test(arguments: Backend.all)
    func aMachineClientChecksAndRevalidates(backend: Backend) async throws {
        // A database of its own: it publishes a notice, which every test on the shared one would see.
        try await withApp(backend, isolated: true) { api in
            let machine = try await RelyingParty.register(api, RelyingParty.backend)
            let issued = try await machine.post(api, "/token", ["grant_type": "client_credentials"], basic: false)
            let token = try #require(try issued.object()["access_token"] as? String)
            let subject = uniqueSubjectText()
            let path = "/v1/subjects/\(subject)/consents/analytics"

            let unset = try await api.send(.get, path, token: token)
            #expect(unset.status == .ok)
            #expect(unset.headers[.cacheControl] == "private, no-cache")
            var answer = try unset.object()
            #expect(answer["allowed"] as? Bool == false && answer["status"] as? String == "unset")
            #expect(answer["subjectId"] as? String == subject && answer["purpose"] as? String == "analytics")
            let unsetTag = try #require(unset.headers[.eTag])

            let cached = try await api.send(.get, path, token: token, headers: [.ifNoneMatch: unsetTag])
            #expect(cached.status == .notModified && cached.body.readableBytes == 0)
            #expect(cached.headers[.eTag] == unsetTag)
            let weak = try await api.send(.get, path, token: token, headers: [.ifNoneMatch: #""x", W/"# + unsetTag])
            #expect(weak.status == .notModified, "a list, and weak comparison (RFC 9110 §13.1.2)")

            try await record(api, subject, "analytics", "granted")
            let granted = try await api.send(.get, path, token: token, headers: [.ifNoneMatch: unsetTag])
            #expect(granted.status == .ok, "a decision changes the tag")
            answer = try granted.object()
            #expect(answer["allowed"] as? Bool == true && answer["status"] as? String == "granted")
            #expect(answer["eventId"] as? String != nil && answer["noticeVersion"] as? Int == 1)
            let grantedTag = try #require(granted.headers[.eTag])
            #expect(grantedTag != unsetTag)

            // A new notice version: the grant no longer allows, and the tag says so.
            let notice = try await api.send(
                .post, "/v1/purposes/analytics/notices", json: #"{"text":"We now measure more."}"#)
            #expect(notice.status == .created, "\(String(buffer: notice.body))")
            let stale = try await api.send(.get, path, token: token, headers: [.ifNoneMatch: grantedTag])
            #expect(stale.status == .ok)
            #expect(try stale.object()["allowed"] as? Bool == false)
            #expect(try stale.object()["status"] as? String == "needs_reconsent")

            try await record(api, subject, "analytics", "withdrawn")
            let withdrawn = try await api.send(.get, path, token: token)
            #expect(try withdrawn.object()["status"] as? String == "withdrawn")
        }
    }

    @Test(arguments: Backend.all)
    func manySubjectsAndPurposesAtOnce(backend: Backend) async throws {
        try await withApp(backend) { api in
            let (first, second) = (uniqueSubjectText(), uniqueSubjectText())
            try await record(api, first, "marketing", "granted")
            try await record(api, second, "analytics", "granted")
            let path = "/v1/consent-checks?subjects=\(first),\(second)&purposes=marketing,analytics"
            let bulk = try await api.send(.get, path)
            #expect(bulk.status == .ok, "\(String(buffer: bulk.body))")
            let checks = try #require(try bulk.object()["checks"] as? [[String: Any]])
            #expect(checks.map { $0["subjectId"] as? String } == [first, first, second, second])
            #expect(checks.map { $0["purpose"] as? String } == ["marketing", "analytics", "marketing", "analytics"])
            #expect(checks.map { $0["allowed"] as? Bool } == [true, false, false, true])
            let tag = try #require(bulk.headers[.eTag])
            #expect(try await api.send(.get, path, headers: [.ifNoneMatch: tag]).status == .notModified)
            try await record(api, second, "marketing", "granted")
            #expect(try await api.send(.get, path, headers: [.ifNoneMatch: tag]).status == .ok)
        }
    }

    @Test(arguments: Backend.all)
    func whoMayAskAndWhatIsRefused(backend: Backend) async throws {
        try await withApp(backend) { api in
            let person = try await api.newUser()
            let other = uniqueSubjectText()
            let own = try await api.send(
                .get, "/v1/subjects/\(person.id)/consents/marketing", token: person.accessToken)
            #expect(own.status == .ok, "a person checks their own")
            try await api.send(.get, "/v1/subjects/\(other)/consents/marketing", token: person.accessToken)
                .expectProblem(.notFound)
            try await api.send(.get, "/v1/subjects/\(other)/consents/marketing", token: nil)
                .expectProblem(.unauthorized)
            try await api.send(
                .get, "/v1/consent-checks?subjects=\(person.id),\(other)&purposes=marketing", token: person.accessToken
            ).expectProblem(.notFound)

            // Staff say why, and the read is audited in their name.
            try await api.send(.get, "/v1/subjects/\(other)/consents/marketing", token: api.adminToken)
                .expectProblem(.badRequest)
            let audited = try await api.send(
                .get, "/v1/subjects/\(other)/consents/marketing?reason=support", token: api.adminToken)
            #expect(audited.status == .ok)
            let accesses = try await api.services.privacy.staffAccesses(to: other)
            #expect(accesses.count == 1 && accesses.first?.action == .consentState)

            // A client whose scopes do not include consent:read is refused.
            let web = try await RelyingParty.register(
                api,
                #"{"name":"Jobs","kind":"confidential","tokenEndpointAuthMethod":"client_secret_post","grantTypes":["client_credentials"],"scopes":["requests:manage"]}"#
            )
            let issued = try await web.post(api, "/token", ["grant_type": "client_credentials"], basic: false)
            let token = try #require(try issued.object()["access_token"] as? String)
            #expect(
                try await api.send(.get, "/v1/subjects/\(other)/consents/marketing", token: token).status == .forbidden)
            #expect(
                try await api.send(.get, "/v1/consent-checks?subjects=\(other)&purposes=marketing", token: token).status
                    == .forbidden)

            // Bad input: a clear problem, and nothing is written.
            try await api.send(.get, "/v1/subjects/\(other)/consents/no_such_purpose").expectProblem(.notFound)
            try await api.send(.get, "/v1/subjects/\(other)/consents/Not-A-Purpose").expectProblem(.badRequest)
            try await api.send(.get, "/v1/consent-checks?subjects=\(other)&purposes=nope").expectProblem(.notFound)
            try await api.send(.get, "/v1/consent-checks?purposes=marketing").expectProblem(.badRequest)
            try await api.send(.get, "/v1/consent-checks?subjects=\(other)").expectProblem(.badRequest)
            try await api.send(.get, "/v1/consent-checks?subjects=a%20b&purposes=marketing").expectProblem(.badRequest)
            let many = (0...100).map { "s\($0)" }.joined(separator: ",")
            try await api.send(.get, "/v1/consent-checks?subjects=\(many)&purposes=marketing").expectProblem(
                .badRequest)
            #expect(try await api.history(other).isEmpty)
        }
    }

    @Test(arguments: Backend.all)
    func restrictedAndErasedSubjectsAreNotAllowed(backend: Backend) async throws {
        try await withApp(backend) { api in
            let restricted = uniqueSubjectText()
            try await record(api, restricted, "marketing", "granted")
            try await api.services.restrictions.restrict(restricted, requestID: nil)
            // Another replica (the split topology's consent role) learns of it within the registry's age.
            var answer: [String: Any] = [:]
            for _ in 0..<80 where answer["status"] as? String != "restricted" {
                answer = try await api.send(.get, "/v1/subjects/\(restricted)/consents/marketing").object()
                if answer["status"] as? String != "restricted" { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(answer["allowed"] as? Bool == false && answer["status"] as? String == "restricted")
            #expect(answer["eventId"] as? String != nil, "the decision is still shown")

            let user = try await api.newUser()
            try await record(api, user.id, "marketing", "granted")
            let filed = try await api.send(
                .post, "/v1/me/requests", json: #"{"kind":"erasure"}"#, token: user.accessToken)
            let id = try #require(try filed.object()["id"] as? String)
            try await api.send(.post, "/v1/requests/\(id)/transitions", json: #"{"status":"verified"}"#)
            #expect(try await api.send(.post, "/v1/requests/\(id)/erasure").status == .ok)
            let erased = try await api.send(.get, "/v1/subjects/\(user.id)/consents/marketing").object()
            #expect(erased["allowed"] as? Bool == false && erased["status"] as? String == "erased")
        }
    }

    @Test func entityTagsCompareAsRFC9110Says() {
        #expect(EntityTags.match(#""abc""#, #""abc""#))
        #expect(EntityTags.match(#"W/"abc""#, #""abc""#))
        #expect(EntityTags.match(#""x" , "abc""#, #""abc""#))
        #expect(EntityTags.match("*", #""abc""#))
        #expect(!EntityTags.match(#""abcd""#, #""abc""#))
        #expect(!EntityTags.match("abc", #""abc""#))
        #expect(!EntityTags.match("", #""abc""#))
    }

    private func record(_ api: API, _ subject: String, _ purpose: String, _ decision: String) async throws {
        let recorded = try await api.send(
            .post, "/v1/subjects/\(subject)/consents", json: #"{"purpose":"\#(purpose)","decision":"\#(decision)"}"#)
        #expect(recorded.status == .created, "\(String(buffer: recorded.body))")
    }
}
