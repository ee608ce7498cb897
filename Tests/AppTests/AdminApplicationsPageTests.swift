import Foundation
import HTTPTypes
import HummingbirdTesting
import QSPPTestSupport
import Testing

@testable import App

/// The admin portal's applications page: registering, a new secret and deletion through the same
/// rules as the API, the secret shown once, and only to administrators.
@Suite("Admin applications page")
struct AdminApplicationsPageTests {
    static func admin(_ api: API) async throws -> Browser {
        let browser = Browser(api.client)
        _ = try await browser.get("/login")
        let email = "apps-admin-\(UUID().uuidString.prefix(8))@qspp.test"
        _ = try await api.services.identity.createAdministrator(email: email, password: testPassword)
        _ = try await browser.post("/login", ["email": email, "password": testPassword])
        return browser
    }

    static func register(_ browser: Browser, _ fields: [(String, String)]) async throws -> TestResponse {
        try await browser.postFromAnotherSite(
            "/admin/applications", [("csrf", browser.csrf)] + fields, sameSite: true)
    }

    @Test(arguments: Backend.all)
    func anAdministratorRegistersRotatesAndDeletes(backend: Backend) async throws {
        try await withApp(backend, isolated: true) { api in
            let admin = try await Self.admin(api)
            let empty = try await admin.get("/admin/applications")
            #expect(empty.status == .ok && empty.html.contains("No application is registered."))

            let created = try await Self.register(
                admin,
                [
                    ("name", "Shop"), ("kind", "confidential"), ("tokenEndpointAuthMethod", "client_secret_basic"),
                    ("grantTypes", "authorization_code"), ("grantTypes", "refresh_token"), ("scopes", "openid"),
                    ("scopes", "email"), ("scopes", "offline_access"),
                    ("redirectUris", "https://shop.example/callback\r\nhttps://shop.example/other\r\n"),
                    ("postLogoutRedirectUris", ""), ("backchannelLogoutUri", ""), ("idTokenAlgorithm", "EdDSA"),
                ])
            #expect(created.status == .created, "\(created.html.prefix(2000))")
            #expect(created.headers[.cacheControl] == "no-store")
            let id = try #require(created.html.firstMatch(of: /id="issued-client-id">([A-Za-z0-9_-]+)</)?.1)
            let secret = try #require(created.html.firstMatch(of: /id="issued-client-secret">([A-Za-z0-9_-]+)</)?.1)
            let stored = try #require(try await api.services.store.identity.oauthClient(id: String(id)))
            #expect(stored.name == "Shop" && stored.redirectURIs.count == 2 && stored.idTokenAlgorithm == .ed25519)
            #expect(stored.scopes == [.openid, .email, .offlineAccess])
            let party = RelyingParty(id: String(id), secret: String(secret), redirectURI: stored.redirectURIs[0])
            let listed = try await admin.get("/admin/applications")
            #expect(listed.html.contains("id=\"client-\(id)\"") && !listed.html.contains(String(secret)))

            let rotated = try await admin.post("/admin/applications/\(id)/secret", [:])
            let newSecret = try #require(rotated.html.firstMatch(of: /id="issued-client-secret">([A-Za-z0-9_-]+)</)?.1)
            #expect(newSecret != secret)
            let old = try await party.post(api, "/introspect", ["token": "x"])
            #expect(old.status == .unauthorized, "the old secret stopped working")

            // The service's rules hold here too, and a refusal changes nothing.
            let refused = try await Self.register(
                admin,
                [
                    ("name", "Bad"), ("kind", "confidential"), ("grantTypes", "authorization_code"),
                    ("scopes", "openid"), ("redirectUris", "https://bad.example/cb#fragment"),
                    ("idTokenAlgorithm", "ML-DSA-65"),
                ])
            #expect(refused.status == .badRequest)
            #expect(refused.html.contains("redirectUris"))
            #expect(try await api.services.store.identity.oauthClients().count == 1)

            let deleted = try await admin.post("/admin/applications/\(id)/delete", [:])
            #expect(deleted.status == .seeOther)
            #expect(try await api.services.store.identity.oauthClient(id: String(id)) == nil)
            #expect(try await admin.post("/admin/applications/\(id)/delete", [:]).status == .notFound)
            #expect(
                try await admin.post("/admin/applications/csrf-less/delete", [:], csrf: "forged").status == .forbidden)
        }
    }
}
