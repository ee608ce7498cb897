extension Migration {
    /// Verification reads consent rows by the range of entries they record, in ledger order: an index
    /// keeps that a range scan instead of a look-up per row.
    static let v17ConsentLedgerSequence = Version(number: 17, name: "consent_ledger_sequence") { _ in
        ["CREATE INDEX consent_events_ledger_seq ON consent_events (ledger_seq)"]
    }
}
