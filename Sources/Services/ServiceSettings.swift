public import PQCrypto

/// What the services need to know, and nothing of HTTP: `qspp serve` derives it from its configuration,
/// and so do the command-line tools and the tests. Each area keeps its own defaults.
public struct ServiceSettings: Sendable {
    public var store: StoreSettings
    public var tokens: TokenSettings
    public var signIn: SignInSettings
    public var receipts: ReceiptSettings
    public var retention: RetentionSettings
    public var valuation: ValuationSettings
    public var mail: MailSettings
    public var webhooks: WebhookSettings
    /// The key-encryption key `store` names, resolved, able to open what the previous keys sealed.
    public var masterKey: MasterKey
    /// `iss` of every token, receipt and checkpoint: `tokens.issuer`, or else the server's own URL.
    public var issuer: String

    public init(
        masterKey: MasterKey, issuer: String, store: StoreSettings = .init(), tokens: TokenSettings = .init(),
        signIn: SignInSettings = .init(), receipts: ReceiptSettings = .init(), retention: RetentionSettings = .init(),
        valuation: ValuationSettings = .init(), mail: MailSettings = .init(),
        webhooks: WebhookSettings = .init()
    ) {
        self.mail = mail
        self.webhooks = webhooks
        self.masterKey = masterKey
        self.issuer = issuer
        self.store = store
        self.tokens = tokens
        self.signIn = signIn
        self.receipts = receipts
        self.retention = retention
        self.valuation = valuation
    }
}
