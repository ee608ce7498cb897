public import Consent
import Foundation
public import Identity
public import Logging
import Outbox
public import Privacy
public import Storage
public import Valuation

/// The long-lived parts of QSPP, opened from its settings: the repositories and every use case over
/// them. `serve`, the command-line tools and the tests all build these the same way.
public struct QSPPServices: Sendable {
    public let store: any Store
    public let settings: ServiceSettings
    public let metrics: QSPPMetrics
    public let consents: ConsentService
    public let identity: IdentityService
    public let privacy: PrivacyService
    public let ledger: LedgerService
    public let restrictions: RestrictionRegistry
    public let valuation: ValuationService
    public let receipts: ReceiptIssuer
    public let rateLimiter: RateLimiter
    public let consentWriting: ConsentWriting
    public let restrictedWrites: RestrictedWrites
    public let rights: RightsFulfilment
    public let exports: PersonalDataExport
    public let keyRotation: KeyRotation
    public let webhooks: WebhookService
    public let fanOut: RequestFanOut
    public let properties: ConsentProperties

    /// `witnesses` reach the witnesses `settings` name; the HTTP layer makes them.
    public static func open(
        _ settings: ServiceSettings, logger: Logger, metrics: QSPPMetrics = QSPPMetrics(),
        witnesses: [any CheckpointWitness] = []
    ) async throws -> QSPPServices {
        let masterKey = settings.masterKey
        let store = try await openStore(settings.store.databaseURL, logger: logger, masterKey: masterKey)
        let keyRing = SigningKeyRing(
            algorithm: settings.tokens.algorithm, repository: store.identity, masterKey: masterKey,
            retention: settings.tokens.accessTokenLifetime + 5 * 60)
        let tokens = TokenAuthority(
            issuer: settings.issuer, audience: settings.tokens.audience,
            accessTokenLifetime: settings.tokens.accessTokenLifetime, keyRing: keyRing)
        var identityConfiguration = IdentityConfiguration()
        identityConfiguration.unverifiedAccess = settings.signIn.unverifiedAccess
        identityConfiguration.relyingParty = settings.signIn.relyingParty(issuer: settings.issuer)
        identityConfiguration.logoutEndpointsMayBePrivate = settings.signIn.logoutEndpointsMayBePrivate
        identityConfiguration.dynamicClientRegistration = settings.signIn.dynamicClientRegistration
        let identity = IdentityService(
            repository: store.identity, hasher: try PasswordHasher(parameters: settings.signIn.argon2), tokens: tokens,
            masterKey: masterKey, configuration: identityConfiguration, observe: metrics.authEvent)
        let consents = ConsentService(repository: store.consents)
        let restrictions = RestrictionRegistry(repository: store.privacy)
        let issuer = settings.issuer.hasSuffix("/") ? String(settings.issuer.dropLast()) : settings.issuer
        let privacy = PrivacyService(
            repository: store.privacy,
            notices: RequestNotices(requestsPage: issuer + "/my/data") { subject in
                try await identity.account(id: subject).map { ($0.email.normalized, $0.locale) }
            })
        let valuation = ValuationService(
            repository: store.valuation, priceBook: settings.valuation.priceBook, limits: settings.valuation.limits,
            parallelism: settings.valuation.threads
        ) { subject in
            try await SubjectStanding(
                grantedPurposes: consents.grantedPurposes(of: subject), restricted: restrictions.isRestricted(subject),
                unconfirmed: identity.awaitsConfirmation(subject: subject))
        }
        let consentWriting = ConsentWriting(consents: consents, restrictions: restrictions, metrics: metrics)
        let ledger = LedgerService(
            repository: store.ledger, records: store.recordedRows,
            signer: RingCheckpointSigner(ring: keyRing, repository: store.identity),
            issuer: settings.issuer,
            log: try LogIdentity.derived(
                from: masterKey, origin: settings.receipts.logOrigin ?? LogIdentity.origin(issuer: settings.issuer),
                pinned: settings.receipts.trustedLogKeys),
            witnesses: witnesses, quorum: settings.receipts.witnessQuorum)
        let webhookSecrets = WebhookSecrets(webhooks: store.webhooks, masterKey: masterKey)
        let fanOut = RequestFanOut(
            tasks: store.requestTasks, endpointKey: webhookSecrets.key(for:), privacy: privacy, identity: identity)
        let rateLimiter = RateLimiter(
            repository: store.identity, blindingKey: masterKey.derivedKey(for: "rate limit keys"))
        return QSPPServices(
            store: store, settings: settings, metrics: metrics, consents: consents, identity: identity,
            privacy: privacy, ledger: ledger, restrictions: restrictions, valuation: valuation,
            receipts: ReceiptIssuer(
                ring: keyRing, consents: consents, ledger: ledger, issuer: settings.issuer,
                controller: settings.receipts.controller, jurisdiction: settings.receipts.jurisdiction),
            rateLimiter: rateLimiter,
            consentWriting: consentWriting,
            restrictedWrites: RestrictedWrites(
                restrictions: restrictions, identity: identity, valuation: valuation, rateLimiter: rateLimiter),
            rights: RightsFulfilment(
                privacy: privacy, identity: identity, consents: consents, restrictions: restrictions,
                erasures: store.erasures, fanOut: fanOut),
            exports: PersonalDataExport(store: store),
            keyRotation: KeyRotation(repository: store.sealedKeys, audit: store.identity, masterKey: masterKey),
            webhooks: WebhookService(
                repository: store.webhooks, secrets: webhookSecrets, fanOut: fanOut, identity: identity,
                consents: consents, allowsPrivateNetworks: settings.webhooks.allowsPrivateNetworks, now: { Date() }),
            fanOut: fanOut,
            properties: ConsentProperties(
                repository: store.properties, consents: consents, writing: consentWriting, identity: identity,
                tokens: VisitorTokens(masterKey: masterKey), erasures: store.erasures))
    }

    /// Migrates (when configured) and loads the signing keys, creating the first one if needed.
    public func prepare(logger: Logger) async throws {
        if settings.store.migrateOnStart {
            let applied = try await store.migrate()
            logger.info(
                "migrations applied", metadata: ["versions": .string(applied.map(String.init).joined(separator: ","))])
        }
        try await identity.loadSigningKeys()
        try await store.preparePersonalData()
    }

    /// Runs `body` with the store's service running (the PostgreSQL pool needs it), for one-shot commands.
    public func withRunningStore<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await withRunning(store, body)
    }
}

/// Runs `body` while `store`'s service runs, and stops the service after it.
private func withRunning<T: Sendable>(
    _ store: any Store, _ body: @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask {
            try await store.run()
            return nil
        }
        defer { group.cancelAll() }
        return try await body()
    }
}

/// Applies pending migrations and returns their versions; the PostgreSQL pool runs only meanwhile.
public func runMigrations(
    databaseURL: DatabaseURL, grantingTo applicationRole: String? = nil, logger: Logger
) async throws -> [Int] {
    let store = try await openStore(databaseURL, logger: logger)
    return try await withRunning(store) {
        let applied = try await store.migrate()
        if let applicationRole { try await store.grantPrivileges(to: applicationRole) }
        return applied
    }
}
