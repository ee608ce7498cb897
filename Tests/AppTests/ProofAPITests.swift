import App
import Foundation
import HTTPTypes
import PQCrypto
import QSPPTestSupport
import Testing

@Suite("Consent receipts and the ledger over HTTP")
struct ProofAPITests {
    @Test(arguments: Backend.all)
    func aDecisionsReceiptVerifiesOfflineAndOnlyItsOwnerMayFetchIt(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            let recorded = try await api.send(
                .post, "/v1/subjects/\(user.id)/consents", json: #"{"purpose":"marketing","decision":"granted"}"#,
                token: user.accessToken)
            #expect(recorded.status == .created)
            let event = try #require((try recorded.object()["events"] as? [[String: Any]])?.first)
            let sequence = try #require(event["ledgerSequence"] as? Int)
            let receiptPath = try #require(event["receipt"] as? String)

            let response = try await api.send(.get, receiptPath, token: user.accessToken)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/jose")
            let jws = String(buffer: response.body)
            let jwks = try await api.send(.get, "/.well-known/jwks.json", token: nil)
            let verified = try OfflineJWSVerifier(jwks: Data(jwks.body.readableBytesView))
                .verify(jws, type: "consent-receipt+jwt")
            let receipt = try #require(try JSONSerialization.jsonObject(with: verified.payload) as? [String: Any])
            #expect(receipt["jti"] as? String == event["id"] as? String)
            #expect(receipt["sub"] as? String == user.id)
            #expect(receipt["purpose"] as? String == "marketing")
            #expect(receipt["decision"] as? String == "granted")
            #expect(receipt["method"] as? String == "api")
            #expect(receipt["notice_version"] as? Int == 1)
            #expect(receipt["ledger_seq"] as? Int == sequence)
            #expect(receipt["jurisdiction"] as? String == "EU")
            #expect((receipt["controller"] as? [String: Any])?["name"] as? String == "QSPP")
            // The ledger holds the decision at the receipt's sequence.
            #expect(
                try await api.services.store.ledger.ledgerSequence(reference: "consent:\(event["id"] as! String)")
                    == Int64(sequence))

            // A changed payload, or a receipt passed off as another type of statement, fails.
            let parts = jws.split(separator: ".").map(String.init)
            let forged = Base64URL.encode(Data(#"{"decision":"withdrawn"}"#.utf8))
            #expect(throws: OfflineJWSVerifier.Failure.badSignature) {
                try OfflineJWSVerifier(jwks: Data(jwks.body.readableBytesView))
                    .verify("\(parts[0]).\(forged).\(parts[2])", type: "consent-receipt+jwt")
            }
            #expect(throws: OfflineJWSVerifier.Failure.wrongType("consent-receipt+jwt")) {
                try OfflineJWSVerifier(jwks: Data(jwks.body.readableBytesView)).verify(jws, type: "at+jwt")
            }

            let stranger = try await api.newUser()
            try await api.send(.get, receiptPath, token: stranger.accessToken).expectProblem(.notFound)
            try await api.send(.get, receiptPath, token: nil).expectProblem(.unauthorized)
            try await api.send(.get, "/v1/consent-receipts/\(UUID())", token: user.accessToken)
                .expectProblem(.notFound)
            try await api.send(.get, "/v1/consent-receipts/not-a-uuid", token: user.accessToken)
                .expectProblem(.notFound)
            #expect(try await api.send(.get, receiptPath).status == .ok)
        }
    }

    @Test func anIndependentMLDSAImplementationAcceptsTheReceipt() async throws {
        try await withApp(.sqlite) { api in
            let user = try await api.newUser()
            let recorded = try await api.send(
                .post, "/v1/subjects/\(user.id)/consents", json: #"{"purpose":"analytics","decision":"withdrawn"}"#,
                token: user.accessToken)
            let path = try #require((try recorded.object()["events"] as? [[String: Any]])?.first?["receipt"] as? String)
            let jws = String(buffer: try await api.send(.get, path, token: user.accessToken).body)
            let jwks = try await api.send(.get, "/.well-known/jwks.json", token: nil).object()
            let publicKey = try #require((jwks["keys"] as? [[String: Any]])?.first?["pub"] as? String)
            // mldsa_jwt.py exits 1 with an INVALID line only for its verdict; a crash, a missing
            // dilithium-py or a bad command line is exit 2, so no refusal below can pass by accident.
            let genuine = try python("mldsa_jwt.py", ["verify", jws, publicKey])
            #expect(genuine.status == 0 && genuine.output == "VALID", "\(genuine)")
            let parts = jws.split(separator: ".").map(String.init)
            let tampered = String(jws.dropLast(4)) + (jws.hasSuffix("AAAA") ? "BBBB" : "AAAA")
            let forged = Base64URL.encode(Data(#"{"decision":"granted"}"#.utf8))
            for (name, receipt) in [
                ("changed signature", tampered), ("changed payload", "\(parts[0]).\(forged).\(parts[2])"),
            ] {
                let refused = try python("mldsa_jwt.py", ["verify", receipt, publicKey])
                #expect(refused.status == 1, "\(name): \(refused)")
                #expect(refused.output == "INVALID: signature does not verify", "\(name): \(refused)")
            }
        }
    }

    @Test(arguments: Backend.all)
    func staffVerifyTheLedgerAndAnyoneCanCheckItsCheckpoint(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            try await api.send(
                .post, "/v1/subjects/\(user.id)/consents", json: #"{"purpose":"marketing","decision":"granted"}"#,
                token: user.accessToken)
            let created = try await api.send(.post, "/v1/admin/ledger/checkpoints")
            #expect(created.status == .created)
            let checkpoint = try created.object()
            let size = try #require(checkpoint["size"] as? Int)
            #expect(size > 0)

            // The latest published may be a later one, signed by another test's server on the shared
            // PostgreSQL with a key this test's servers have not loaded yet: check the one signed here.
            let published = try await api.send(.get, "/v1/ledger/checkpoint", token: nil).object()
            #expect((published["size"] as? Int ?? 0) >= size)
            let jwks = try await api.send(.get, "/.well-known/jwks.json", token: nil)
            let verified = try OfflineJWSVerifier(jwks: Data(jwks.body.readableBytesView))
                .verify(try #require(checkpoint["jws"] as? String), type: "ledger-checkpoint+jwt")
            let statement = try #require(try JSONSerialization.jsonObject(with: verified.payload) as? [String: Any])
            #expect(statement["ledger_size"] as? Int == size)
            #expect(statement["ledger_head"] as? String == checkpoint["headHash"] as? String)

            let report = try await api.send(.get, "/v1/admin/ledger/verify").object()
            #expect(report["intact"] as? Bool == true, "\(report)")
            #expect((report["entries"] as? Int ?? 0) >= size)
            #expect(report["firstBadEntry"] == nil)

            try await api.send(.get, "/v1/admin/ledger/verify", token: user.accessToken).expectProblem(.forbidden)
            try await api.send(.post, "/v1/admin/ledger/checkpoints", token: user.accessToken)
                .expectProblem(.forbidden)
        }
    }
}
