extension Migration {
    /// Verification finds rows that no entry records by looking their references up in the ledger, and
    /// receipts find their entry the same way: an index keeps each lookup a seek.
    static let v14LedgerReferences = Version(number: 14, name: "ledger_references") { _ in
        ["CREATE INDEX ledger_entries_reference ON ledger_entries (reference)"]
    }
}
