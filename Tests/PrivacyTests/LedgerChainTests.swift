import Crypto
import Foundation
import PQCrypto
import Privacy
import Testing

@Suite("Ledger chain")
struct LedgerChainTests {
    func chain(_ count: Int) -> [LedgerEntry] {
        LedgerChain.extend(
            .empty, with: (1...count).map { LedgerRecord(type: "test", id: "\($0)", fields: ["n": "\($0)"]) }
        ).entries
    }

    func firstProblem(_ entries: [LedgerEntry], checkpoints: [Int64: Data] = [:]) -> LedgerProblem? {
        var verifier = LedgerVerifier(checkpoints: checkpoints)
        for entry in entries {
            guard verifier.check(entry) else { break }
        }
        verifier.finish(storedHead: LedgerHead(size: verifier.head.size, hash: verifier.head.hash))
        return verifier.problem
    }

    @Test func hashesFollowTheDocumentedFormula() {
        let entries = chain(2)
        // SHA-256("qspp-ledger-v1" ‖ seq as u64 big-endian ‖ previous ‖ content hash), computed here
        // from the bytes, not with the code under test.
        var input = Data("qspp-ledger-v1".utf8)
        input += Data([0, 0, 0, 0, 0, 0, 0, 2])
        input += entries[0].entryHash
        input += Data(SHA256.hash(data: entries[1].content))
        #expect(entries[1].entryHash == Data(SHA256.hash(data: input)))
        #expect(entries[0].previousHash == Data(repeating: 0, count: 32))
        #expect(String(decoding: entries[0].content, as: UTF8.self) == #"{"id":"1","n":"1","type":"test"}"#)
        #expect(firstProblem(entries) == nil)
    }

    @Test func canonicalContentIsJSONThatReadsBackExactly() throws {
        let fields = ["z": "last", "a": "quote \" backslash \\ slash / tab \t nul \u{0} é 🙂", "detail.x": ""]
        let record = LedgerRecord(type: "t", id: "1", fields: fields)
        let parsed = try JSONSerialization.jsonObject(with: record.content) as? [String: String]
        #expect(parsed == fields.merging(["type": "t", "id": "1"]) { $1 })
        let text = String(decoding: record.content, as: UTF8.self)
        #expect(
            text.hasPrefix(#"{"a":"quote \" backslash \\ slash / tab \u0009 nul \u0000 é 🙂","detail.x":"","id":"1""#))
    }

    @Test func aChangedEntryIsFoundAtItsPlace() {
        var entries = chain(10)
        entries[3].content = Data(#"{"id":"4","n":"40","type":"test"}"#.utf8)
        #expect(firstProblem(entries)?.sequence == 4)
    }

    @Test func aMissingEntryIsNamed() {
        var entries = chain(10)
        entries.remove(at: 5)
        #expect(
            firstProblem(entries)
                == LedgerProblem(sequence: 6, reason: "entry 6 is missing (the next stored entry is 7)"))
    }

    @Test func aRecomputedChainIsCaughtByTheCheckpoint() {
        let original = chain(10)
        var records = (1...10).map { LedgerRecord(type: "test", id: "\($0)", fields: ["n": "\($0)"]) }
        records[2] = LedgerRecord(type: "test", id: "3", fields: ["n": "forged"])
        let forged = LedgerChain.extend(.empty, with: records).entries
        #expect(firstProblem(forged) == nil)
        #expect(firstProblem(forged, checkpoints: [8: original[7].entryHash])?.sequence == 8)
    }

    @Test func damagedRowsAreReportedNotTrapped() {
        var entries = chain(5)
        entries[1].contentHash = Data()
        entries[2].previousHash = Data([1])
        #expect(firstProblem(entries)?.sequence == 2)
    }

    @Test func entriesCutAfterACheckpointAreNoticed() {
        let entries = chain(10)
        var verifier = LedgerVerifier(checkpoints: [10: entries[9].entryHash])
        for entry in entries.prefix(7) { verifier.check(entry) }
        verifier.finish(storedHead: verifier.head)
        #expect(verifier.problem?.sequence == 8)
    }
}
