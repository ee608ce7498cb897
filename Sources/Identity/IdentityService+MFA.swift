import Foundation
import Kernel
import PQCrypto

extension IdentityService {
    public struct TOTPSetup: Sendable {
        public let secret: String
        public let provisioningURI: String
    }

    /// Starts (or restarts) TOTP set-up. MFA is not on until `confirmTOTP` sees a first code. A second
    /// factor chosen by whoever holds a stolen session would lock the owner out, so this needs fresh proof
    /// of the person (``requireRecentAuthentication(_:account:password:client:)``).
    public func beginTOTPSetup(
        user: AuthenticatedUser, currentPassword: String? = nil, client: ClientInfo = ClientInfo()
    ) async throws -> TOTPSetup {
        let account = try await requireAccount(user.userID)
        guard !account.mfaEnabled else { throw IdentityError.mfaAlreadyEnabled }
        try await requireRecentAuthentication(user, account: account, password: currentPassword, client: client)
        let totp = TOTP.generate()
        let sealed = try masterKey.seal(totp.secret, context: Self.totpContext(account.id))
        try await repository.updateMFA(
            userID: account.id, sealedSecret: sealed, enabled: false, recoveryCodeDigests: [])
        return TOTPSetup(
            secret: totp.base32Secret,
            provisioningURI: totp.provisioningURI(account: account.email.normalized, issuer: configuration.totpIssuer))
    }

    /// Turns MFA on with a first valid code, and returns ten single-use recovery codes (shown once).
    public func confirmTOTP(user: AuthenticatedUser, code: String, client: ClientInfo) async throws -> [String] {
        let account = try await requireAccount(user.userID)
        guard !account.mfaEnabled else { throw IdentityError.mfaAlreadyEnabled }
        guard let sealed = account.sealedTOTPSecret else { throw IdentityError.mfaSetupMissing }
        let totp = TOTP(secret: try masterKey.open(sealed, context: Self.totpContext(account.id)))
        try await claimAttempt(key: Self.mfaThrottleKey(account.id), client: client)
        guard let step = totp.matchingStep(for: code, at: now()),
            try await repository.consumeTOTPStep(userID: account.id, step: step)
        else {
            try await audit(.mfaFailed, userID: account.id, client: client, details: ["stage": "setup"])
            throw IdentityError.invalidMFACode
        }
        try await repository.clearLoginThrottle(key: Self.mfaThrottleKey(account.id))
        let codes = OpaqueSecret.generateRecoveryCodes()
        try await repository.updateMFA(
            userID: account.id, sealedSecret: sealed, enabled: true,
            recoveryCodeDigests: codes.map(OpaqueSecret.digest),
            queueing: [notice(.mfaEnabled, to: account, client: client)])
        try await audit(.mfaEnabled, userID: account.id, sessionID: user.sessionID, client: client)
        return codes
    }

    /// Turns MFA off; needs a current code (or recovery code), or the password.
    public func disableMFA(user: AuthenticatedUser, code: String?, password: String?, client: ClientInfo) async throws {
        let account = try await requireAccount(user.userID)
        guard account.mfaEnabled else { throw IdentityError.mfaNotEnabled }
        if let code {
            try await verifySecondFactor(code, account: account, client: client)
        } else if let password {
            try await checkPassword(password, of: account, in: user, client: client)
        } else {
            throw IdentityError.invalidMFACode
        }
        try await repository.updateMFA(
            userID: account.id, sealedSecret: nil, enabled: false, recoveryCodeDigests: [],
            queueing: [notice(.mfaDisabled, to: account, client: client)])
        try await audit(.mfaDisabled, userID: account.id, sessionID: user.sessionID, client: client)
    }

    /// A TOTP code not used before, or an unused recovery code; under a per-account throttle.
    func verifySecondFactor(_ code: String, account: Account, client: ClientInfo) async throws {
        guard account.mfaEnabled, let sealed = account.sealedTOTPSecret else { throw IdentityError.mfaNotEnabled }
        let throttleKey = Self.mfaThrottleKey(account.id)
        try await claimAttempt(key: throttleKey, client: client)
        let trimmed = code.trimmingCharacters(in: .whitespaces)
        var accepted = false
        if trimmed.count == TOTP.digits {
            let totp = TOTP(secret: try masterKey.open(sealed, context: Self.totpContext(account.id)))
            if let step = totp.matchingStep(for: trimmed, at: now()) {
                accepted = try await repository.consumeTOTPStep(userID: account.id, step: step)
            }
        } else {
            let digest = OpaqueSecret.digest(OpaqueSecret.normalizeRecoveryCode(trimmed))
            accepted = try await repository.consumeRecoveryCode(userID: account.id, digest: digest, at: now())
            if accepted { try await audit(.recoveryCodeUsed, userID: account.id, client: client) }
        }
        guard accepted else {
            try await audit(.mfaFailed, userID: account.id, client: client)
            throw IdentityError.invalidMFACode
        }
        try await repository.clearLoginThrottle(key: throttleKey)
        try await audit(.mfaSucceeded, userID: account.id, client: client)
    }

    public static func totpContext(_ userID: UUID) -> String { "qspp totp " + userID.lowercasedString }
    static func mfaThrottleKey(_ userID: UUID) -> String { "mfa:" + userID.lowercasedString }
}
