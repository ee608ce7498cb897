import Foundation
import HTTPTypes
import HummingbirdTesting
import Identity
import QSPPTestSupport
import Testing

@testable import App

@Suite("Portal pages: sessions, CSRF, CSP, and every user and admin flow")
struct PortalPageTests {
    /// Registers through the form, which says to check the inbox, then signs in through the sign-in form.
    func register(_ browser: Browser, email: String = "p-\(UUID().uuidString.prefix(8))@qspp.test") async throws {
        _ = try await browser.get("/register")
        let response = try await browser.post(
            "/register", ["email": email, "password": testPassword, "confirmPassword": testPassword])
        #expect(response.status == .ok)
        #expect(response.html.contains("Check your inbox"))
        let signedIn = try await browser.post("/login", ["email": email, "password": testPassword])
        #expect(signedIn.status == .seeOther)
        #expect(signedIn.headers[.location] == "/my/consent")
    }

    @Test(
        "every page carries a strict CSP; session, device and CSRF cookies are __Host-, HttpOnly, Secure, SameSite=Strict"
    )
    func headersAndCookies() async throws {
        try await withApp(.sqlite) { api in
            let browser = Browser(api.client)
            let login = try await browser.get("/login")
            #expect(login.status == .ok)
            #expect(login.headers[.contentType] == "text/html; charset=utf-8")
            let csp = try #require(login.headers[.contentSecurityPolicy])
            #expect(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"))
            #expect(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"))
            #expect(browser.lastSetCookies.contains { $0.hasPrefix("__Host-qspp-csrf=") })
            try await register(browser)
            #expect(browser.lastSetCookies.count == 3)
            #expect(browser.cookies["__Host-qspp-device"] != nil, "the browser is marked as one that signed in")
            for cookie in browser.lastSetCookies {
                #expect(cookie.hasPrefix("__Host-qspp-"))
                for attribute in ["Path=/", "HttpOnly", "Secure", "SameSite=Strict"] {
                    #expect(cookie.contains(attribute))
                }
            }
            for page in ["/my/consent", "/my/data", "/my/value", "/my/security"] {
                let response = try await browser.get(page)
                #expect(response.status == .ok, "\(page)")
                #expect(response.headers[.contentSecurityPolicy] == PortalPages.contentSecurityPolicy)
                #expect(response.headers[.cacheControl] == "no-store")
                #expect(!response.html.contains("style=\""), "inline styles would need 'unsafe-inline'")
            }
            let css = try await browser.get(PortalPages.bundled.assetURL("portal.css"))
            #expect(css.status == .ok)
            #expect(css.headers[.cacheControl] == "public, max-age=31536000, immutable")
        }
    }

    @Test("a form without the right CSRF token is refused and changes nothing")
    func csrfIsEnforced() async throws {
        try await withApp(.sqlite) { api in
            let browser = Browser(api.client)
            _ = try await browser.get("/register")
            let email = "csrf-\(UUID().uuidString.prefix(8))@qspp.test"
            let fields = ["email": email, "password": testPassword, "confirmPassword": testPassword]
            for token in ["", "x", String(browser.csrf.reversed())] {
                let refused = try await browser.post("/register", fields, csrf: token)
                #expect(refused.status == .forbidden)
                #expect(refused.html.contains("Form expired"))
            }
            // A token from another browser does not match this browser's cookie either.
            let other = Browser(api.client)
            _ = try await other.get("/login")
            #expect(try await browser.post("/register", fields, csrf: other.csrf).status == .forbidden)
            #expect(try await api.login(email).status == .unauthorized)

            try await register(browser)
            let grant = try await browser.post(
                "/my/consent", ["purpose": "marketing", "decision": "granted"], csrf: "")
            #expect(grant.status == .forbidden)
            #expect(!(try await browser.get("/my/consent").html.contains("ledger #")))
        }
    }

    @Test(arguments: Backend.all)
    func consentToggleTimelineAndReceipt(backend: Backend) async throws {
        try await withApp(backend) { api in
            let browser = Browser(api.client)
            try await register(browser)
            let page = try await browser.get("/my/consent")
            #expect(page.html.contains("id=\"purpose-marketing\""))
            #expect(page.html.contains("No decisions yet."))

            let granted = try await browser.post("/my/consent", ["purpose": "marketing", "decision": "granted"])
            #expect(granted.status == .seeOther)
            #expect(granted.headers[.location] == "/my/consent?done=consent-saved")
            var html = try await browser.get("/my/consent?done=consent-saved").html
            #expect(html.contains("Your choice is saved."))
            #expect(html.contains("<strong>Marketing</strong>: granted (explicit"))
            #expect(html.contains("aria-label=\"Withdraw consent for Marketing\""))

            _ = try await browser.post("/my/consent", ["purpose": "marketing", "decision": "withdrawn"])
            html = try await browser.get("/my/consent").html
            let withdrawnAt = try #require(html.range(of: "<strong>Marketing</strong>: withdrawn"))
            let grantedAt = try #require(html.range(of: "<strong>Marketing</strong>: granted"))
            #expect(withdrawnAt.lowerBound < grantedAt.lowerBound, "newest first")

            let receiptPath = try #require(
                html.firstMatch(of: /href="(\/my\/receipts\/[0-9a-f-]{36})"/).map { String($0.1) })
            let receipt = try await browser.get(receiptPath)
            #expect(receipt.status == .ok)
            #expect(receipt.headers[.contentType] == "application/jose")
            #expect(String(buffer: receipt.body).split(separator: ".").count == 3)

            // GPC: the page states what this browser sends.
            browser.headers[.secGPC] = "1"
            #expect(try await browser.get("/my/consent").html.contains("sends the Global Privacy Control signal"))

            let invalid = try await browser.post("/my/consent", ["purpose": "marketing", "decision": "maybe"])
            #expect(invalid.status == .badRequest)
            #expect(invalid.html.contains("the decision must be granted or withdrawn"))
        }
    }

    @Test("another person's receipt, session or admin page answers like a missing one")
    func noIDOR() async throws {
        try await withApp(.sqlite) { api in
            let alice = Browser(api.client)
            try await register(alice)
            _ = try await alice.post("/my/consent", ["purpose": "marketing", "decision": "granted"])
            let receiptPath = try #require(
                try await alice.get("/my/consent").html.firstMatch(of: /href="(\/my\/receipts\/[0-9a-f-]{36})"/)
                    .map { String($0.1) })
            let aliceSession = try #require(
                try await alice.get("/my/security").html.firstMatch(of: /sessions\/([0-9a-f-]{36})\/revoke/)
                    .map { String($0.1) })

            let mallory = Browser(api.client)
            try await register(mallory)
            #expect(try await mallory.get(receiptPath).status == .notFound)
            #expect(try await mallory.post("/my/security/sessions/\(aliceSession)/revoke", [:]).status == .notFound)
            #expect(try await alice.get("/my/security").status == .ok)
            for page in [
                "/admin", "/admin/purposes", "/admin/ledger", "/admin/valuation", "/admin/keys", "/admin/applications",
            ] {
                let refused = try await mallory.get(page)
                #expect(refused.status == .forbidden, "\(page)")
                #expect(refused.html.contains("Not allowed"))
            }
            // Signed out, a page sends the browser to the sign-in page.
            let stranger = Browser(api.client)
            let redirected = try await stranger.get("/my/data")
            #expect(redirected.status == .found)
            #expect(redirected.headers[.location] == "/login")
        }
    }

    @Test("the ticket expires into a refresh; sign-out ends the session for good")
    func ticketRenewalAndSignOut() async throws {
        try await withApp(.sqlite) { api in
            let browser = Browser(api.client)
            try await register(browser)
            let refreshBefore = try #require(browser.cookies["__Host-qspp-refresh"])
            browser.forget("__Host-qspp-ticket")
            #expect(try await browser.get("/my/data").status == .ok)
            #expect(browser.cookies["__Host-qspp-ticket"] != nil)
            #expect(browser.cookies["__Host-qspp-refresh"] != refreshBefore, "the refresh token rotates")

            // A forged ticket counts for nothing.
            let ticket = try #require(browser.cookies["__Host-qspp-ticket"])
            let stolen = Browser(api.client)
            _ = try await stolen.get("/login")
            let forged = String(ticket.dropLast(2)) + (ticket.hasSuffix("AA") ? "BB" : "AA")
            stolen.headers[.cookie] = "__Host-qspp-ticket=\(forged)"
            #expect(try await stolen.get("/my/data").status == .found)

            let signedOut = try await browser.post("/logout", [:])
            #expect(signedOut.status == .seeOther)
            #expect(browser.cookies["__Host-qspp-ticket"] == nil && browser.cookies["__Host-qspp-refresh"] == nil)
            // The old ticket no longer opens a page: its session has ended.
            stolen.headers[.cookie] = "__Host-qspp-ticket=\(ticket)"
            #expect(try await stolen.get("/my/data").status == .found)
        }
    }

    @Test("what a person types is escaped on every page")
    func userInputIsEscaped() async throws {
        try await withApp(.sqlite) { api in
            let browser = Browser(api.client)
            try await register(browser)
            let saved = try await browser.post(
                "/my/data/profile", ["displayName": "<script>alert(1)</script>\"'"])
            #expect(saved.status == .seeOther)
            let html = try await browser.get("/my/data").html
            #expect(!html.contains("<script>alert(1)"))
            #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#39;"))
            let failed = try await browser.post("/login", ["email": "\"><img src=x>", "password": "x"])
            #expect(!failed.html.contains("<img src=x>"))
        }
    }

    @Test("MFA: set up from the page's secret, then sign-in asks for the code")
    func mfaSetupAndLogin() async throws {
        try await withApp(.sqlite) { api in
            let browser = Browser(api.client)
            let email = "mfa-\(UUID().uuidString.prefix(8))@qspp.test"
            try await register(browser, email: email)
            let setup = try await browser.post("/my/security/mfa", [:])
            #expect(setup.status == .ok)
            let secret = try #require(setup.html.firstMatch(of: /id="totp-secret">([A-Z2-7]+)</).map { String($0.1) })
            #expect(setup.html.contains("<svg"))
            let first = try totpCode(secret)
            let confirmed = try await browser.post("/my/security/mfa/confirm", ["code": first])
            #expect(confirmed.status == .ok)
            #expect(
                confirmed.html.matches(of: /<li><code>[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}<\/code><\/li>/)
                    .count == 10)

            _ = try await browser.post("/logout", [:])
            let challenge = try await browser.post("/login", ["email": email, "password": testPassword])
            #expect(challenge.status == .ok)
            #expect(browser.cookies["__Host-qspp-ticket"] == nil)
            let mfaToken = try #require(
                challenge.html.firstMatch(of: /name="mfaToken" value="([^"]+)"/).map { String($0.1) })
            let wrong = try await browser.post("/login/mfa", ["mfaToken": mfaToken, "code": "000000"])
            #expect(wrong.status == .unauthorized)
            #expect(wrong.html.contains("Invalid code"))
            let second = try await freshTOTPCode(secret, after: first)
            let done = try await browser.post("/login/mfa", ["mfaToken": mfaToken, "code": second])
            #expect(done.status == .seeOther)
            #expect(try await browser.get("/my/security").html.contains("with MFA"))
        }
    }

    @Test(arguments: Backend.all)
    func erasureThroughThePages(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let person = Browser(api.client)
            _ = try await person.get("/login")
            _ = try await person.post("/login", ["email": user.email, "password": user.password])
            let confirm = try await person.post("/my/data/requests", ["kind": "erasure"])
            #expect(confirm.status == .ok)
            #expect(confirm.html.contains("This cannot be undone."))
            #expect(try await person.get("/my/data").html.contains("You have made no requests."))
            let filed = try await person.post("/my/data/requests", ["kind": "erasure", "confirm": "erase"])
            #expect(filed.status == .seeOther)
            #expect(try await person.get("/my/data").html.contains("Erasure (GDPR Art. 17)"))

            let admin = Browser(api.client)
            _ = try await admin.get("/login")
            let adminEmail = "staff-\(UUID().uuidString.prefix(8))@qspp.test"
            _ = try await api.services.identity.createAdministrator(email: adminEmail, password: testPassword)
            #expect(
                try await admin.post("/login", ["email": adminEmail, "password": testPassword]).status == .seeOther)
            // The queue is shared with other tests on PostgreSQL: find this person's row.
            let row = try #require(
                try await admin.get("/admin").html.components(separatedBy: "<tr").first {
                    $0.contains("<code>\(user.id)</code>")
                })
            let requestID = try #require(row.firstMatch(of: /id="request-([0-9a-f-]{36})"/).map { String($0.1) })
            #expect(
                try await admin.post("/admin/requests/\(requestID)/verify", ["verification": "signed-in request"])
                    .status == .seeOther)
            #expect(try await admin.post("/admin/requests/\(requestID)/fulfil", [:]).status == .seeOther)

            // The person's session is over and the password no longer signs in.
            #expect(try await person.get("/my/data").status == .found)
            let failed = try await person.post("/login", ["email": user.email, "password": user.password])
            #expect(failed.status == .unauthorized)
            #expect(failed.html.contains("Login failed"))
        }
    }

    @Test("admin pages: queue, purposes, ledger verification and checkpoint, jobs, keys")
    func adminPages() async throws {
        try await withApp(.sqlite) { api in
            let admin = Browser(api.client)
            _ = try await admin.get("/login")
            let email = "admin2-\(UUID().uuidString.prefix(8))@qspp.test"
            _ = try await api.services.identity.createAdministrator(email: email, password: testPassword)
            _ = try await admin.post("/login", ["email": email, "password": testPassword])
            #expect(try await admin.get("/admin").html.contains("The queue is empty."))
            let created = try await admin.post(
                "/admin/purposes",
                [
                    "id": "research", "title": "Research", "description": "Studies", "lawfulBasis": "consent",
                    "noticeText": "Version one",
                ])
            #expect(created.status == .seeOther)
            _ = try await admin.post("/admin/purposes/research/notices", ["noticeText": "Version two"])
            let purposes = try await admin.get("/admin/purposes").html
            #expect(purposes.contains("id=\"admin-purpose-research\""))
            #expect(purposes.contains("<td>2 (current)</td>"))

            #expect(try await admin.post("/admin/ledger/checkpoint", [:]).status == .seeOther)
            let ledger = try await admin.get("/admin/ledger").html
            #expect(ledger.contains("ML-DSA-65 JWS"))
            let verified = try await admin.post("/admin/ledger/verify", [:])
            #expect(verified.status == .ok)
            #expect(verified.html.contains("The chain is intact"))
            #expect(try await admin.get("/admin/valuation").status == .ok)
            let keys = try await admin.get("/admin/keys").html
            #expect(keys.contains("ML-DSA-65"))
            #expect(keys.contains(api.services.settings.masterKey.fingerprint))
        }
    }

    @Test("the value page draws its charts as SVG on the server, counting only consented records")
    func valuePage() async throws {
        try await withApp(.sqlite) { api in
            let user = try await api.newUser(confirmed: true)
            let browser = Browser(api.client)
            _ = try await browser.get("/login")
            _ = try await browser.post("/login", ["email": user.email, "password": user.password])
            #expect(try await browser.get("/my/value").html.contains("nothing to value"))
            for (category, purpose) in [("demographics", "analytics"), ("health", "marketing")] {
                let stored = try await api.send(
                    .post, "/v1/me/data-records",
                    json:
                        #"{"category":"\#(category)","purpose":"\#(purpose)","attributes":{"age":30},"source":"test"}"#,
                    token: user.accessToken)
                #expect(stored.status == .created)
            }
            _ = try await browser.post("/my/consent", ["purpose": "analytics", "decision": "granted"])
            let html = try await browser.get("/my/value").html
            #expect(html.contains("<svg class=\"chart\" role=\"img\" aria-labelledby=\"value-chart\""))
            #expect(html.contains("<strong>1 / 1</strong>"))
            #expect(html.contains(">demographics</text>"))
            #expect(!html.contains(">health</text>"), "a record without consent adds no value")
            #expect(html.contains("no: its purpose is not consented to"))
        }
    }
}

@Suite("Portal pages: the consent history pages")
struct PortalHistoryTests {
    @Test("a long history shows the newest 100 decisions, then pages to older ones")
    func historyPages() async throws {
        try await withApp(.sqlite) { api in
            let user = try await api.newUser()
            for index in 0..<3 {
                let decisions = (0..<50).map { step in
                    #"{"purpose":"marketing","decision":"\#((index * 50 + step) % 2 == 0 ? "granted" : "withdrawn")"}"#
                }.joined(separator: ",")
                let recorded = try await api.send(
                    .post, "/v1/subjects/\(user.id)/consents/batch", json: #"{"decisions":[\#(decisions)]}"#,
                    token: user.accessToken)
                #expect(recorded.status == .created)
            }
            let browser = Browser(api.client)
            _ = try await browser.get("/login")
            _ = try await browser.post("/login", ["email": user.email, "password": user.password])
            let newest = try await browser.get("/my/consent").html
            #expect(newest.matches(of: /href="\/my\/receipts\//).count == 100)
            let older = try #require(newest.firstMatch(of: /href="(\/my\/consent\?older=[A-Za-z0-9_-]+)#timeline"/))
            let rest = try await browser.get(String(older.1)).html
            #expect(rest.matches(of: /href="\/my\/receipts\//).count == 50)
            #expect(!rest.contains("Older decisions"))
            #expect(try await browser.get("/my/consent?older=bogus").status == .badRequest)
        }
    }
}

@Suite("Portal pages: errors a browser meets before any page")
struct PortalErrorPageTests {
    @Test("a browser over the login limit gets an HTML page with Retry-After; an API client gets a problem")
    func rateLimitedLoginPage() async throws {
        try await withApp(.sqlite, configure: { $0.gateway.rateLimits.globalPerAddress = 3 }) { api in
            try await awayFromRateWindowEdge()
            let browser = Browser(api.client)
            browser.headers[.accept] = "text/html,application/xhtml+xml"
            for _ in 0..<3 { _ = try await browser.get("/login") }
            let refused = try await browser.get("/login")
            #expect(refused.status == .tooManyRequests)
            #expect(refused.headers[.contentType] == "text/html; charset=utf-8")
            #expect(refused.headers[.retryAfter] != nil)
            #expect(refused.html.contains("Too many requests"))
            let missing = try await api.send(.get, "/v1/nowhere", headers: [.accept: "text/html"])
            #expect(missing.headers[.contentType] == "application/problem+json")
        }
    }
}
