import Foundation
import PQCrypto
import Privacy
import Testing

/// C2SP signed notes: the format read strictly, and the rule that decides whether keys vouch for one.
@Suite("Signed notes")
struct SignedNoteTests {
    static let name = "log.example/ledger"
    static let text = TreeCheckpoint(origin: name, size: 3, root: Data(repeating: 7, count: 32)).text

    static func signer(_ algorithm: SigningAlgorithm) throws -> NoteSigner {
        try NoteSigner(name: name, key: SigningKey.generate(algorithm))
    }

    @Test func notesRoundTripAndTrustedKeysVouchForThem() throws {
        let ed25519 = try Self.signer(.ed25519)
        let mldsa = try Self.signer(.mldsa65)
        let note = SignedNote(text: Self.text, signatures: [try ed25519.sign(Self.text), try mldsa.sign(Self.text)])
        let parsed = try #require(SignedNote(parsing: note.formatted))
        #expect(parsed == note)
        #expect(TreeCheckpoint(text: parsed.text)?.size == 3)
        for key in [ed25519.verifierKey, mldsa.verifierKey] {
            #expect(NoteVerifierKey(text: key.text) == key)
            #expect(NoteVerifierKey.vouch(for: parsed, by: [key]))
        }
        // A stranger's key vouches for nothing; it does not spoil the trusted one either.
        let stranger = try Self.signer(.ed25519).verifierKey
        #expect(!NoteVerifierKey.vouch(for: parsed, by: [stranger]))
        #expect(NoteVerifierKey.vouch(for: parsed, by: [stranger, ed25519.verifierKey]))
        // A trusted key's line that does not verify spoils the note, whatever else signed it.
        var spoiled = parsed
        spoiled.signatures[1].bytes[0] ^= 1
        #expect(!NoteVerifierKey.vouch(for: spoiled, by: [ed25519.verifierKey, mldsa.verifierKey]))
        #expect(NoteVerifierKey.vouch(for: spoiled, by: [ed25519.verifierKey]))
        // A changed text is signed by nobody.
        let changed = SignedNote(
            text: Self.text.replacingOccurrences(of: "\n3\n", with: "\n4\n"), signatures: parsed.signatures)
        #expect(!NoteVerifierKey.vouch(for: changed, by: [ed25519.verifierKey, mldsa.verifierKey]))
    }

    @Test(arguments: [
        "", "no newline", "text\n", "text\n\n", "text\n\n\u{2014} name\n", "text\n\n- name AAAAAAA=\n",
        "text\n\n\u{2014} na+me AAAAAAA=\n", "text\n\n\u{2014} name AAAA\n", "text\n\n\u{2014} name !!!!\n",
        "te\u{7}xt\n\n\u{2014} name AAAAAAA=\n", "text\n\n\u{2014} name AAAAAAA= extra\n",
    ])
    func malformedNotesAreRefused(note: String) {
        #expect(SignedNote(parsing: note) == nil)
    }

    @Test func malformedCheckpointsAndKeysAreRefused() {
        for text in ["o\n3\n", "o\n-1\nAAAA\n", "o\n03\n\(Data(count: 32).base64EncodedString())\n", "\n3\nAA==\n"] {
            #expect(TreeCheckpoint(text: text) == nil, "\(text)")
        }
        for key in ["", "name", "name+zz+AQ==", "name+00000000+AQ==", "a b+00000000+AQ=="] {
            #expect(NoteVerifierKey(text: key) == nil, "\(key)")
        }
    }
}
