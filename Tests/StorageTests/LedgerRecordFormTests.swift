import Consent
import Foundation
import Privacy
import Testing

@testable import Storage

/// Verification rebuilds each consent row's entry content in key order without sorting; the write path
/// sorts a dictionary. Both must give the same bytes for every row, or an untouched ledger would fail.
struct LedgerRecordFormTests {
    @Test(arguments: [false, true], [false, true])
    func aStoredRowRebuildsTheContentItsWriteRecorded(withClientTimestamp: Bool, sealed: Bool) throws {
        for subject in ["alice", "bob-\u{E9}\u{4E2D}", "quote\"and\\slash", "tab\tnew\nline"] {
            let event = ConsentEvent(
                id: UUID(), subjectID: try SubjectID(validating: "s-\(subject.count)"),
                purposeID: try PurposeID(validating: "marketing"), decision: .withdrawn, noticeVersion: 12,
                method: .gpc, sourceIP: nil, userAgent: nil,
                recordedAt: Date(microsecondsSince1970: 1_764_096_000_123_456),
                clientTimestamp: withClientTimestamp ? Date(microsecondsSince1970: 1_764_095_999_000_001) : nil)
            let sealedIP = sealed ? "v1.ip-ciphertext-\(subject)" : nil
            let sealedAgent = sealed ? "v1.agent-ciphertext" : nil
            let written = LedgerRecord(consent: event, sealedIP: sealedIP, sealedAgent: sealedAgent).content
            // The stored row keeps the subject exactly as given, including what JSON must escape.
            var row = StoredEventRow(
                sequence: 1, id: event.id, subjectID: event.subjectID.rawValue, purposeID: "marketing",
                decision: "withdrawn", noticeVersion: 12, method: "gpc", sourceIP: sealedIP, userAgent: sealedAgent,
                recordedAtMicros: 1_764_096_000_123_456,
                clientTimestampMicros: withClientTimestamp ? 1_764_095_999_000_001 : nil, ledgerSequence: 1)
            let id = event.id.lowercasedString
            #expect(LedgerRecord.consentContent(row, id: id) == written)
            #expect(LedgerRecord.consentContent(row, id: id, is: written))
            #expect(!LedgerRecord.consentContent(row, id: id, is: written.dropLast()))
            #expect(!LedgerRecord.consentContent(row, id: id, is: written + Data("}".utf8)))
            var changed = written
            changed[changed.startIndex + 3] ^= 1
            #expect(!LedgerRecord.consentContent(row, id: id, is: changed))
            row.subjectID = subject
            #expect(
                LedgerRecord.consentContent(row, id: id)
                    == LedgerRecord.contents(
                        row.ledgerFields, type: "consent", id: id, sealedIP: sealedIP, sealedAgent: sealedAgent)[0])
        }
    }

    /// Numbers are written digit by digit, as `String(_:)` writes them.
    @Test(arguments: [0, 7, -7, 10, 1_764_096_000_123_456, Int64.max, Int64.min])
    func anIntegerFieldIsItsDecimalString(value: Int64) {
        var writer = CanonicalJSON.Writer()
        writer.field("n", value)
        #expect(writer.object == CanonicalJSON.object(["n": String(value)]))
    }
}
