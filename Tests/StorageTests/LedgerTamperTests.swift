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
        case repointReference, forgeKeysAndResign, stripNotes, truncateTable
        // The rows the entries record, changed with the tables' triggers dropped.
        case deleteWithdrawal, flipDecision, forgeRow, rewriteSealedField, deleteAuthRow, deleteTransition
        // The shapes of reference, sequence, head and leaf that a faster reading must not let through.
        case bareReference, lookalikeReference, farSequence, inflatedHead, tradeLeafBytes
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
            if backend == .postgres {
                // Row triggers do not fire on TRUNCATE; the statement triggers do.
                for table in ["consent_events", "auth_events", "ledger_entries", "ledger_checkpoints", "ledger_tree"] {
                    await #expect(throws: (any Error).self, "TRUNCATE \(table)") {
                        _ = try await store.sql.write("TRUNCATE \(table)", [])
                    }
                }
                #expect(try await store.ledger.ledgerHead().size == 20)
            }

            try await Self.allowTampering(store.sql, backend: backend)
            for tamper in Tamper.allCases {
                try await Self.reset(store.sql)
                let ledger = try await Self.ledgerWithTwentyEntries(store)
                let intact = try await ledger.verify()
                #expect(intact.isIntact, "\(tamper): \(String(describing: intact.problem))")
                #expect(intact.entries == 20)
                let expected = try await Self.apply(tamper, to: store)
                if tamper == .farSequence {
                    await #expect(throws: LedgerIntegrityError.self) { try await ledger.integrate() }
                }
                let report = try await ledger.verify()
                #expect(report.problem?.sequence == expected, "\(tamper): \(String(describing: report.problem))")
            }
        }
    }

    /// Retention deletes old audit rows and says so in the ledger: verification accepts exactly the rows
    /// that purge could have taken, and still names any other deleted row.
    @Test(arguments: Backend.all)
    func aPurgeAccountsForTheAuditRowsItTookAndNothingElse(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let ledger = try await Self.ledgerWithTwentyEntries(store)
            let now = Date()
            try await store.identity.appendAuthEvent(
                AuthEvent(kind: .loginFailed, at: now.addingTimeInterval(-400 * 86_400)))
            let latest = AuthEvent(kind: .loginFailed, at: now)
            try await store.identity.appendAuthEvent(latest)
            // And a request answered long ago.
            let old = now.addingTimeInterval(-400 * 86_400)
            let subject = UUID()
            let answered = try await PrivacyService(repository: store.privacy, now: { old }).file(
                .access, for: subject, by: subject)
            _ = try await PrivacyService(repository: store.privacy, now: { old }).transition(
                answered.id, to: .rejected, by: subject, reason: "not verifiable")
            let recent = try await store.ledger.ledgerHead().size - 2
            let cutoff = now.addingTimeInterval(-90 * 86_400)
            #expect(try await store.retention.purge(.authEvents, olderThan: cutoff, at: now) == 1)
            #expect(try await store.retention.purge(.closedRequests, olderThan: cutoff, at: now) == 1)
            let purged = try await ledger.verify()
            #expect(purged.isIntact, "\(String(describing: purged.problem))")

            try await Self.allowTampering(store.sql, backend: backend)
            _ = try await store.sql.write("DELETE FROM auth_events WHERE id = $1", [.uuid(latest.id)])
            #expect(try await ledger.verify().problem?.sequence == recent)
        }
    }

    /// Stored leaves are read as one blob while they are whole, and row by row, in place, when one is
    /// missing or damaged; proofs served with upper nodes from memory verify against the tree's root.
    @Test(arguments: Backend.all)
    func storedLeavesAreReadInPlaceAndProofsVerify(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let ledger = try await Self.ledgerWithTwentyEntries(store)
            let tree = try await ledger.integrate()
            let entries = try await store.ledger.ledgerEntries(after: 0, limit: 20)
            let leaves = entries.map { Optional($0.leafHash) }
            #expect(try await store.ledger.leafHashes(after: 0, limit: 20) == leaves)
            #expect(try await store.ledger.leafHashes(after: 5, limit: 3) == Array(leaves[5..<8]))
            #expect(try await store.ledger.leafHashes(after: 18, limit: 5) == Array(leaves[18...]))
            for _ in 0..<2 {
                for entry in entries {
                    let proof = try #require(try await ledger.inclusionProof(sequence: entry.sequence, size: 20))
                    #expect(
                        MerkleTree.verifyInclusion(
                            index: entry.sequence - 1, size: 20, leaf: entry.leafHash, proof: proof,
                            root: tree.frontier.root))
                }
            }
            try await Self.allowTampering(store.sql, backend: backend)
            _ = try await store.sql.write("DELETE FROM ledger_tree WHERE level = 0 AND idx = 3", [])
            _ = try await store.sql.write(
                "UPDATE ledger_tree SET hash = $1 WHERE level = 0 AND idx = 7", [.blob(Data([1, 2, 3]))])
            var damaged = leaves
            damaged[3] = nil
            damaged[7] = Data([1, 2, 3])
            #expect(try await store.ledger.leafHashes(after: 0, limit: 20) == damaged)
            #expect(try await ledger.verify().problem?.sequence == 8)
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
            // The chain breaks at 8, but the log integrated another entry 7 and notices first.
            expected = 7
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
            // included. The leaf the log integrated for entry 7 tells.
            try await rewriteChainFromSeven(sql, store)
            expected = 7
        case .forgeCheckpoint:
            _ = try await sql.write(
                "UPDATE ledger_checkpoints SET signature = $1 WHERE size = 10", [.text("eyJhbGciOiJub25lIn0.e30.")])
            expected = 10
        case .repointReference:
            _ = try await sql.write("UPDATE ledger_entries SET reference = 'consent:elsewhere' WHERE seq = 4", [])
            expected = 4
        case .forgeKeysAndResign:
            // The thorough insider: flips decision 7 and rewrites its entry to match, then the chain and
            // the tree's leaves, adds a token key of their own to the database and re-signs the
            // checkpoint's JWS and note with their own keys.
            _ = try await sql.write("UPDATE consent_events SET decision = 'withdrawn' WHERE ledger_seq = 7", [])
            let seven = try await store.ledger.ledgerEntries(after: 6, limit: 1)[0]
            let granted = String(decoding: seven.content, as: UTF8.self)
            let flipped = granted.replacingOccurrences(of: #""decision":"granted""#, with: #""decision":"withdrawn""#)
            #expect(flipped != granted)
            #expect(try await store.recordedRows.match([seven][...]) == [.differs])
            try await rewriteChainFromSeven(sql, store, content: Data(flipped.utf8))
            let rewritten = try await store.ledger.ledgerEntries(after: 6, limit: 1)
            #expect(try await store.recordedRows.match(rewritten[...]) == [.matches])
            let forged = try await forgedTree(store)
            _ = try await sql.write("DELETE FROM ledger_tree", [])
            _ = try await sql.write("UPDATE ledger_tree_head SET size = 0, frontier = $1", [.blob(Data())])
            _ = try await store.ledger.extendTree(from: 0, to: forged.head, nodes: forged.nodes)
            let ring = SigningKeyRing(
                algorithm: .mldsa65, repository: store.identity, masterKey: try MasterKey(base64Seed: testMasterKey),
                retention: 900)
            try await ring.load()
            try await ring.addKey()
            let chainHead = try await store.ledger.ledgerEntries(after: 9, limit: 1)[0]
            let statement = CheckpointStatement(
                issuer: "test", head: LedgerHead(size: 10, hash: chainHead.entryHash), at: Date())
            let insider = try testLog(origin: Self.origin)
            let text = TreeCheckpoint(origin: Self.origin, size: 10, root: forged.rootAt10).text
            let note = SignedNote(text: text, signatures: try insider.signers.map { try $0.sign(text) })
            _ = try await sql.write(
                "UPDATE ledger_checkpoints SET head_hash = $1, signature = $2, tree_root = $3, note = $4 WHERE size = 10",
                [
                    .blob(chainHead.entryHash), .text(try await RingSigner(ring: ring).sign(statement)),
                    .blob(forged.rootAt10), .text(note.formatted),
                ])
            expected = 10
        case .truncateTable:
            // SQLite has no TRUNCATE; its DELETE without WHERE is the same attack there.
            _ = try await sql.write(
                store is PostgresStore ? "TRUNCATE ledger_entries" : "DELETE FROM ledger_entries", [])
            expected = 1
        case .bareReference, .lookalikeReference:
            // Entry 15 (after the checkpoint, so the tree has not integrated it) loses its row, and its
            // reference no longer names it plainly: its type alone, or its id behind a combining mark
            // that joins the colon into one character.
            let fifteen = try await store.ledger.ledgerEntries(after: 14, limit: 1)[0]
            let id = String(fifteen.reference.dropFirst("consent:".count))
            _ = try await sql.write("DELETE FROM consent_events WHERE ledger_seq = 15", [])
            _ = try await sql.write(
                "UPDATE ledger_entries SET reference = $1 WHERE seq = 15",
                [.text(tamper == .bareReference ? "consent" : "consent:\u{301}" + id)])
            expected = 15
        case .farSequence:
            // The last entry moved a long way out: reading must not size anything by the gap.
            _ = try await sql.write("UPDATE ledger_entries SET seq = 1000000000000000 WHERE seq = 20", [])
            expected = 20
        case .inflatedHead:
            _ = try await sql.write("UPDATE ledger_head SET size = 9223372036854775807", [])
            expected = 21
        case .tradeLeafBytes:
            // Two stored leaves trade a byte across their boundary: joined, they read as before.
            let leaves = try await store.ledger.leafHashes(after: 2, limit: 2).map { try #require($0) }
            _ = try await sql.write(
                "UPDATE ledger_tree SET hash = $1 WHERE level = 0 AND idx = 2", [.blob(leaves[0].prefix(31))])
            _ = try await sql.write(
                "UPDATE ledger_tree SET hash = $1 WHERE level = 0 AND idx = 3",
                [.blob(leaves[0].suffix(1) + leaves[1])])
            expected = 3
        case .deleteWithdrawal:
            expected = try await firstWithdrawal(sql)
            _ = try await sql.write("DELETE FROM consent_events WHERE ledger_seq = $1", [.integer(expected)])
        case .flipDecision:
            expected = try await firstWithdrawal(sql)
            _ = try await sql.write(
                "UPDATE consent_events SET decision = 'granted' WHERE ledger_seq = $1", [.integer(expected)])
        case .forgeRow:
            // A decision nobody made, in the table but not the ledger: named after the last entry.
            let id = store is PostgresStore ? "$1::uuid" : "$1"
            _ = try await sql.write(
                """
                INSERT INTO consent_events (id, subject_id, purpose_id, decision, notice_version, method, recorded_at)
                SELECT \(id), subject_id, purpose_id, 'granted', notice_version, method, recorded_at
                FROM consent_events WHERE ledger_seq = 2
                """, [.text(UUID().uuidString.lowercased())])
            expected = 21
        case .rewriteSealedField:
            _ = try await sql.write("UPDATE consent_events SET source_ip = user_agent WHERE ledger_seq = 1", [])
            expected = 1
        case .deleteAuthRow:
            _ = try await sql.write("DELETE FROM auth_events", [])
            expected = 9
        case .deleteTransition:
            // The request stays; the record that it was received goes.
            _ = try await sql.write("DELETE FROM dsr_events", [])
            expected = 10
        case .stripNotes:
            // Without notes, a checkpoint would fall back to a JWS any key in the database can make.
            _ = try await sql.write("UPDATE ledger_checkpoints SET note = NULL, tree_root = NULL", [])
            expected = 10
        }
        return expected
    }

    static let origin = "test.example/ledger"

    /// Log keys of a log called `origin`, made afresh: an insider's, when not the ledger's own.
    static func testLog(origin: String) throws -> LogIdentity {
        LogIdentity(
            origin: origin,
            signers: try [SigningAlgorithm.ed25519, .mldsa65].map {
                try NoteSigner(name: origin, key: SigningKey.generate($0))
            })
    }

    /// The tree over the entries as they now stand, as an insider would recompute it.
    static func forgedTree(
        _ store: any Store
    ) async throws -> (head: LedgerTreeHead, nodes: [(MerkleTree.Node, Data)], rootAt10: Data) {
        var frontier = MerkleFrontier()
        var nodes: [(MerkleTree.Node, Data)] = []
        var rootAt10 = Data()
        let entries = try await store.ledger.ledgerEntries(after: 0, limit: 100)
        for entry in entries {
            frontier.append(leafHash: MerkleTree.leafHash(entry.leaf), made: &nodes)
            if frontier.size == 10 { rootAt10 = frontier.root }
        }
        let last = entries.last!
        return (
            LedgerTreeHead(frontier: frontier, chain: LedgerHead(size: last.sequence, hash: last.entryHash)), nodes,
            rootAt10
        )
    }

    /// Rewrites entry 7 and links every later entry, and the head, to it with correct hashes.
    static func rewriteChainFromSeven(
        _ sql: any SQLDatabase, _ store: any Store,
        content: Data = Data(#"{"decision":"withdrawn","forged":"yes"}"#.utf8)
    ) async throws {
        let entries = try await store.ledger.ledgerEntries(after: 0, limit: 100)
        var records = entries[6...].map { LedgerRecord(reference: $0.reference, content: $0.content) }
        records[0].content = content
        let rewritten = LedgerChain.extend(LedgerHead(size: 6, hash: entries[5].entryHash), with: records)
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
            "UPDATE ledger_head SET size = $1, hash = $2", [.integer(rewritten.head.size), .blob(rewritten.head.hash)])
    }

    static func firstWithdrawal(_ sql: any SQLDatabase) async throws -> Int64 {
        try #require(
            try await sql.select(
                "SELECT ledger_seq FROM consent_events WHERE decision = 'withdrawn' ORDER BY ledger_seq LIMIT 1", []
            ).first?[0].integer)
    }

    /// Empties the ledger and the tables it records, which would otherwise hold rows no entry records.
    static func reset(_ sql: any SQLDatabase) async throws {
        _ = try await sql.write("DELETE FROM consent_events", [])
        _ = try await sql.write("DELETE FROM auth_events", [])
        _ = try await sql.write("DELETE FROM dsr_events", [])
        _ = try await sql.write("DELETE FROM dsr_requests", [])
        _ = try await sql.write("DELETE FROM ledger_entries", [])
        _ = try await sql.write("DELETE FROM ledger_checkpoints", [])
        _ = try await sql.write("UPDATE ledger_head SET size = 0, hash = $1", [.blob(LedgerChain.genesisHash)])
        _ = try await sql.write("DELETE FROM ledger_tree", [])
        _ = try await sql.write(
            "UPDATE ledger_tree_head SET size = 0, frontier = $1, chain_hash = $2",
            [.blob(Data()), .blob(LedgerChain.genesisHash)])
    }

    /// Ten consent events, a signed checkpoint, then ten more: auth and DSR entries share the chain.
    static func ledgerWithTwentyEntries(_ store: any Store) async throws -> LedgerService {
        let ring = SigningKeyRing(
            algorithm: .mldsa65, repository: store.identity, masterKey: try MasterKey(base64Seed: testMasterKey),
            retention: 900)
        try await ring.load()
        let ledger = LedgerService(
            repository: store.ledger, records: store.recordedRows, signer: RingSigner(ring: ring), issuer: "test",
            log: try testLog(origin: origin))
        let purpose = try uniquePurposeID()
        try await store.consents.insertPurpose(makePurpose(purpose))
        let subject = try uniqueSubject()
        for (index, decision) in Array(repeating: [Decision.granted, .withdrawn], count: 4).flatMap({ $0 }).enumerated()
        {
            let event = makeEvent(
                subject, purpose, decision, sourceIP: index == 0 ? "192.0.2.7" : nil,
                userAgent: index == 0 ? "Firefox" : nil)
            _ = try await store.consents.append([event], claim: nil)
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
            _ = try await sql.write("ALTER TABLE ledger_tree DISABLE TRIGGER USER", [])
            _ = try await sql.write("ALTER TABLE consent_events DISABLE TRIGGER USER", [])
            _ = try await sql.write("ALTER TABLE auth_events DISABLE TRIGGER USER", [])
        case .sqlite:
            for trigger in [
                "ledger_entries_no_update", "ledger_entries_no_delete", "ledger_checkpoints_no_update",
                "ledger_checkpoints_no_delete", "ledger_tree_no_update", "ledger_tree_no_delete",
                "consent_events_no_update", "consent_events_no_delete", "auth_events_no_update",
                "auth_events_no_delete",
            ] {
                _ = try await sql.write("DROP TRIGGER \(trigger)", [])
            }
        }
    }
}
