import Foundation
public import Identity
import Outbox
public import PQCrypto
import Storage

/// What `qspp keys rotate-kek` re-sealed.
public struct RewrapReport: Sendable, Equatable {
    /// The keys that wrap the subjects' data keys; the data keys themselves need no change.
    public var wrappingKeys = 0
    public var secrets = 0
    public var signingKeys = 0
    public var totpSecrets = 0
    public var webhookSecrets = 0
}

/// Re-seals every key sealed to the master key under the current one: the wrapping keys (which wrap
/// the subjects' data keys), the named secrets, the signing keys, the TOTP secrets and the webhook secrets. Neither the data
/// keys nor the rows of personal data are touched. Servers keep working throughout, because they open
/// with the current and the previous master keys alike.
/// The rotation is audited, and so chained into the ledger.
public struct KeyRotation: Sendable {
    let repository: any SealedKeyRepository
    let audit: any IdentityRepository
    let masterKey: MasterKey

    public init(repository: any SealedKeyRepository, audit: any IdentityRepository, masterKey: MasterKey) {
        self.repository = repository
        self.audit = audit
        self.masterKey = masterKey
    }

    public func rewrapUnderCurrentMasterKey() async throws -> RewrapReport {
        let current = masterKey.fingerprint
        var report = RewrapReport()
        for kind in SealedKeyKind.allCases {
            for key in try await repository.sealedKeys(kind, notUnder: current) {
                let context = try Self.sealingContext(of: key)
                let plain = try masterKey.open(key.sealed, context: context)
                let resealed = try masterKey.seal(plain, context: context)
                guard try await repository.replace(key, with: resealed, under: current) else { continue }
                switch kind {
                case .wrappingKey: report.wrappingKeys += 1
                case .secret: report.secrets += 1
                case .signingKey: report.signingKeys += 1
                case .totpSecret: report.totpSecrets += 1
                case .webhookSecret: report.webhookSecrets += 1
                }
            }
        }
        try await audit.appendAuthEvent(
            AuthEvent(
                kind: .masterKeyRotated, at: Date(),
                details: ["wrapping_keys": String(report.wrappingKeys), "signing_keys": String(report.signingKeys)]))
        return report
    }

    /// The context each kind was sealed under, so that one kind can never be opened as another.
    static func sealingContext(of key: SealedKey) throws -> String {
        switch key.kind {
        case .secret: return PersonalDataVault.secretContext(key.id)
        case .signingKey: return SigningKeyRing.sealingContext(key.id)
        case .wrappingKey, .totpSecret, .webhookSecret:
            guard let id = UUID(uuidString: key.id) else { throw ServiceError.corruptedKey(key.kind.rawValue) }
            switch key.kind {
            case .wrappingKey: return PersonalDataVault.wrappingContext(id)
            case .totpSecret: return IdentityService.totpContext(id)
            default: return WebhookEndpoint.sealingContext(id)
            }
        }
    }
}
