import Foundation
import HTTPTypes
import HummingbirdTesting
import Identity
import PQCrypto
import QSPPTestSupport
import Testing

/// A user registered and logged in through the real routes.
struct TestUser: Sendable {
    let id: String
    let email: String
    let password: String
    let accessToken: String
    let refreshToken: String
}

extension API {
    func register(_ email: String, password: String = testPassword) async throws -> TestResponse {
        try await send(
            .post, "/v1/auth/register", json: #"{"email":"\#(email)","password":"\#(password)"}"#, token: nil)
    }

    func login(
        _ email: String, password: String = testPassword, rememberMe: Bool = false, path: String = "/v1/auth/login",
        deviceCookie: String? = nil
    )
        async throws -> TestResponse
    {
        var headers = HTTPFields()
        if let deviceCookie { headers[.cookie] = "__Host-qspp-device=\(deviceCookie)" }
        return try await send(
            .post, path, json: #"{"email":"\#(email)","password":"\#(password)","rememberMe":\#(rememberMe)}"#,
            token: nil, headers: headers)
    }

    /// `confirmed` follows the mailed link, which exports and valuation wait for.
    func newUser(rememberMe: Bool = false, confirmed: Bool = false) async throws -> TestUser {
        let email = "user-\(UUID().uuidString.lowercased())@example.com"
        let registered = try await register(email)
        #expect(registered.status == .accepted)
        if confirmed { try await confirmEmail(of: email) }
        let login = try await login(email, rememberMe: rememberMe)
        #expect(login.status == .ok)
        let body = try login.object()
        return TestUser(
            id: try #require(body["user"] as? [String: Any])["id"] as? String ?? "", email: email,
            password: testPassword, accessToken: try #require(body["accessToken"] as? String),
            refreshToken: try #require(body["refreshToken"] as? String))
    }

    /// The newest message to `recipient` whose subject starts with `subject`, once the outbox's sender
    /// has written it to the test's mail folder, as Python's email package reads it.
    func mailed(to recipient: String, subject: String) async throws -> ParsedMessage {
        let folder = services.settings.mail.directory
        for _ in 0..<600 {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            for name in names where name.hasSuffix(".eml") {
                let text = try String(contentsOfFile: folder + "/" + name, encoding: .utf8)
                // Python reads only the messages whose header names the recipient.
                guard text.contains("\r\nTo: \(recipient)\r\n") else { continue }
                let message = try parsedByPython(text)
                if message.to.first?.last == recipient, message.subject.hasPrefix(subject) { return message }
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("no mail \"\(subject)\" reached \(recipient)")
        throw CancellationError()
    }

    /// Follows the confirmation link mailed at registration.
    func confirmEmail(of email: String) async throws {
        let message = try await mailed(to: email, subject: "Confirm your email")
        let text = try #require(message.parts["text/plain"])
        let token = try #require(text.firstMatch(of: /verify-email\?token=([A-Za-z0-9_-]+)/)).1
        let confirmed = try await send(.post, "/v1/auth/email/verify", json: #"{"token":"\#(token)"}"#, token: nil)
        #expect(confirmed.status == .ok)
    }

    func refresh(_ token: String) async throws -> TestResponse {
        try await send(.post, "/v1/auth/refresh", json: #"{"refreshToken":"\#(token)"}"#, token: nil)
    }
}

/// The JSON object in one part of a JWT (0: header, 1: claims).
func jwtPart(_ token: String, _ index: Int) throws -> [String: Any] {
    let parts = token.split(separator: ".", omittingEmptySubsequences: false)
    let data = try #require(Base64URL.decode(parts[index]))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

/// The base64url of a JSON object, for forging token parts.
func base64URL(json: [String: Any]) throws -> String {
    Base64URL.encode(try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys]))
}

/// Runs a Python helper from Tests/Interop and returns its standard output.
func python(_ script: String, _ arguments: [String]) throws -> (status: Int32, output: String) {
    let result = try runToEnd(
        ["python3", repositoryRoot.appendingPathComponent("Tests/Interop/\(script)").path] + arguments)
    return (result.status, result.output.trimmingCharacters(in: .whitespacesAndNewlines))
}

/// The current code for `secret`, as an authenticator app (pyotp here, an independent implementation) shows it.
func totpCode(_ secret: String) throws -> String {
    let result = try python("totp.py", [secret])
    #expect(result.status == 0)
    return result.output
}

/// A code for a step nobody has used yet: waits for the next 30-second step if this one is spent.
func freshTOTPCode(_ secret: String, after used: String) async throws -> String {
    var candidate = try totpCode(secret)
    while candidate == used {
        try await Task.sleep(for: .seconds(1))
        candidate = try totpCode(secret)
    }
    return candidate
}
