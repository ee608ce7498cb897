public import Consent
public import Foundation
public import Privacy

/// What signed statements say about who gives them and under which law, and how often the ledger
/// head is checkpointed.
public struct ReceiptSettings: Sendable {
    /// Named in every consent receipt as the controller (GDPR Art. 4(7)).
    public var controller = ConsentReceipt.Controller(name: "QSPP", contact: nil)
    /// The law consent receipts are given under, such as `EU` (GDPR) or `US-CA` (CCPA/CPRA).
    public var jurisdiction = "EU"
    /// Minutes between signed checkpoints of a moved ledger head.
    public var checkpointInterval = 10
    /// The log's C2SP origin; by default the issuer's host and path followed by `/ledger`.
    public var logOrigin: String?
    /// Further keys whose signed notes verification trusts, as `name+id+key` verifier keys: the keys a
    /// master key held before it was rotated, say. The server's own log keys are always trusted.
    public var trustedLogKeys: [NoteVerifierKey] = []
    /// Witnesses asked to cosign each checkpoint (C2SP tlog-witness): each one's URL prefix and key.
    public var witnesses: [WitnessEndpoint] = []
    /// How many witnesses must have cosigned the latest checkpoint for verification to pass; all of
    /// them unless set.
    public var witnessQuorum: Int?

    public init() {}

    public init(reader: SettingsReader) throws(InvalidSetting) {
        let qspp = reader.scoped(to: "qspp")
        let named = qspp.scoped(to: "controller")
        controller = .init(name: named.string("name") ?? controller.name, contact: named.string("contact"))
        jurisdiction = qspp.string("jurisdiction") ?? jurisdiction
        checkpointInterval = try qspp.integer("ledger.checkpoint.minutes", atLeast: 1, default: checkpointInterval)
        logOrigin = try qspp.parsed("ledger.origin") { text in
            guard SignedNote.isValidKeyName(text) else {
                throw SettingsReader.Refusal("must be a name without spaces or '+', such as example.com/ledger")
            }
            return text
        }
        trustedLogKeys =
            try qspp.list(
                "ledger.trusted.keys", refusal: "must be verifier keys (name+id+key) separated by commas",
                NoteVerifierKey.init(text:)) ?? []
        witnesses =
            try qspp.list(
                "ledger.witnesses",
                refusal: "must be witnesses as '<URL prefix> <cosignature key name+id+key>', separated by commas",
                WitnessEndpoint.init(text:)) ?? []
        if qspp.string("ledger.witness.quorum") != nil {
            witnessQuorum = try qspp.integer(
                "ledger.witness.quorum", atLeast: 1, atMost: max(1, witnesses.count), default: 1)
        }
    }
}

/// A witness the log asks to cosign: where it listens, and the key its cosignatures are made with.
public struct WitnessEndpoint: Sendable, Equatable {
    public var url: URL
    public var key: NoteVerifierKey

    public init(url: URL, key: NoteVerifierKey) {
        self.url = url
        self.key = key
    }

    init?(text: String) {
        let parts = text.split(separator: " ", omittingEmptySubsequences: true)
        guard parts.count == 2, let url = URL(string: String(parts[0])), ["http", "https"].contains(url.scheme),
            url.host != nil, let key = NoteVerifierKey(text: String(parts[1])), key.algorithm == .ed25519Cosignature
        else { return nil }
        self.init(url: url, key: key)
    }
}
