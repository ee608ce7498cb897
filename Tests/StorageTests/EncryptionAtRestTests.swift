import Consent
import Foundation
import Identity
import PQCrypto
import QSPPTestSupport
import Services
import Testing

@testable import Storage

/// Personal data is sealed before it reaches the database: reading every row of every table, as
/// someone with a copy of the database would, finds no email, address or user agent.
@Suite("Encryption at rest")
struct EncryptionAtRestTests {
    @Test(arguments: Backend.all)
    func rawRowsHoldNoPlaintextEmailAddressOrUserAgent(backend: Backend) async throws {
        try await withStore(backend) { store in
            let marker = UUID().uuidString.lowercased().prefix(8)
            let email = "needle-\(marker)@example.com"
            let ip = "2001:db8::\(marker.prefix(4)):\(marker.suffix(4))"
            let agent = "NeedleAgent/\(marker)"
            let client = ClientInfo(ipAddress: ip, userAgent: agent)

            let account = Account(
                id: UUID(), email: try EmailAddress(email), passwordHash: "$argon2id$test", roles: [.user],
                createdAt: Date())
            try await store.identity.insertAccount(account)
            let session = Session(
                id: UUID(), userID: account.id, createdAt: Date(), lastUsedAt: Date(), client: client,
                rememberMe: false, authenticationMethods: ["pwd"])
            try await store.identity.insertSession(
                session,
                firstToken: RefreshTokenRecord(
                    digest: UUID().uuidString, sessionID: session.id, userID: account.id, issuedAt: Date(),
                    expiresAt: Date().addingTimeInterval(60)),
                recording: [AuthEvent(kind: .loginSucceeded, at: Date(), userID: account.id, client: client)],
                clearingThrottle: nil)
            try await store.identity.appendAuthEvent(AuthEvent(kind: .loginFailed, at: Date(), client: client))
            let subject = try SubjectID(validating: account.subjectID)
            _ = try await store.consents.append(
                [makeEvent(subject, try PurposeID(validating: "marketing"), .granted, sourceIP: ip, userAgent: agent)],
                claim: nil)

            // Everything reads back in the clear through the repositories.
            #expect(try await store.identity.account(email: try EmailAddress(email))?.id == account.id)
            #expect(try await store.identity.account(id: account.id)?.email.normalized == email)
            #expect(try await store.identity.session(id: session.id)?.client == client)
            #expect(try await store.identity.authEvents(userID: account.id, limit: 5).first?.client == client)
            let history = try await store.consents.history(subjectID: subject, after: nil, limit: 5).events
            #expect(history.first?.sourceIP == ip && history.first?.userAgent == agent)

            // And nowhere in the raw rows.
            // PostgreSQL shows a bytea as hex: a plaintext hidden in one would show as its hex.
            let needles = [email, ip, agent].flatMap { [$0, Hex.encode(Data($0.utf8))] }
            let leaks = try await Self.rawRows(store, backend: backend).filter { row in
                needles.contains { row.contains($0) }
            }
            #expect(leaks.isEmpty, "plaintext found: \(leaks.prefix(3))")
            let keys = try await store.sql.select(
                "SELECT count(*) FROM subject_keys WHERE subject_id = $1", [.text(account.subjectID)])
            #expect((keys.first?[0].integer ?? 0) >= 1)
        }
    }

    @Test(arguments: Backend.all)
    func aWrongMasterKeyOpensNothing(backend: Backend) async throws {
        let url = try await isolatedDatabaseURL(backend)
        let right = try MasterKey(base64Seed: testMasterKey)
        let email = "wrong-key-\(UUID().uuidString.lowercased())@example.com"
        let id = UUID()
        try await withStore(url, masterKey: right) { store in
            try await store.preparePersonalData()
            try await store.identity.insertAccount(
                Account(id: id, email: try EmailAddress(email), passwordHash: "x", roles: [.user], createdAt: Date()))
        }
        try await withStore(url, masterKey: try MasterKey(base64Seed: MasterKey.generateSeedText())) { store in
            await #expect(throws: PQCryptoError.cannotOpen) { try await store.preparePersonalData() }
            await #expect(throws: (any Error).self) { _ = try await store.identity.account(id: id) }
        }
        try await withStore(url, masterKey: right) { store in
            let account = try await store.identity.account(id: id)
            #expect(account?.email.normalized == email)
        }
    }

    /// A new master key: servers open with both while `rewrapUnderCurrentMasterKey` re-seals the data
    /// keys, the data rows stay byte for byte as they were, and afterwards the old key is not needed.
    @Test(arguments: Backend.all)
    func rotatingTheMasterKeyRewrapsKeysAndLeavesDataRowsAlone(backend: Backend) async throws {
        let url = try await isolatedDatabaseURL(backend)
        let old = try MasterKey(base64Seed: testMasterKey)
        let new = try MasterKey(base64Seed: MasterKey.generateSeedText())
        let id = UUID()
        let email = "rotate-\(id.uuidString.lowercased())@example.com"
        let rowBefore = try await withStore(url, masterKey: old) { store in
            try await store.preparePersonalData()
            try await store.identity.insertAccount(
                Account(id: id, email: try EmailAddress(email), passwordHash: "x", roles: [.user], createdAt: Date()))
            return try await store.sql.select("SELECT email FROM accounts WHERE id = $1", [.uuid(id)]).first?[0]
        }
        let report = try await withStore(url, masterKey: new.opening(previous: [old])) { store in
            let rotation = KeyRotation(
                repository: store.sealedKeys, audit: store.identity, masterKey: new.opening(previous: [old]))
            let account = try await store.identity.account(email: try EmailAddress(email))
            #expect(account?.id == id)
            let report = try await rotation.rewrapUnderCurrentMasterKey()
            let rowAfter = try await store.sql.select("SELECT email FROM accounts WHERE id = $1", [.uuid(id)]).first?[0]
            #expect(rowAfter == rowBefore)
            let again = try await rotation.rewrapUnderCurrentMasterKey()
            #expect(again.wrappingKeys == 0 && again.secrets == 0)
            return report
        }
        #expect(report.wrappingKeys >= 1)
        #expect(report.secrets >= 1)
        try await withStore(url, masterKey: new) { store in
            try await store.preparePersonalData()
            let account = try await store.identity.account(email: try EmailAddress(email))
            #expect(account?.email.normalized == email)
        }
    }

    /// Every row of every table, as text: PostgreSQL's row-to-text, or each SQLite value's bytes.
    static func rawRows(_ store: any Store, backend: Backend) async throws -> [String] {
        let sql = store.sql
        var rows: [String] = []
        switch backend {
        case .postgres:
            let tables = try await sql.select(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'", [])
            for table in tables {
                let name = try table.text(0)
                rows += try await sql.select("SELECT t::text FROM \"\(name)\" t", []).map { try $0.text(0) }
            }
        case .sqlite:
            let tables = try await sql.select("SELECT name FROM sqlite_master WHERE type = 'table'", [])
            for table in tables {
                for row in try await sql.select("SELECT * FROM \"\(try table.text(0))\"", []) {
                    rows.append(
                        row.values.map { value in
                            value.bytes.map { String(decoding: $0, as: UTF8.self) } ?? ""
                        }.joined(separator: "|"))
                }
            }
        }
        return rows
    }
}
