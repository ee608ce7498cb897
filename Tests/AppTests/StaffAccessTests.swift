import Foundation
import HTTPTypes
import HummingbirdTesting
import QSPPTestSupport
import Testing

/// Staff who read or export a person's data say why, and the person sees who, when, what and why:
/// on their access log, their data page and in their export (GDPR Art. 15(1)(c)).
@Suite("Staff access")
struct StaffAccessTests {
    @Test(arguments: Backend.all)
    func staffSayWhyAndThePersonSeesIt(backend: Backend) async throws {
        try await withApp(backend) { api in
            let person = try await api.newUser()
            let other = try await api.newUser()
            let id = person.id
            let decided = try await api.send(
                .post, "/v1/subjects/\(id)/consents", json: #"{"purpose":"analytics","decision":"granted"}"#,
                token: person.accessToken)
            let event = try #require((try decided.object()["events"] as? [[String: Any]])?.first?["id"] as? String)
            let staff = api.adminToken
            let reads = [
                "/v1/subjects/\(id)/consents", "/v1/subjects/\(id)/consents/history", "/consent/\(id)",
                "/portal/consent/\(id)", "/v1/consent-receipts/\(event)", "/v1/users/\(id)/sessions",
                "/v1/subjects/\(id)/export",
            ]
            for path in reads {
                let detail = try await api.send(.get, path, token: staff).expectProblem(.badRequest)
                #expect(detail.contains("say why"), "\(path): \(detail)")
                try await api.send(.get, path + "?reason=%20%20", token: staff).expectProblem(.badRequest)
                try await api.send(.get, path + "?request=nonsense", token: staff).expectProblem(.badRequest)
            }
            // A person reading their own data says nothing and leaves no trace.
            #expect(try await api.send(.get, "/v1/subjects/\(id)/consents", token: person.accessToken).status == .ok)
            #expect(try await Self.accessLog(api, person).isEmpty)

            let otherRequest = try await Self.fileAccessRequest(api, other)
            try await api.send(.get, "/v1/subjects/\(id)/export?request=\(otherRequest)", token: staff)
                .expectProblem(.badRequest)
            #expect(
                try await api.send(.get, "/v1/subjects/\(id)/consents?reason=Customer%20called%20support", token: staff)
                    .status == .ok)
            let ownRequest = try await Self.fileAccessRequest(api, person)
            let export = try await api.send(.get, "/v1/subjects/\(id)/export?request=\(ownRequest)", token: staff)
            #expect(export.status == .ok)

            let log = try await Self.accessLog(api, person)
            let staffID = try #require(try jwtPart(staff, 1)["sub"] as? String)
            #expect(log.count == 2)
            #expect(log.allSatisfy { $0["staffId"] as? String == staffID })
            #expect(log.first?["action"] as? String == "export")
            #expect(log.first?["requestId"] as? String == ownRequest)
            #expect(log.last?["action"] as? String == "consents.read")
            #expect(log.last?["reason"] as? String == "Customer called support")
            #expect(try await Self.accessLog(api, other).isEmpty)

            // The export staff made already lists itself: the access is recorded before the archive is made.
            let files = try ExportAPITests.unzip(Data(export.body.readableBytesView))
            let accessCSV = String(decoding: try #require(files["staff-access.csv"]), as: UTF8.self)
            #expect(accessCSV.contains("export") && accessCSV.contains(ownRequest))
            #expect(accessCSV.contains("Customer called support"))

            // Their data page says the same.
            let browser = Browser(api.client)
            _ = try await browser.get("/login")
            #expect(
                try await browser.post("/login", ["email": person.email, "password": testPassword]).status
                    == .seeOther)
            let page = try await browser.get("/my/data").html
            #expect(page.contains("Who at the organisation looked at your data"))
            #expect(page.contains("Customer called support") && page.contains("exported your data"))
            #expect(page.contains(staffID))

            // Each access is ledgered, and the ledger still verifies.
            let verified = try await api.send(.get, "/v1/admin/ledger/verify")
            #expect(try verified.object()["intact"] as? Bool == true)
        }
    }

    static func accessLog(_ api: API, _ user: TestUser) async throws -> [[String: Any]] {
        let response = try await api.send(.get, "/v1/me/access-log", token: user.accessToken)
        #expect(response.status == .ok)
        return try response.object()["accesses"] as? [[String: Any]] ?? []
    }

    static func fileAccessRequest(_ api: API, _ user: TestUser) async throws -> String {
        let filed = try await api.send(.post, "/v1/me/requests", json: #"{"kind":"access"}"#, token: user.accessToken)
        return try #require(try filed.object()["id"] as? String)
    }
}
