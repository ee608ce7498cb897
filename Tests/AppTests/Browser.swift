import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing

/// A minimal browser over the in-process router: it keeps the cookies the portal sets (dropping
/// those set with `Max-Age=0`), sends them back, and fills in the CSRF token of the page's forms.
final class Browser: @unchecked Sendable {
    let client: any TestClientProtocol
    private(set) var cookies: [String: String] = [:]
    /// The raw `Set-Cookie` lines of the last answer, for checking their attributes.
    private(set) var lastSetCookies: [String] = []
    var headers: HTTPFields = [:]

    init(_ client: any TestClientProtocol) {
        self.client = client
    }

    var csrf: String { cookies["__Host-qspp-csrf"] ?? "" }

    func get(_ uri: String) async throws -> TestResponse {
        try await send(.get, uri, body: nil)
    }

    /// Posts a form as a browser would, with the CSRF token unless the test supplies its own.
    func post(_ uri: String, _ fields: [String: String], csrf: String? = nil) async throws -> TestResponse {
        var fields = fields
        fields["csrf"] = csrf ?? self.csrf
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let body = fields.sorted { $0.key < $1.key }.map { key, value in
            "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
        }.joined(separator: "&")
        return try await send(.post, uri, body: body)
    }

    /// A page another site links to: the navigation carries none of our SameSite=Strict cookies.
    func getFromAnotherSite(_ uri: String) async throws -> TestResponse {
        try await send(.get, uri, body: nil, cookies: false)
    }

    /// A form another site posts here, as a relying party does: no CSRF field, and (unless it is a
    /// same-site post) none of our SameSite=Strict cookies.
    func postFromAnotherSite(
        _ uri: String, _ fields: [(String, String)], sameSite: Bool = false
    ) async throws
        -> TestResponse
    {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        let body = fields.map { "\($0)=\($1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")" }
            .joined(separator: "&")
        return try await send(.post, uri, body: body, cookies: sameSite)
    }

    private func send(
        _ method: HTTPRequest.Method, _ uri: String, body: String?, cookies sendCookies: Bool = true
    ) async throws -> TestResponse {
        var headers = self.headers
        if sendCookies, !cookies.isEmpty {
            headers[.cookie] = cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(
                separator: "; ")
        }
        if body != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
        let response = try await client.executeRequest(
            uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        lastSetCookies = response.headers[values: .setCookie]
        for line in lastSetCookies {
            let pair = line.split(separator: ";")[0].split(
                separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(pair[0])
            if line.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = String(pair[1]) }
        }
        return response
    }

    func forget(_ cookie: String) { cookies[cookie] = nil }
}

extension TestResponse {
    var html: String { String(buffer: body) }
}
