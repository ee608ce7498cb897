public import Consent

/// What signed statements say about who gives them and under which law, and how often the ledger
/// head is checkpointed.
public struct ReceiptSettings: Sendable {
    /// Named in every consent receipt as the controller (GDPR Art. 4(7)).
    public var controller = ConsentReceipt.Controller(name: "QSPP", contact: nil)
    /// The law consent receipts are given under, such as `EU` (GDPR) or `US-CA` (CCPA/CPRA).
    public var jurisdiction = "EU"
    /// Minutes between signed checkpoints of a moved ledger head.
    public var checkpointInterval = 10

    public init() {}

    public init(reader: SettingsReader) throws(InvalidSetting) {
        let qspp = reader.scoped(to: "qspp")
        let named = qspp.scoped(to: "controller")
        controller = .init(name: named.string("name") ?? controller.name, contact: named.string("contact"))
        jurisdiction = qspp.string("jurisdiction") ?? jurisdiction
        checkpointInterval = try qspp.integer("ledger.checkpoint.minutes", atLeast: 1, default: checkpointInterval)
    }
}
