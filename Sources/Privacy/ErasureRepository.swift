public import Foundation

/// What crypto-shredding needs from a database.
public protocol ErasureRepository: Sendable {
    /// Destroys every data key of `subject`, so every field sealed under them is noise from now on,
    /// wherever a copy of it lives, deletes their data records and values, and records the erasure with
    /// its ledger entry, in one transaction. Idempotent: erasing again changes nothing and returns the
    /// first erasure's time.
    func shred(subject: String, requestID: UUID?, at date: Date) async throws -> Date
    /// When the subject was erased, if they were.
    func erasure(of subject: String) async throws -> Date?
}
