import Foundation
import JWTKit

/// Signed statements that must stay checkable long after any token has expired: consent receipts
/// and ledger checkpoints. They are compact JWS with the token keys, so the one public JWKS verifies
/// everything QSPP signs.
extension SigningKeyRing {
    public func signDocument<Body: Codable & Sendable>(_ body: Body, type: String) async throws -> String {
        let signer = try signer()
        var header = JWTHeader()
        header.typ = type
        header.kid = signer.keyID
        return try await signer.collection.sign(SignedDocument(body: body), header: header)
    }

    /// The document, if `token` is one of ours of this type with a valid signature by any key of the
    /// ring, retired or not.
    public func verifyDocument<Body: Codable & Sendable>(_ token: String, type: String, as: Body.Type) async -> Body? {
        guard let entry = try? entry(forCompact: token, type: type) else { return nil }
        return try? await entry.collection.verify(token, as: SignedDocument<Body>.self).body
    }
}

/// Wraps any body as a JWT payload whose only check is the signature.
private struct SignedDocument<Body: Codable & Sendable>: JWTPayload {
    var body: Body

    init(body: Body) { self.body = body }
    init(from decoder: any Decoder) throws { body = try Body(from: decoder) }
    func encode(to encoder: any Encoder) throws { try body.encode(to: encoder) }
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
