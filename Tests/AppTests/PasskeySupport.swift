import Foundation
import HTTPTypes
import HummingbirdTesting
import QSPPTestSupport
import Testing

/// A software authenticator holding one passkey (Tests/Interop/passkey_authenticator.py: soft-webauthn,
/// or its own authenticator data signed by the cryptography package or dilithium-py), and the API calls
/// of each ceremony.
struct SoftwareAuthenticator {
    let directory: URL
    var state: URL { directory.appendingPathComponent("state.json") }
    let origin: String

    init(origin: String) throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("qspp-passkey-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        self.origin = origin
    }

    /// Answers `options` (the server's JSON) with `ceremony`, as the browser's `toJSON()` writes it.
    func answer(_ ceremony: String, _ options: Data, _ flags: [String] = []) throws -> [String: Any] {
        let file = directory.appendingPathComponent("options.json")
        try options.write(to: file)
        let result = try python(
            "passkey_authenticator.py", [state.path, ceremony, origin, file.path] + flags)
        guard result.status == 0,
            let object = try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any]
        else {
            throw HelperFailure(
                description: "passkey_authenticator.py failed (needs cbor2, fido2, soft-webauthn, dilithium-py)")
        }
        return object
    }
}

extension API {
    var passkeyOrigin: String { services.identity.configuration.relyingParty.origins.sorted()[0] }

    /// Registers a passkey for `user` and returns the authenticator that holds it with the API's answer.
    func addPasskey(
        _ user: TestUser, name: String = "Laptop", flags: [String] = []
    ) async throws -> (authenticator: SoftwareAuthenticator, response: TestResponse) {
        let authenticator = try SoftwareAuthenticator(origin: passkeyOrigin)
        let options = try await send(.post, "/v1/me/passkeys/options", token: user.accessToken)
        #expect(options.status == .ok)
        let credential = try authenticator.answer("create", Data(buffer: options.body), flags)
        let body = try JSONSerialization.data(withJSONObject: ["name": name, "credential": credential])
        let response = try await send(
            .post, "/v1/me/passkeys", json: String(decoding: body, as: UTF8.self), token: user.accessToken)
        return (authenticator, response)
    }

    /// A passwordless sign-in with the authenticator's passkey.
    func passkeySignIn(
        _ authenticator: SoftwareAuthenticator, flags: [String] = [], edit: ([String: Any]) -> [String: Any] = { $0 }
    ) async throws -> TestResponse {
        let options = try await send(.post, "/v1/auth/passkey/options", token: nil)
        #expect(options.status == .ok)
        let credential = try authenticator.answer("get", Data(buffer: options.body), flags)
        return try await postPasskey(credential: edit(credential))
    }

    func postPasskey(
        credential: [String: Any], path: String = "/v1/auth/passkey", extra: [String: Any] = [:]
    )
        async throws -> TestResponse
    {
        var body = extra
        body[path == "/v1/auth/passkey" ? "credential" : "passkey"] = credential
        let json = try JSONSerialization.data(withJSONObject: body)
        return try await send(.post, path, json: String(decoding: json, as: UTF8.self), token: nil)
    }
}
