import Foundation
import JWTKit
import Telemetry

/// Signed statements that must stay checkable long after any token has expired: consent receipts
/// and ledger checkpoints. They are compact JWS with the token keys, so the one public JWKS verifies
/// everything QSPP signs.
extension SigningKeyRing {
    public func signDocument<Body: Codable & Sendable>(_ body: Body, type: String) async throws -> String {
        let signer = try signer()
        var header = JWTHeader()
        header.typ = type
        header.kid = signer.keyID
        return try await Traced.run("crypto.sign", ["crypto.algorithm": signer.algorithm.rawValue]) {
            try await signer.collection.sign(SignedDocument(body: body), header: header)
        }
    }
}

/// Wraps any body as a JWT payload. Documents are verified with the public JWKS alone
/// (`OfflineJWSVerifier`), as anyone holding them would.
struct SignedDocument<Body: Codable & Sendable>: JWTPayload {
    var body: Body

    init(body: Body) { self.body = body }
    init(from decoder: any Decoder) throws { body = try Body(from: decoder) }
    func encode(to encoder: any Encoder) throws { try body.encode(to: encoder) }
    func verify(using algorithm: some JWTAlgorithm) async throws {}
}
