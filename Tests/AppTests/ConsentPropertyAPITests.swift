import Foundation
import HTTPTypes
import HummingbirdTesting
import Identity
import NIOCore
import QSPPTestSupport
import Testing

@testable import App

/// Consent properties through the real router on both backends: administrators register websites;
/// only a live property's own origins read its banner, start visits and record a visitor's decisions
/// (cross-origin, answered with that origin alone); forged or missing visitor tokens, purposes the
/// site does not ask about, and other bad input get 4xx and change nothing.
@Suite("Consent properties")
struct ConsentPropertyAPITests {
    static let shop = "https://shop.example"

    static func property(
        _ api: API, origins: String = #"["https://Shop.example:443/","http://localhost:8080"]"#
    )
        async throws -> String
    {
        let created = try await api.send(
            .post, "/v1/admin/properties",
            json: #"{"name":"Shop","origins":\#(origins),"purposes":["analytics","third_party_sharing"]}"#)
        #expect(created.status == .created, "\(String(buffer: created.body))")
        return try #require(try created.object()["id"] as? String)
    }

    static func fromPage(
        _ api: API, _ method: HTTPRequest.Method, _ path: String, json: String? = nil, origin: String? = shop,
        visitor: String? = nil, gpc: Bool = false
    ) async throws -> TestResponse {
        var headers = HTTPFields()
        if let origin { headers[.origin] = origin }
        if let visitor { headers[PropertyController.visitorHeader] = visitor }
        if gpc { headers[.secGPC] = "1" }
        return try await api.send(method, path, json: json, token: nil, headers: headers)
    }

    static func visit(_ api: API, _ property: String) async throws -> String {
        let started = try await fromPage(api, .post, "/v1/properties/\(property)/visitors")
        #expect(started.status == .created)
        #expect(started.headers[.accessControlAllowOrigin] == shop)
        return try #require(try started.object()["token"] as? String)
    }

    @Test(arguments: Backend.all)
    func administratorsRegisterPropertiesWithTheirOrigins(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { api in
            let id = try await Self.property(api)
            let listed = try await api.send(.get, "/v1/admin/properties").object()["properties"] as? [[String: Any]]
            let shop = try #require(listed?.first)
            #expect(shop["id"] as? String == id)
            #expect(shop["origins"] as? [String] == ["http://localhost:8080", "https://shop.example"])
            #expect(shop["purposes"] as? [String] == ["analytics", "third_party_sharing"])

            for body in [
                #"{"name":"X","origins":["https://shop.example/path"],"purposes":["analytics"]}"#,
                #"{"name":"X","origins":["ftp://shop.example"],"purposes":["analytics"]}"#,
                #"{"name":"X","origins":["https://user@shop.example"],"purposes":["analytics"]}"#,
                #"{"name":"X","origins":["https://a%20b.example"],"purposes":["analytics"]}"#,
                #"{"name":"X","origins":["https://shop_example"],"purposes":["analytics"]}"#,
                #"{"name":"X","origins":[],"purposes":["analytics"]}"#,
                #"{"name":"X","origins":["https://shop.example"],"purposes":["nope"]}"#,
                #"{"name":"X","origins":["https://shop.example"],"purposes":[]}"#,
                #"{"name":"","origins":["https://shop.example"],"purposes":["analytics"]}"#,
                #"{"name":"X","origins":["https://shop.example"],"purposes":["analytics"],"extra":1}"#,
            ] {
                try await api.send(.post, "/v1/admin/properties", json: body).expectProblem(.badRequest)
            }
            let user = try await api.newUser()
            try await api.send(
                .post, "/v1/admin/properties",
                json: #"{"name":"X","origins":["https://a.example"],"purposes":["analytics"]}"#,
                token: user.accessToken
            ).expectProblem(.forbidden)
            try await api.send(.get, "/v1/admin/properties", token: nil).expectProblem(.unauthorized)
            let after = try await api.send(.get, "/v1/admin/properties").object()["properties"] as? [[String: Any]]
            #expect(after?.count == 1, "nothing refused was stored")

            #expect(try await api.send(.delete, "/v1/admin/properties/\(id)").status == .noContent)
            try await api.send(.delete, "/v1/admin/properties/\(id)").expectProblem(.notFound)
            try await Self.fromPage(api, .get, "/v1/properties/\(id)/banner").expectProblem(.notFound)
            let audit = try await api.services.identity.authEvents(userID: nil, limit: 50).map(\.kind)
            #expect(audit.contains(.propertyRegistered) && audit.contains(.propertyRetired))
        }
    }

    @Test(arguments: Backend.all)
    func aVisitorsDecisionsAreRecordedFromThePropertysOriginsOnly(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { api in
            let id = try await Self.property(api)
            let banner = try await Self.fromPage(api, .get, "/v1/properties/\(id)/banner")
            #expect(banner.status == .ok)
            #expect(banner.headers[.accessControlAllowOrigin] == Self.shop)
            let purposes = try banner.object()["purposes"] as? [[String: Any]] ?? []
            #expect(purposes.map { $0["id"] as? String } == ["analytics", "third_party_sharing"])
            #expect(purposes.allSatisfy { $0["noticeVersion"] as? Int == 1 && $0["noticeText"] is String })
            #expect(purposes.last?["saleOrSharing"] as? Bool == true)

            // Another origin, or none, reads nothing and records nothing.
            for origin in ["https://evil.example", "https://shop.example.evil.example", nil] {
                let refused = try await Self.fromPage(api, .get, "/v1/properties/\(id)/banner", origin: origin)
                try refused.expectProblem(.forbidden)
                #expect(refused.headers[.accessControlAllowOrigin] == nil)
            }
            try await Self.fromPage(api, .post, "/v1/properties/\(id)/visitors", origin: "https://evil.example")
                .expectProblem(.forbidden)
            try await Self.fromPage(api, .get, "/v1/properties/\(UUID())/banner").expectProblem(.notFound)

            // Preflights: the property's origin may send the visitor header; another may not.
            var preflight = HTTPFields()
            preflight[.origin] = "http://localhost:8080"
            preflight[.accessControlRequestMethod] = "POST"
            preflight[.accessControlRequestHeaders] = "content-type, qspp-visitor"
            let allowed = try await api.send(
                .options, "/v1/properties/\(id)/consents", token: nil, headers: preflight)
            #expect(allowed.status == .noContent)
            #expect(allowed.headers[.accessControlAllowOrigin] == "http://localhost:8080")
            #expect(allowed.headers[.accessControlAllowHeaders]?.contains("qspp-visitor") == true)
            preflight[.origin] = "https://evil.example"
            try await api.send(.options, "/v1/properties/\(id)/consents", token: nil, headers: preflight)
                .expectProblem(.forbidden)

            let token = try await Self.visit(api, id)
            let recorded = try await Self.fromPage(
                api, .post, "/v1/properties/\(id)/consents",
                json: #"{"decisions":[{"purpose":"analytics","decision":"granted"}]}"#, visitor: token)
            #expect(recorded.status == .created, "\(String(buffer: recorded.body))")
            #expect(recorded.headers[.accessControlAllowOrigin] == Self.shop)
            #expect(recorded.headers[.accessControlExposeHeaders]?.contains("Retry-After") == true)
            let event = try #require((try recorded.object()["events"] as? [[String: Any]])?.first)
            #expect(event["purpose"] as? String == "analytics" && event["method"] as? String == "explicit")

            let state = try await Self.fromPage(api, .get, "/v1/properties/\(id)/consents", visitor: token).object()
            let standing = state["purposes"] as? [[String: Any]] ?? []
            #expect(standing.first { $0["purpose"] as? String == "analytics" }?["decision"] as? String == "granted")
            #expect(standing.first { $0["purpose"] as? String == "third_party_sharing" }?["decision"] == nil)

            // The receipt is the visitor's, signed; another visitor's token does not reach it.
            let receiptPath = try #require(event["receipt"] as? String)
            let receipt = try await Self.fromPage(api, .get, receiptPath, visitor: token)
            #expect(receipt.status == .ok && receipt.headers[.contentType] == "application/jose")
            #expect(String(buffer: receipt.body).split(separator: ".").count == 3)
            let stranger = try await Self.visit(api, id)
            try await Self.fromPage(api, .get, receiptPath, visitor: stranger).expectProblem(.notFound)

            // The decision is the visitor's, kept like anyone's.
            let subject = "visitor:" + (try #require(state["visitorId"] as? String))
            let history = try await api.history(subject)
            #expect(history.count == 1 && history.first?["purpose"] as? String == "analytics")
        }
    }

    @Test(arguments: Backend.all)
    func forgedTokensAndBadDecisionsChangeNothing(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { api in
            let id = try await Self.property(api)
            let token = try await Self.visit(api, id)
            let path = "/v1/properties/\(id)/consents"
            let grant = #"{"decisions":[{"purpose":"analytics","decision":"granted"}]}"#
            let parts = token.split(separator: ".")
            // A different first character of the MAC: every bit of it counts.
            let mac = String(parts[3])
            let forged = parts[0...2].joined(separator: ".") + "." + (mac.hasPrefix("A") ? "B" : "A") + mac.dropFirst()
            let otherVisitor = "v1.\(UUID().uuidString.lowercased()).\(parts[2]).\(parts[3])"
            for visitor in [forged, otherVisitor, "v1.x.y.z", String(repeating: "a", count: 300), nil] {
                let refused = try await Self.fromPage(api, .post, path, json: grant, visitor: visitor)
                try refused.expectProblem(.unauthorized)
                #expect(refused.headers[.accessControlAllowOrigin] == Self.shop, "the page can read why")
            }
            let many = (0..<31).map { _ in #"{"purpose":"analytics","decision":"granted"}"# }.joined(separator: ",")
            for body in [
                #"{"decisions":[{"purpose":"marketing","decision":"granted"}]}"#,
                #"{"decisions":[{"purpose":"nope","decision":"granted"}]}"#,
                #"{"decisions":[{"purpose":"Bad Name","decision":"granted"}]}"#,
                #"{"decisions":[{"purpose":"analytics","decision":"maybe"}]}"#,
                #"{"decisions":[{"purpose":"analytics","decision":"granted","x":1}]}"#,
                #"{"decisions":[]}"#, #"{"decisions":[\#(many)]}"#, "not json",
            ] {
                try await Self.fromPage(api, .post, path, json: body, visitor: token).expectProblem(.badRequest)
            }
            // A notice version the purpose never had is unprocessable.
            try await Self.fromPage(
                api, .post, path,
                json: #"{"decisions":[{"purpose":"analytics","decision":"granted","noticeVersion":99}]}"#,
                visitor: token
            ).expectProblem(.unprocessableContent)
            let state = try await Self.fromPage(api, .get, path, visitor: token).object()
            let standing = state["purposes"] as? [[String: Any]] ?? []
            #expect(standing.allSatisfy { $0["decision"] == nil }, "nothing was recorded")
        }
    }

    @Test(arguments: Backend.all)
    func globalPrivacyControlWithdrawsSaleOrSharing(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { api in
            let id = try await Self.property(api)
            let token = try await Self.visit(api, id)
            let recorded = try await Self.fromPage(
                api, .post, "/v1/properties/\(id)/consents",
                json: #"{"decisions":[{"purpose":"analytics","decision":"granted"}]}"#, visitor: token, gpc: true)
            #expect(recorded.status == .created)
            let events = try recorded.object()["events"] as? [[String: Any]] ?? []
            let gpc = events.first { $0["purpose"] as? String == "third_party_sharing" }
            #expect(gpc?["decision"] as? String == "withdrawn" && gpc?["method"] as? String == "gpc")
        }
    }

    @Test("new visits and decisions are limited per address before any token is checked")
    func visitsAreLimitedPerAddress() async throws {
        try await withApp(.sqlite, isolated: true, configure: { $0.gateway.rateLimits.consentPerUser = 3 }) { api in
            let id = try await Self.property(api)
            try await awayFromRateWindowEdge()
            for _ in 0..<3 { _ = try await Self.visit(api, id) }
            let limited = try await Self.fromPage(api, .post, "/v1/properties/\(id)/visitors")
            try limited.expectProblem(.tooManyRequests)
            #expect(limited.headers[.accessControlAllowOrigin] == Self.shop, "the page can read that it must wait")
            #expect(limited.headers[.accessControlExposeHeaders]?.contains("Retry-After") == true)
            #expect(try await Self.fromPage(api, .get, "/v1/properties/\(id)/banner").status == .ok, "reading is not")
        }
    }
}
