import Foundation
import PQCrypto
import Testing

@testable import Identity

/// Receipts and checkpoints are JWS signed by the token ring, which anyone can check with the public JWKS
/// alone, and whose payload is the document itself, not wrapped.
@Suite("Signed documents")
struct SignedDocumentTests {
    struct Statement: Codable, Equatable, Sendable {
        var subject: String
        var size: Int
    }

    @Test func aDocumentVerifiesWithThePublicKeySetAndCarriesItsBodyUnwrapped() async throws {
        let services = try InMemoryServices()
        _ = try await services.keyRing.load()
        let statement = Statement(subject: "a-subject", size: 42)
        let compact = try await services.keyRing.signDocument(statement, type: "qspp-test+jwt")

        let jwks = try JSONSerialization.data(withJSONObject: ["keys": services.keyRing.jwks])
        let verifier = try OfflineJWSVerifier(jwks: jwks)
        let verified = try verifier.verify(compact, type: "qspp-test+jwt")
        #expect(try JSONDecoder().decode(Statement.self, from: verified.payload) == statement)
        #expect(try JSONDecoder().decode(SignedDocument<Statement>.self, from: verified.payload).body == statement)
        #expect(throws: OfflineJWSVerifier.Failure.wrongType("qspp-test+jwt")) {
            try verifier.verify(compact, type: "qspp-other+jwt")
        }

        var tampered = Array(compact.split(separator: "."))
        tampered[1] = Substring(Base64URL.encode(Data(#"{"subject":"someone-else","size":42}"#.utf8)))
        #expect(throws: OfflineJWSVerifier.Failure.badSignature) {
            try verifier.verify(tampered.joined(separator: "."), type: "qspp-test+jwt")
        }
    }
}
