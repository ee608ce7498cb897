import Foundation

/// Durable storage for the ledger. Entries are appended by the repositories that record what they
/// describe, in the same transaction; this protocol adds reading, checkpoints and stand-alone appends.
public protocol LedgerRepository: Sendable {
    /// Appends records that belong to no other write (a key rotation, say). Returns their sequences.
    func appendLedger(_ records: [LedgerRecord]) async throws -> [Int64]
    /// Entries with a sequence greater than `sequence`, in order.
    func ledgerEntries(after sequence: Int64, limit: Int) async throws -> [LedgerEntry]
    func ledgerHead() async throws -> LedgerHead
    /// The entry recorded for `reference`, if any.
    func ledgerSequence(reference: String) async throws -> Int64?

    /// Stores a checkpoint; a second one for the same size is ignored.
    func insertCheckpoint(_ checkpoint: LedgerCheckpoint) async throws
    /// Every checkpoint, oldest first.
    func checkpoints() async throws -> [LedgerCheckpoint]
}
