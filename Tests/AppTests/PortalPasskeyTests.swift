import Foundation
import HTTPTypes
import HummingbirdTesting
import Identity
import QSPPTestSupport
import Testing

/// Passkeys through the portal's own routes, as `portal.js` drives them: options as JSON, then the
/// browser's answer posted in a form that answers like every other form; with a software
/// authenticator that is not ours standing in for the browser.
@Suite("Portal passkeys")
struct PortalPasskeyTests {
    static func json(_ response: TestResponse) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(buffer: response.body)) as? [String: Any])
    }

    static func text(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object), as: UTF8.self)
    }

    @Test(arguments: Backend.all)
    func aPasskeyIsAddedSignsInAndIsManagedFromTheSecurityPage(backend: Backend) async throws {
        try await withApp(backend) { api in
            let browser = Browser(api.client)
            let email = "portal-passkey-\(UUID().uuidString.prefix(8).lowercased())@qspp.test"
            _ = try await browser.get("/register")
            _ = try await browser.post(
                "/register", ["email": email, "password": testPassword, "confirmPassword": testPassword])
            #expect(try await browser.post("/login", ["email": email, "password": testPassword]).status == .seeOther)

            let authenticator = try SoftwareAuthenticator(origin: api.passkeyOrigin)
            let options = try await browser.post("/my/security/passkeys/options", ["currentPassword": ""])
            #expect(options.status == .ok && options.headers[.cacheControl] == "no-store")
            let created = try authenticator.answer("create", Data(buffer: options.body))
            // An answer that is not JSON, or none at all, is the form's error.
            let garbled = try await browser.post("/my/security/passkeys", ["name": "Laptop", "credential": "{"])
            #expect(garbled.status == .badRequest && garbled.html.contains("not what a browser sends"))
            #expect(try await browser.post("/my/security/passkeys", ["name": "Laptop"]).status == .badRequest)
            // The refused attempts did not spend the challenge: the page never reached it.
            let added = try await browser.post(
                "/my/security/passkeys", ["name": "Laptop", "credential": try Self.text(created)])
            #expect(added.status == .seeOther && added.headers[.location] == "/my/security?done=passkey-added")
            let page = try await browser.get("/my/security")
            #expect(page.html.contains("Laptop") && page.html.contains(#"id="passkeys""#))
            let id = try #require(created["id"] as? String)

            // Rename, with a name refused first.
            let badName = try await browser.post("/my/security/passkeys/\(id)/rename", ["name": "a\u{7}b"])
            #expect(badName.status == .badRequest)
            #expect(
                try await browser.post("/my/security/passkeys/\(id)/rename", ["name": "Work laptop"]).headers[
                    .location] == "/my/security?done=passkey-renamed")

            // Signed out, the sign-in page's passkey.
            let visitor = Browser(api.client)
            _ = try await visitor.get("/login")
            let signInOptions = try await visitor.post("/login/passkey/options", [:])
            #expect(signInOptions.status == .ok)
            #expect(try Self.json(signInOptions)["userVerification"] as? String == "required")
            let answer = try authenticator.answer("get", Data(buffer: signInOptions.body))
            let signedIn = try await visitor.post("/login/passkey", ["credential": try Self.text(answer)])
            #expect(signedIn.status == .seeOther && signedIn.headers[.location] == "/my/consent")
            // Its challenge is spent: the same answer again is the sign-in page with the reason.
            let replayed = try await Browser(api.client).post("/login/passkey", ["credential": try Self.text(answer)])
            #expect(replayed.status == .forbidden || replayed.status == .badRequest)
            let stranger = Browser(api.client)
            _ = try await stranger.get("/login")
            let again = try await stranger.post("/login/passkey", ["credential": try Self.text(answer)])
            #expect(again.status == .badRequest && again.html.contains("answered already"))

            // The second-factor options need a live MFA challenge.
            let refused = try await stranger.post("/login/mfa/passkey/options", ["mfaToken": "not-a-token"])
            #expect(refused.status == .unauthorized)
            #expect((try Self.json(refused)["error"] as? String)?.isEmpty == false)

            // Passwordless: from a session begun with the passkey only, the password goes; then the last
            // passkey stays.
            let passwordSession = try await browser.post("/my/security/password/remove", ["currentPassword": ""])
            #expect(passwordSession.status == .forbidden && passwordSession.html.contains("Sign in with your passkey"))
            #expect(
                try await visitor.post("/my/security/password/remove", ["currentPassword": ""]).headers[.location]
                    == "/my/security?done=password-removed")
            #expect(try await browser.get("/my/security").html.contains("You sign in with your passkeys only"))
            let last = try await browser.post("/my/security/passkeys/\(id)/remove", [:])
            #expect(last.status == .conflict && last.html.contains("last way to sign in"))

            // With a second passkey, the first may go; another id is not found.
            let spare = try SoftwareAuthenticator(origin: api.passkeyOrigin)
            let spareOptions = try await browser.post("/my/security/passkeys/options", [:])
            let spareAnswer = try spare.answer("create", Data(buffer: spareOptions.body))
            #expect(
                try await browser.post(
                    "/my/security/passkeys", ["name": "Spare", "credential": try Self.text(spareAnswer)]
                ).status == .seeOther)
            #expect(try await browser.post("/my/security/passkeys/AAAA/remove", [:]).status == .notFound)
            #expect(
                try await browser.post("/my/security/passkeys/\(id)/remove", [:]).headers[.location]
                    == "/my/security?done=passkey-removed")
            let page2 = try await browser.get("/my/security")
            #expect(page2.html.contains("Spare") && !page2.html.contains("Work laptop"))
        }
    }
}
