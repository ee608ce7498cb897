public import Foundation
public import Outbox

/// A WebAuthn credential registered to an account: what signs it in without a password, or serves
/// as its second factor.
public struct Passkey: Sendable, Equatable {
    /// The credential id the authenticator chose; unique across accounts.
    public let id: Data
    public let userID: UUID
    /// The person's name for it ("Laptop"), at most ``maximumNameLength`` characters.
    public var name: String
    /// The COSE public key, as the authenticator encoded it at registration.
    public let publicKey: Data
    /// Its COSE algorithm number.
    public let algorithm: Int
    public var signCount: UInt32
    /// Whether it may be synced to other devices; fixed at registration.
    public let backupEligible: Bool
    public var backedUp: Bool
    /// The authenticator model's AAGUID (zeros when it keeps it to itself).
    public let aaguid: Data
    /// `none`, `self` or `untrusted` (``WebAuthn/AttestationTrust``), with the statement's format.
    public let attestation: String
    public let attestationFormat: String
    public let createdAt: Date
    public var lastUsedAt: Date?

    public static let maximumNameLength = 64

    public init(
        id: Data, userID: UUID, name: String, publicKey: Data, algorithm: Int, signCount: UInt32,
        backupEligible: Bool, backedUp: Bool, aaguid: Data, attestation: String, attestationFormat: String,
        createdAt: Date, lastUsedAt: Date? = nil
    ) {
        self.id = id
        self.userID = userID
        self.name = name
        self.publicKey = publicKey
        self.algorithm = algorithm
        self.signCount = signCount
        self.backupEligible = backupEligible
        self.backedUp = backedUp
        self.aaguid = aaguid
        self.attestation = attestation
        self.attestationFormat = attestationFormat
        self.createdAt = createdAt
        self.lastUsedAt = lastUsedAt
    }

    /// RFC 8176's method for it: `swk` for a key that may live in software and be synced, `hwk` for one
    /// bound to its device.
    public var authenticationMethod: String { backupEligible ? "swk" : "hwk" }
}

/// A challenge issued for one WebAuthn ceremony. Only its digest is stored; it answers once, and
/// within ``IdentityService/passkeyChallengeLifetime``.
public struct PasskeyChallenge: Sendable, Equatable {
    public enum Purpose: String, Sendable, CaseIterable {
        case registration
        case signIn = "sign-in"
        case secondFactor = "second-factor"
    }

    public let digest: String
    public let purpose: Purpose
    /// The account it was issued to: nil for a sign-in, where the passkey names its account.
    public let userID: UUID?
    public let expiresAt: Date

    public init(digest: String, purpose: Purpose, userID: UUID?, expiresAt: Date) {
        self.digest = digest
        self.purpose = purpose
        self.userID = userID
        self.expiresAt = expiresAt
    }
}

/// Where passkeys and their challenges are kept. Part of ``IdentityRepository``.
public protocol PasskeyRepository: Sendable {
    func insertPasskeyChallenge(_ challenge: PasskeyChallenge) async throws
    /// Deletes and returns the challenge with `digest` issued for `purpose`, expired or not: whoever
    /// takes it first is the only one who can use it.
    func takePasskeyChallenge(digest: String, purpose: PasskeyChallenge.Purpose) async throws -> PasskeyChallenge?
    /// Stores a new passkey, records `event` with its ledger entry and queues `mail`, in one
    /// transaction. Throws ``IdentityError/passkeyExists`` when the credential id is registered.
    func insertPasskey(_ passkey: Passkey, recording event: AuthEvent, queueing mail: [OutboundMail]) async throws
    func passkey(id: Data) async throws -> Passkey?
    func passkeys(userID: UUID) async throws -> [Passkey]
    /// Stores a sign-in's counter and backup state if the stored counter is still below it (or both
    /// are zero). False when another sign-in got there first: the counter would go back.
    func recordPasskeyUse(id: Data, signCount: UInt32, backedUp: Bool, at date: Date) async throws -> Bool
    /// False when the account has no such passkey.
    func renamePasskey(id: Data, userID: UUID, name: String) async throws -> Bool
    /// Deletes the account's passkey, records `event` and queues `mail`, in one transaction; unless it
    /// is the account's last way to sign in: its last passkey while it has no password.
    func deletePasskey(
        id: Data, userID: UUID, recording event: AuthEvent, queueing mail: [OutboundMail]
    )
        async throws -> PasskeyDeletion
    /// Removes the account's password, records `event` and queues `mail`, in one transaction; false,
    /// changing nothing, when the account has no passkey, which would leave it no way to sign in.
    func removePassword(userID: UUID, recording event: AuthEvent, queueing mail: [OutboundMail]) async throws -> Bool
}

/// What removing a passkey did.
public enum PasskeyDeletion: Sendable, Equatable {
    case deleted
    case notFound
    /// Refused: the account has no password, and this is its last passkey.
    case lastSignInMethod
}
