import Consent
import Foundation
import Kernel
import Privacy

/// Consent properties on either backend. Origins and purposes are stored space-separated: neither
/// can contain a space.
struct SQLConsentPropertyRepository: ConsentPropertyRepository {
    let database: any SQLDatabase

    private static let columns = "id, name, origins, purposes, created_by, created_at, retired_at"

    func insertProperty(_ property: ConsentProperty) async throws {
        _ = try await database.write(
            """
            INSERT INTO consent_properties (id, name, origins, purposes, created_by, created_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            """,
            [
                .uuid(property.id), .text(property.name), .text(property.origins.joined(separator: " ")),
                .text(property.purposes.map(\.rawValue).joined(separator: " ")), .uuid(property.createdBy),
                .time(property.createdAt),
            ])
    }

    func properties() async throws -> [ConsentProperty] {
        try await database.select("SELECT \(Self.columns) FROM consent_properties ORDER BY created_at, id", [])
            .map(Self.property)
    }

    func property(id: UUID) async throws -> ConsentProperty? {
        try await database.select("SELECT \(Self.columns) FROM consent_properties WHERE id = $1", [.uuid(id)])
            .first.map(Self.property)
    }

    func retireProperty(id: UUID, at date: Date) async throws -> Bool {
        try await !database.write(
            "UPDATE consent_properties SET retired_at = $2 WHERE id = $1 AND retired_at IS NULL RETURNING id",
            [.uuid(id), .time(date)]
        ).isEmpty
    }

    func link(_ link: VisitorLink) async throws -> VisitorLink {
        try await database.transaction { tx in
            let inserted = try await tx.query(
                """
                INSERT INTO visitor_links (visitor_id, account_id, linked_at) VALUES ($1, $2, $3)
                ON CONFLICT (visitor_id) DO NOTHING RETURNING visitor_id
                """, [.uuid(link.visitor), .uuid(link.account), .time(link.linkedAt)])
            guard inserted.isEmpty else {
                // Last: the ledger's head stays locked until the commit, keeping ledger order commit order.
                _ = try await tx.appendLedger([
                    LedgerRecord(
                        type: "merge", id: VisitorLink.subject(link.visitor),
                        fields: [
                            "account": link.account.lowercasedString,
                            "linked_at": String(link.linkedAt.microsecondsSince1970),
                        ])
                ])
                return link
            }
            let existing = try await tx.query(
                "SELECT visitor_id, account_id, linked_at FROM visitor_links WHERE visitor_id = $1",
                [.uuid(link.visitor)])
            guard let row = existing.first else { throw StorageError.corrupted("visitor link") }
            return try Self.link(row)
        }
    }

    func visitors(linkedTo account: UUID) async throws -> [VisitorLink] {
        try await database.select(
            """
            SELECT visitor_id, account_id, linked_at FROM visitor_links WHERE account_id = $1
            ORDER BY linked_at, visitor_id
            """, [.uuid(account)]
        ).map(Self.link)
    }

    private static func link(_ row: SQLRow) throws -> VisitorLink {
        VisitorLink(visitor: try row.uuid(0), account: try row.uuid(1), linkedAt: try row.time(2))
    }

    private static func property(_ row: SQLRow) throws -> ConsentProperty {
        let purposes = try row.text(3).split(separator: " ").map { text in
            guard let purpose = try? PurposeID(validating: String(text)) else {
                throw StorageError.corrupted("consent property")
            }
            return purpose
        }
        return ConsentProperty(
            id: try row.uuid(0), name: try row.text(1), origins: try row.text(2).split(separator: " ").map(String.init),
            purposes: purposes, createdBy: try row.uuid(4), createdAt: try row.time(5), retiredAt: row.optionalTime(6))
    }
}
