import Foundation
import PQCrypto
import Privacy
import QSPPTestSupport
import Testing

@testable import Storage

/// A person checks offline, with `qspp receipt verify`, that their decision is in the published log;
/// and a decision whose stored row was changed behind the ledger's back gets no receipt.
@Suite("Receipts in the log")
struct ReceiptInclusionTests {
    @Test func aPersonChecksOfflineThatTheirDecisionIsInTheLog() async throws {
        try await withApp(.sqlite) { api in
            let user = try await api.newUser()
            var receiptPaths: [String] = []
            for decision in ["granted", "withdrawn", "granted"] {
                let recorded = try await api.send(
                    .post, "/v1/subjects/\(user.id)/consents",
                    json: #"{"purpose":"analytics","decision":"\#(decision)"}"#, token: user.accessToken)
                receiptPaths.append(
                    try #require((try recorded.object()["events"] as? [[String: Any]])?.first?["receipt"] as? String))
            }
            let size = try #require(try await api.send(.post, "/v1/admin/ledger/checkpoints").object()["size"] as? Int)
            let directory = temporaryPath("qspp-receipt", extension: "d")
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            func save(_ name: String, _ text: String) throws -> String {
                let path = directory + "/" + name
                try text.write(toFile: path, atomically: true, encoding: .utf8)
                return path
            }
            let receipt = try save(
                "receipt.jws", String(buffer: try await api.send(.get, receiptPaths[1], token: user.accessToken).body))
            let jwks = try save(
                "jwks.json", String(buffer: try await api.send(.get, "/.well-known/jwks.json", token: nil).body))
            let note = try save(
                "checkpoint.note",
                String(buffer: try await api.send(.get, "/v1/ledger/checkpoint/note", token: nil).body))
            let keys = try #require(
                try await api.send(.get, "/v1/ledger/keys", token: nil).object()["keys"] as? [[String: String]]
            ).compactMap { $0["verifierKey"] }
            let jws = try String(contentsOfFile: receipt, encoding: .utf8)
            let encodedPayload = try #require(Base64URL.decode(jws.split(separator: ".")[1]))
            let payload = try JSONSerialization.jsonObject(with: encodedPayload) as? [String: Any]
            let link = try #require(payload?["ledger_proof"] as? String)
            let sequence = try #require(payload?["ledger_seq"] as? Int)
            let proof = try save(
                "proof.json", String(buffer: try await api.send(.get, "\(link)&size=\(size)", token: nil).body))
            let base = ["receipt", "verify", receipt, "--jwks", jwks, "--checkpoint", note, "--proof", proof]
            let included = try await CommandLineTests.qspp(base + keys.flatMap { ["--log-key", $0] })
            #expect(included.status == 0, "\(included.output)")
            #expect(included.output.contains("in the log "), "\(included.output)")

            // Another entry's proof, a log key nobody trusts: each is a verdict, exit 1.
            let other = try save(
                "other.json",
                String(
                    buffer: try await api.send(
                        .get, "/v1/ledger/inclusion?seq=\(sequence + 1)&size=\(size)", token: nil
                    )
                    .body))
            let stranger = try LogIdentity(
                origin: "stranger.example/ledger",
                signers: [NoteSigner(name: "stranger.example/ledger", key: .generate(.ed25519))]
            ).trusted[0].text
            for (name, arguments) in [
                (
                    "another entry's proof",
                    ["receipt", "verify", receipt, "--jwks", jwks, "--checkpoint", note, "--proof", other] + [
                        "--log-key", keys[0],
                    ]
                ),
                ("an untrusted key", base + ["--log-key", stranger]),
            ] {
                let refused = try await CommandLineTests.qspp(arguments)
                #expect(refused.status == 1, "\(name): \(refused.output)")
                #expect(refused.output.contains("NOT IN THE LOG: "), "\(name): \(refused.output)")
            }

            // Someone with the database file flips the withdrawal: the server refuses to sign a receipt
            // for a decision the ledger did not record.
            let sql = try #require(api.services.store as? SQLiteStore).sql
            _ = try await sql.write("DROP TRIGGER consent_events_no_update", [])
            _ = try await sql.write("UPDATE consent_events SET decision = 'granted' WHERE decision = 'withdrawn'", [])
            try await api.send(.get, receiptPaths[1], token: user.accessToken).expectProblem(.conflict)
            #expect(try await api.send(.get, receiptPaths[0], token: user.accessToken).status == .ok)
        }
    }
}
