public import Consent
public import Foundation
public import Identity
public import PQCrypto
public import Privacy
public import Storage
public import Valuation

/// What the services need to know, and nothing of HTTP: `qspp serve` derives it from its configuration,
/// and so do the command-line tools and the tests.
public struct ServiceSettings: Sendable {
    public var databaseURL: DatabaseURL
    public var masterKey: MasterKey
    public var migrateOnStart = true
    public var tokenAlgorithm: SigningAlgorithm = .mldsa65
    /// `iss` of every token, receipt and checkpoint.
    public var issuer: String
    public var tokenAudience = "qspp-api"
    public var accessTokenLifetime: TimeInterval = 15 * 60
    public var argon2 = Argon2Parameters.owaspMinimum
    /// Per client address and minute.
    public var loginRateLimit = 5
    public var registrationRateLimit = 10
    public var mfaRateLimit = 10
    /// Named in every consent receipt as the controller (GDPR Art. 4(7)).
    public var controller: ConsentReceipt.Controller
    /// The law consent receipts are given under, such as `EU` (GDPR) or `US-CA` (CCPA/CPRA).
    public var jurisdiction = "EU"
    /// Minutes between signed checkpoints of a moved ledger head.
    public var checkpointInterval = 10
    /// Days each class of personal data is kept before the retention job purges it.
    public var retentionDays: [RetentionClass: Int] = [.sessions: 90, .authEvents: 365, .closedRequests: 1095]
    public var priceBook = PriceBook.standard
    public var valuationLimits = ValuationLimits()
    /// Threads a valuation job may use.
    public var valuationThreads = 1

    public init(
        databaseURL: DatabaseURL, masterKey: MasterKey, issuer: String,
        controller: ConsentReceipt.Controller = .init(name: "QSPP", contact: nil)
    ) {
        self.databaseURL = databaseURL
        self.masterKey = masterKey
        self.issuer = issuer
        self.controller = controller
    }
}
