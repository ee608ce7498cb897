import Foundation
import HTTPTypes
import HummingbirdTesting
import PQCrypto
import QSPPTestSupport
import Testing

@testable import App

/// A scope grant is a consent decision: each grant on the consent screen and each withdrawal (a
/// disconnection) is in the ledger, listed on the security page, and has a signed receipt that the
/// public JWK Set alone verifies.
@Suite("Application grant receipts")
struct GrantReceiptTests {
    static func receipts(_ browser: Browser) async throws -> [String] {
        try await browser.get("/my/security").html.matches(
            of: /\/my\/security\/applications\/receipts\/([0-9a-f-]{36})/
        )
        .map { String($0.1) }
    }

    static func claims(_ api: API, _ browser: Browser, _ id: String) async throws -> [String: Any] {
        let downloaded = try await browser.get("/my/security/applications/receipts/\(id)")
        #expect(downloaded.status == .ok)
        #expect(downloaded.headers[.contentType] == "application/jose")
        let jwks = try JSONSerialization.data(withJSONObject: ["keys": api.services.identity.tokens.jwks])
        let verified = try OfflineJWSVerifier(jwks: jwks).verify(
            String(buffer: downloaded.body), type: "grant-receipt+jwt")
        let claims = try #require(try JSONSerialization.jsonObject(with: verified.payload) as? [String: Any])
        #expect(claims["jti"] as? String == id)
        let sequence = try await api.services.ledger.sequence(of: "auth:" + id)
        #expect(sequence != nil && (claims["ledger_sequence"] as? Int).map(Int64.init) == sequence)
        return claims
    }

    @Test(arguments: Backend.all)
    func eachGrantAndWithdrawalHasASignedReceipt(backend: Backend) async throws {
        try await withApp(backend) { api in
            let (party, user, browser) = try await api.personSignedInWith(RelyingParty.webApp)
            #expect(try await Self.receipts(browser).isEmpty)
            _ = try await browser.code(for: party)
            let afterGrant = try await Self.receipts(browser)
            try #require(afterGrant.count == 1)
            let granted = try await Self.claims(api, browser, afterGrant[0])
            #expect(granted["decision"] as? String == "granted" && granted["client_id"] as? String == party.id)
            #expect(granted["sub"] as? String == user.id)
            #expect((granted["scope"] as? String)?.split(separator: " ").contains("openid") == true)

            let disconnected = try await browser.post("/my/security/applications/\(party.id)/disconnect", [:])
            #expect(disconnected.status == .seeOther)
            let afterWithdrawal = try await Self.receipts(browser)
            try #require(afterWithdrawal.count == 2 && afterWithdrawal[1] == afterGrant[0], "newest first")
            let withdrawn = try await Self.claims(api, browser, afterWithdrawal[0])
            #expect(withdrawn["decision"] as? String == "withdrawn" && withdrawn["client_id"] as? String == party.id)

            // Only the person's own decisions.
            let stranger = Browser(api.client)
            try await stranger.signIn(try await api.newUser().email)
            #expect(try await stranger.get("/my/security/applications/receipts/\(afterGrant[0])").status == .notFound)
            #expect(try await stranger.get("/my/security/applications/receipts/not-an-id").status == .notFound)
        }
    }
}
