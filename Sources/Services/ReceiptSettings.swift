public import Consent
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
    }
}
