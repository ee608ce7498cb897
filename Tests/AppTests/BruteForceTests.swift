import Foundation
import HTTPTypes
import HummingbirdTesting
import Identity
import QSPPTestSupport
import Testing

@Suite("Brute force")
struct BruteForceTests {
    @Test(arguments: Backend.all)
    func fiveFailuresLockTheAccountEvenForTheRightPassword(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            for _ in 0..<5 {
                try await api.login(user.email, password: "wrong password here").expectProblem(.unauthorized)
            }
            let locked = try await api.login(user.email)
            try locked.expectProblem(.tooManyRequests)
            #expect(Int(locked.headers[.retryAfter] ?? "") ?? 0 > 0)
            // Unknown accounts are throttled the same way, so the lock reveals nothing.
            let ghost = "ghost-\(UUID())@example.com"
            for _ in 0..<5 { try await api.login(ghost, password: "wrong password here").expectProblem(.unauthorized) }
            try await api.login(ghost, password: "wrong password here").expectProblem(.tooManyRequests)
        }
    }

    /// OWASP's device cookies: whoever knows an email can lock out clients that never signed in to it,
    /// but not its owner's browser, which counts its own failures.
    @Test(arguments: Backend.all)
    func someoneWhoKnowsTheEmailCannotLockOutAClientThatSignedInBefore(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let other = try await api.newUser()
            let owned = try Self.deviceCookie(of: try await api.login(user.email))
            let othersDevice = try Self.deviceCookie(of: try await api.login(other.email))
            for _ in 0..<5 {
                try await api.login(user.email, password: "wrong password here").expectProblem(.unauthorized)
            }
            try await api.login(user.email).expectProblem(.tooManyRequests)
            // Another account's cookie, or a forged one, is no device of this account's.
            try await api.login(user.email, deviceCookie: othersDevice).expectProblem(.tooManyRequests)
            let forged = String(owned.dropLast(2)) + (owned.hasSuffix("AA") ? "BB" : "AA")
            try await api.login(user.email, deviceCookie: forged).expectProblem(.tooManyRequests)

            let owner = try await api.login(user.email, deviceCookie: owned)
            #expect(owner.status == .ok)
            let renewed = try Self.deviceCookie(of: owner)
            #expect(renewed != owned)

            // A device that keeps failing is locked out itself, and only itself.
            for _ in 0..<5 {
                try await api.login(user.email, password: "wrong password here", deviceCookie: renewed)
                    .expectProblem(.unauthorized)
            }
            try await api.login(user.email, deviceCookie: renewed).expectProblem(.tooManyRequests)
            #expect(try await api.login(user.email, deviceCookie: owned).status == .ok)
        }
    }

    static func deviceCookie(of login: TestResponse) throws -> String {
        #expect(login.status == .ok)
        let cookie = try #require(
            login.headers[values: .setCookie].first { $0.hasPrefix("__Host-qspp-device=") })
        #expect(cookie.contains("HttpOnly") && cookie.contains("Secure") && cookie.contains("SameSite=Strict"))
        let value = cookie.dropFirst("__Host-qspp-device=".count).prefix { $0 != ";" }
        return String(value)
    }

    /// GHSA-7h8m-vrxx-vr4m: parallel attempts must not slip more guesses past the limit than it allows.
    @Test(arguments: Backend.all)
    func aParallelLoginStormGetsNoMoreThanFiveGuesses(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let statuses = try await withThrowingTaskGroup(of: HTTPResponse.Status.self) { group in
                // Fifteen at once: enough to race past a check-then-act limit, few enough to stay within
                // the request deadline while the rest of the suite loads both cores.
                for _ in 0..<15 {
                    group.addTask { try await api.login(user.email, password: "wrong password here").status }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(statuses.filter { $0 == .unauthorized }.count <= 5)
            #expect(statuses.filter { $0 == .tooManyRequests }.count >= 10)
            #expect(Set(statuses).isSubset(of: [.unauthorized, .tooManyRequests]))
        }
    }

    /// Other tests share the per-address counters on PostgreSQL, and a minute may roll over mid-test, so
    /// this sends 2×limit+2 requests (enough to cross the limit even across one roll-over) and checks that
    /// the limit answered 429 with `Retry-After`. Distinct emails keep the per-account throttle out of it.
    @Test(arguments: Backend.all)
    func perAddressLimitsApplyToLoginRegistrationAndMFA(backend: Backend) async throws {
        try await withApp(
            backend,
            configure: {
                $0.signIn.loginRateLimit = 3; $0.signIn.registrationRateLimit = 2; $0.signIn.mfaRateLimit = 2
            }
        ) {
            api in
            var login: [TestResponse] = []
            for index in 0..<8 {
                login.append(
                    try await api.login("someone-\(index)-\(UUID())@example.com", password: "whatever whatever"))
            }
            let limited = try #require(login.first { $0.status == .tooManyRequests })
            try limited.expectProblem(.tooManyRequests)
            #expect(Int(limited.headers[.retryAfter] ?? "") ?? 0 > 0)
            #expect(login.allSatisfy { $0.status == .unauthorized || $0.status == .tooManyRequests })

            var registrations: [HTTPResponse.Status] = []
            for index in 0..<6 {
                registrations.append(try await api.register("r\(index)-\(UUID())@example.com").status)
            }
            #expect(registrations.contains(.tooManyRequests))

            var mfa: [HTTPResponse.Status] = []
            for _ in 0..<6 {
                mfa.append(
                    try await api.send(.post, "/v1/auth/mfa", json: #"{"mfaToken":"x","code":"123456"}"#, token: nil)
                        .status)
            }
            #expect(mfa.contains(.tooManyRequests))
        }
    }
}
