import Consent
import Foundation
import Identity
import PQCrypto
import Privacy
import QSPPTestSupport
import Testing

@testable import Storage

/// Someone with write access to the database edits the ledger's rows directly; verification must
/// notice every change and name the first bad entry, on both backends.
@Suite("Ledger tampering")
struct LedgerTamperTests {
    enum Tamper: String, CaseIterable, CustomStringConvertible {
        case edit, delete, insert, reorder, truncate, corruptHash, emptyContent, rewriteChain, forgeCheckpoint
        var description: String { rawValue }
    }

    /// Checkpoints signed with a real ML-DSA-65 key ring, as the App signs them.
    struct RingSigner: CheckpointSigner {
        let ring: SigningKeyRing
        func sign(_ statement: CheckpointStatement) async throws -> String {
            try await ring.signDocument(statement, type: "ledger-checkpoint+jwt")
        }
        func makeVerifier() async throws -> @Sendable (String) -> CheckpointStatement? {
            let verifier = try OfflineJWSVerifier(jwks: JSONSerialization.data(withJSONObject: ["keys": ring.jwks]))
            return { signature in
                guard let verified = try? verifier.verify(signature, type: "ledger-checkpoint+jwt") else { return nil }
                return try? JSONDecoder().decode(CheckpointStatement.self, from: verified.payload)
            }
        }
    }

    /// One database for every kind of tampering (creating one per case loads PostgreSQL's WAL enough to
    /// slow every other test): the ledger is rebuilt from empty before each.
    @Test(arguments: Backend.all)
    func everyChangeIsFoundAndLocated(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            // The application itself can neither delete nor rewrite entries.
            _ = try await Self.ledgerWithTwentyEntries(store)
            await #expect(throws: (any Error).self) {
                _ = try await store.sql.write("DELETE FROM ledger_entries WHERE seq = 1", [])
            }
            await #expect(throws: (any Error).self) {
                _ = try await store.sql.write("UPDATE ledger_entries SET reference = 'x' WHERE seq = 1", [])
            }
            #expect(try await store.ledger.ledgerHead().size == 20)

            try await Self.allowTampering(store.sql, backend: backend)
            for tamper in Tamper.allCases {
                try await Self.reset(store.sql)
                let ledger = try await Self.ledgerWithTwentyEntries(store)
                let intact = try await ledger.verify()
                #expect(intact.isIntact, "\(tamper): \(String(describing: intact.problem))")
                #expect(intact.entries == 20)
                let expected = try await Self.apply(tamper, to: store)
                let report = try await ledger.verify()
                #expect(report.problem?.sequence == expected, "\(tamper): \(String(describing: report.problem))")
            }
        }
    }

    /// Applies one kind of tampering and returns the entry verification must name.
    static func apply(_ tamper: Tamper, to store: any Store) async throws -> Int64 {
        let sql = store.sql
        let expected: Int64
        switch tamper {
        case .edit:
            _ = try await sql.write(
                "UPDATE ledger_entries SET content = $1 WHERE seq = 7", [.blob(Data(#"{"decision":"granted"}"#.utf8))])
            expected = 7
        case .delete:
            _ = try await sql.write("DELETE FROM ledger_entries WHERE seq = 7", [])
            expected = 7
        case .insert:
            // A forged entry spliced in at 7 with correct hashes of its own: the old 7 no longer links.
            _ = try await sql.write("UPDATE ledger_entries SET seq = seq + 1000 WHERE seq >= 7", [])
            _ = try await sql.write("UPDATE ledger_entries SET seq = seq - 999 WHERE seq >= 1007", [])
            let six = try await store.ledger.ledgerEntries(after: 5, limit: 1)[0]
            let forged = LedgerChain.extend(
                LedgerHead(size: 6, hash: six.entryHash),
                with: [LedgerRecord(type: "consent", id: UUID().uuidString, fields: ["decision": "granted"])]
            ).entries[0]
            _ = try await sql.write(
                """
                INSERT INTO ledger_entries (seq, reference, content, content_hash, prev_hash, entry_hash)
                VALUES (7, $1, $2, $3, $4, $5)
                """,
                [
                    .text(forged.reference), .blob(forged.content), .blob(forged.contentHash),
                    .blob(forged.previousHash), .blob(forged.entryHash),
                ])
            expected = 8
        case .reorder:
            // Entries 5 and 6 swap places, each keeping its own hashes.
            _ = try await sql.write("UPDATE ledger_entries SET seq = 1005 WHERE seq = 5", [])
            _ = try await sql.write("UPDATE ledger_entries SET seq = 5 WHERE seq = 6", [])
            _ = try await sql.write("UPDATE ledger_entries SET seq = 6 WHERE seq = 1005", [])
            expected = 5
        case .truncate:
            _ = try await sql.write("DELETE FROM ledger_entries WHERE seq > 17", [])
            expected = 18
        case .corruptHash:
            _ = try await sql.write("UPDATE ledger_entries SET content_hash = $1 WHERE seq = 3", [.blob(Data([0]))])
            expected = 3
        case .emptyContent:
            _ = try await sql.write("UPDATE ledger_entries SET content = $1 WHERE seq = 4", [.blob(Data())])
            expected = 4
        case .rewriteChain:
            // Someone who can recompute every hash rewrites entry 7 and everything after it, head
            // included. Only the signed checkpoint over the first ten entries can tell.
            let entries = try await store.ledger.ledgerEntries(after: 0, limit: 100)
            var records = entries[6...].map { LedgerRecord(reference: $0.reference, content: $0.content) }
            records[0].content = Data(#"{"decision":"withdrawn","forged":"yes"}"#.utf8)
            let rewritten = LedgerChain.extend(
                LedgerHead(size: 6, hash: entries[5].entryHash), with: records)
            _ = try await sql.write("DELETE FROM ledger_entries WHERE seq >= 7", [])
            for entry in rewritten.entries {
                _ = try await sql.write(
                    """
                    INSERT INTO ledger_entries (seq, reference, content, content_hash, prev_hash, entry_hash)
                    VALUES ($1, $2, $3, $4, $5, $6)
                    """,
                    [
                        .integer(entry.sequence), .text(entry.reference), .blob(entry.content),
                        .blob(entry.contentHash), .blob(entry.previousHash), .blob(entry.entryHash),
                    ])
            }
            _ = try await sql.write(
                "UPDATE ledger_head SET size = $1, hash = $2",
                [.integer(rewritten.head.size), .blob(rewritten.head.hash)])
            expected = 10
        case .forgeCheckpoint:
            _ = try await sql.write(
                "UPDATE ledger_checkpoints SET signature = $1 WHERE size = 10", [.text("eyJhbGciOiJub25lIn0.e30.")])
            expected = 10
        }
        return expected
    }

    static func reset(_ sql: any SQLDatabase) async throws {
        _ = try await sql.write("DELETE FROM ledger_entries", [])
        _ = try await sql.write("DELETE FROM ledger_checkpoints", [])
        _ = try await sql.write("UPDATE ledger_head SET size = 0, hash = $1", [.blob(LedgerChain.genesisHash)])
    }

    /// Ten consent events, a signed checkpoint, then ten more: auth and DSR entries share the chain.
    static func ledgerWithTwentyEntries(_ store: any Store) async throws -> LedgerService {
        let ring = SigningKeyRing(
            algorithm: .mldsa65, repository: store.identity, masterKey: try MasterKey(base64Seed: testMasterKey),
            retention: 900)
        try await ring.load()
        let ledger = LedgerService(repository: store.ledger, signer: RingSigner(ring: ring), issuer: "test")
        let purpose = try uniquePurposeID()
        try await store.consents.insertPurpose(makePurpose(purpose))
        let subject = try uniqueSubject()
        for decision in Array(repeating: [Decision.granted, .withdrawn], count: 4).flatMap({ $0 }) {
            _ = try await store.consents.append([makeEvent(subject, purpose, decision)], claim: nil)
        }
        try await store.identity.appendAuthEvent(AuthEvent(kind: .loginFailed, at: Date()))
        let subjectID = UUID()
        _ = try await PrivacyService(repository: store.privacy).file(.access, for: subjectID, by: subjectID)
        #expect(try await ledger.checkpoint()?.size == 10)
        _ = try await store.consents.append(
            (0..<10).map { _ in makeEvent(subject, purpose, .granted) }, claim: nil)
        return ledger
    }

    static func allowTampering(_ sql: any SQLDatabase, backend: Backend) async throws {
        switch backend {
        case .postgres:
            _ = try await sql.write("ALTER TABLE ledger_entries DISABLE TRIGGER USER", [])
            _ = try await sql.write("ALTER TABLE ledger_checkpoints DISABLE TRIGGER USER", [])
        case .sqlite:
            for trigger in [
                "ledger_entries_no_update", "ledger_entries_no_delete", "ledger_checkpoints_no_update",
                "ledger_checkpoints_no_delete",
            ] {
                _ = try await sql.write("DROP TRIGGER \(trigger)", [])
            }
        }
    }
}
