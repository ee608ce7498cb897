import Crypto
import Foundation
import Kernel
import PQCrypto
import WebAuthn

/// Passkeys (WebAuthn Level 3): registered from a fresh session, then used to sign in without a
/// password (with user verification, which makes it multi-factor) or as the second factor after one.
/// Every ceremony answers a challenge issued here, stored as a digest, taken once and expiring.
extension IdentityService {
    public static let passkeyChallengeLifetime: TimeInterval = 5 * 60

    /// What `navigator.credentials.create()` needs.
    public struct PasskeyCreationOptions: Sendable {
        public let challenge: Data
        public let relyingParty: RelyingParty
        public let userHandle: Data
        public let userName: String
        public let userDisplayName: String
        /// COSE algorithms in order of preference: ML-DSA-65 first, for authenticators that have it.
        public let algorithms: [COSEAlgorithm]
        /// The account's passkeys, so an authenticator does not register twice.
        public let excludeCredentials: [Data]
        public let timeout: TimeInterval
    }

    /// What `navigator.credentials.get()` needs.
    public struct PasskeyRequestOptions: Sendable {
        public let challenge: Data
        public let relyingPartyID: String
        /// Empty for a sign-in, where the authenticator offers its discoverable credentials.
        public let allowCredentials: [Data]
        public let userVerificationRequired: Bool
        public let timeout: TimeInterval
    }

    public static let passkeyAlgorithms: [COSEAlgorithm] = [.mlDSA65, .edDSA, .es256, .rs256]

    /// The WebAuthn user handle of an account: its id's bytes, which say nothing about the person.
    public static func userHandle(_ userID: UUID) -> Data { withUnsafeBytes(of: userID.uuid) { Data($0) } }

    // MARK: Registration

    /// Starts registering a passkey. Another way into the account, chosen by whoever holds a stolen
    /// session, would let them keep it: this needs fresh proof of the person.
    public func beginPasskeyRegistration(
        user: AuthenticatedUser, currentPassword: String? = nil, client: ClientInfo = ClientInfo()
    ) async throws -> PasskeyCreationOptions {
        let account = try await requireAccount(user.userID)
        try await requireRecentAuthentication(user, account: account, password: currentPassword, client: client)
        let challenge = try await issuePasskeyChallenge(.registration, userID: account.id)
        return PasskeyCreationOptions(
            challenge: challenge, relyingParty: configuration.relyingParty,
            userHandle: Self.userHandle(account.id), userName: account.email.normalized,
            userDisplayName: account.displayName ?? account.email.normalized, algorithms: Self.passkeyAlgorithms,
            excludeCredentials: try await repository.passkeys(userID: account.id).map(\.id),
            timeout: Self.passkeyChallengeLifetime)
    }

    /// Checks the browser's answer to ``beginPasskeyRegistration(user:currentPassword:client:)`` and
    /// stores the passkey, telling the person by mail.
    public func finishPasskeyRegistration(
        user: AuthenticatedUser, name rawName: String?, registration: RelyingParty.Registration, client: ClientInfo
    ) async throws -> Passkey {
        let account = try await requireAccount(user.userID)
        let name = try Self.passkeyName(rawName ?? "")
        let challenge = try await takePasskeyChallenge(registration.clientDataJSON, .registration)
        guard challenge.userID == account.id else { throw IdentityError.passkeyChallengeInvalid }
        let credential: RelyingParty.NewCredential
        do {
            credential = try configuration.relyingParty.verifyRegistration(
                registration, challenge: challenge.value, requireUserVerification: false)
        } catch {
            try await audit(.passkeyRejected, userID: account.id, client: client, details: ["reason": "\(error.code)"])
            throw IdentityError.passkeyRejected(error.description)
        }
        let now = now()
        let passkey = Passkey(
            id: credential.id, userID: account.id, name: name, publicKey: credential.publicKey,
            algorithm: credential.algorithm.rawValue, signCount: credential.signCount,
            backupEligible: credential.backupEligible, backedUp: credential.backedUp, aaguid: credential.aaguid,
            attestation: credential.attestation.rawValue, attestationFormat: credential.attestationFormat,
            createdAt: now)
        let event = AuthEvent(
            kind: .passkeyAdded, at: now, userID: account.id, sessionID: user.sessionID, client: client,
            details: [
                "passkey": Base64URL.encode(passkey.id), "alg": String(passkey.algorithm),
                "attestation": passkey.attestation,
            ])
        try await repository.insertPasskey(
            passkey, recording: event, queueing: [notice(.passkeyAdded, to: account, client: client)])
        observe(.passkeyAdded)
        return passkey
    }

    // MARK: Sign-in

    /// Starts a passwordless sign-in: the authenticator offers the passkeys it holds for this site.
    public func beginPasskeySignIn() async throws -> PasskeyRequestOptions {
        PasskeyRequestOptions(
            challenge: try await issuePasskeyChallenge(.signIn, userID: nil),
            relyingPartyID: configuration.relyingParty.id, allowCredentials: [], userVerificationRequired: true,
            timeout: Self.passkeyChallengeLifetime)
    }

    /// Signs in with a passkey alone. The authenticator must have verified the person (a PIN or a
    /// biometric) as well as holding the key, so this is two factors: `amr` is `hwk` or `swk`, and `user`.
    public func finishPasskeySignIn(
        _ assertion: RelyingParty.Assertion, rememberMe: Bool, client: ClientInfo
    ) async throws -> TokenGrant {
        let challenge = try await takePasskeyChallenge(assertion.clientDataJSON, .signIn)
        guard let passkey = try await repository.passkey(id: assertion.credentialID),
            let account = try await repository.account(id: passkey.userID)
        else {
            try await audit(.loginFailed, client: client, details: ["reason": "passkey"])
            throw IdentityError.passkeyRejected("the passkey is not registered here")
        }
        try await verify(
            assertion, of: passkey, challenge: challenge.value, userVerification: true, discoverable: true,
            client: client)
        if configuration.unverifiedAccess == .closed, account.emailVerifiedAt == nil {
            throw IdentityError.emailUnverified
        }
        return try await startSession(
            account, methods: [passkey.authenticationMethod, "user"], rememberMe: rememberMe, client: client)
    }

    /// Offers the account's passkeys as the second factor of a sign-in that gave its password.
    public func beginPasskeySecondFactor(mfaChallenge: String) async throws -> PasskeyRequestOptions {
        let claims = try await tokens.verifyMFAChallenge(mfaChallenge)
        guard let userID = UUID(uuidString: claims.sub.value) else { throw IdentityError.invalidToken("malformed") }
        let passkeys = try await repository.passkeys(userID: userID)
        guard !passkeys.isEmpty else { throw IdentityError.passkeyNotFound }
        return PasskeyRequestOptions(
            challenge: try await issuePasskeyChallenge(.secondFactor, userID: userID),
            relyingPartyID: configuration.relyingParty.id, allowCredentials: passkeys.map(\.id),
            userVerificationRequired: false, timeout: Self.passkeyChallengeLifetime)
    }

    /// Completes a sign-in that gave its password with a passkey instead of a code.
    public func completeMFALogin(
        challenge mfaChallenge: String, passkey assertion: RelyingParty.Assertion, client: ClientInfo
    ) async throws -> TokenGrant {
        let claims = try await tokens.verifyMFAChallenge(mfaChallenge)
        guard let userID = UUID(uuidString: claims.sub.value) else { throw IdentityError.invalidToken("malformed") }
        let account = try await requireAccount(userID)
        let challenge = try await takePasskeyChallenge(assertion.clientDataJSON, .secondFactor)
        guard challenge.userID == account.id, let passkey = try await repository.passkey(id: assertion.credentialID),
            passkey.userID == account.id
        else {
            try await audit(.mfaFailed, userID: account.id, client: client, details: ["reason": "passkey"])
            throw IdentityError.passkeyRejected("not a passkey of this account")
        }
        try await verify(assertion, of: passkey, challenge: challenge.value, userVerification: false, client: client)
        guard try await repository.spendChallenge(id: claims.jti.value, expiresAt: claims.exp.value) else {
            throw IdentityError.invalidToken("the MFA challenge has been used already")
        }
        try await audit(.mfaSucceeded, userID: account.id, client: client, details: ["factor": "passkey"])
        return try await startSession(
            account, methods: ["pwd", passkey.authenticationMethod], rememberMe: claims.rememberMe, client: client)
    }

    // MARK: Management

    public func passkeys(user: AuthenticatedUser) async throws -> [Passkey] {
        try await repository.passkeys(userID: user.userID)
    }

    public func renamePasskey(
        user: AuthenticatedUser, id: Data, name rawName: String, client: ClientInfo
    )
        async throws
    {
        let name = try Self.passkeyName(rawName)
        guard try await repository.renamePasskey(id: id, userID: user.userID, name: name) else {
            throw IdentityError.passkeyNotFound
        }
        try await audit(
            .passkeyRenamed, userID: user.userID, sessionID: user.sessionID, client: client,
            details: ["passkey": Base64URL.encode(id)])
    }

    /// Removes a passkey and tells the person by mail; never the last way to sign in of an account
    /// without a password.
    public func removePasskey(user: AuthenticatedUser, id: Data, client: ClientInfo) async throws {
        let account = try await requireAccount(user.userID)
        let event = AuthEvent(
            kind: .passkeyRemoved, at: now(), userID: account.id, sessionID: user.sessionID, client: client,
            details: ["passkey": Base64URL.encode(id)])
        switch try await repository.deletePasskey(
            id: id, userID: account.id, recording: event,
            queueing: [notice(.passkeyRemoved, to: account, client: client)])
        {
        case .deleted: observe(.passkeyRemoved)
        case .notFound: throw IdentityError.passkeyNotFound
        case .lastSignInMethod: throw IdentityError.lastSignInMethod
        }
    }

    /// Makes the account passwordless: from now on it signs in with its passkeys, and a reset link sets
    /// a password again. Needs a recent sign-in with a passkey that verified the person, which shows that
    /// the account has a passkey able to sign in alone (not every authenticator verifies, nor keeps a
    /// discoverable credential); mailed.
    public func removePassword(user: AuthenticatedUser, currentPassword: String?, client: ClientInfo) async throws {
        let account = try await requireAccount(user.userID)
        guard account.hasPassword else { return }
        guard user.authenticationMethods.contains("user") else { throw IdentityError.passkeySignInRequired }
        try await requireRecentAuthentication(user, account: account, password: currentPassword, client: client)
        let at = now()
        let event = AuthEvent(
            kind: .passwordRemoved, at: at, userID: account.id, sessionID: user.sessionID, client: client)
        guard
            try await repository.removePassword(
                userID: account.id, recording: event, queueing: [passwordChangedNotice(account, at: at)])
        else { throw IdentityError.lastSignInMethod }
        observe(event.kind)
    }

    // MARK: Shared steps

    private func issuePasskeyChallenge(_ purpose: PasskeyChallenge.Purpose, userID: UUID?) async throws -> Data {
        let challenge = Data(SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) })
        try await repository.insertPasskeyChallenge(
            PasskeyChallenge(
                digest: Self.challengeDigest(challenge), purpose: purpose, userID: userID,
                expiresAt: now().addingTimeInterval(Self.passkeyChallengeLifetime)))
        return challenge
    }

    /// Finds, and uses up, the challenge that the client data answers.
    private func takePasskeyChallenge(
        _ clientDataJSON: Data, _ purpose: PasskeyChallenge.Purpose
    ) async throws
        -> (value: Data, userID: UUID?)
    {
        let clientData: ClientData
        do {
            clientData = try ClientData(clientDataJSON)
        } catch {
            throw IdentityError.passkeyRejected(error.description)
        }
        guard
            let challenge = try await repository.takePasskeyChallenge(
                digest: Self.challengeDigest(clientData.challenge), purpose: purpose),
            challenge.expiresAt > now()
        else { throw IdentityError.passkeyChallengeInvalid }
        return (clientData.challenge, challenge.userID)
    }

    private func verify(
        _ assertion: RelyingParty.Assertion, of passkey: Passkey, challenge: Data, userVerification: Bool,
        discoverable: Bool = false, client: ClientInfo
    ) async throws {
        let stored = RelyingParty.StoredCredential(
            publicKey: passkey.publicKey, signCount: passkey.signCount, backupEligible: passkey.backupEligible,
            userHandle: Self.userHandle(passkey.userID))
        let verified: RelyingParty.VerifiedAssertion
        do {
            verified = try configuration.relyingParty.verifyAssertion(
                assertion, challenge: challenge, credential: stored, requireUserVerification: userVerification,
                discoverable: discoverable)
        } catch {
            try await audit(
                .passkeyRejected, userID: passkey.userID, client: client,
                details: ["reason": "\(error.code)", "passkey": Base64URL.encode(passkey.id)])
            throw IdentityError.passkeyRejected(error.description)
        }
        guard
            try await repository.recordPasskeyUse(
                id: passkey.id, signCount: verified.signCount, backedUp: verified.backedUp, at: now())
        else {
            try await audit(
                .passkeyRejected, userID: passkey.userID, client: client,
                details: ["reason": "\(WebAuthnError.Code.counterRegression)", "passkey": Base64URL.encode(passkey.id)])
            throw IdentityError.passkeyRejected(WebAuthnError(.counterRegression).description)
        }
    }

    static func challengeDigest(_ challenge: Data) -> String { Hex.encode(SHA256.hash(data: challenge)) }

    static func passkeyName(_ raw: String) throws -> String {
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { return "Passkey" }
        guard name.count <= Passkey.maximumNameLength,
            !name.unicodeScalars.contains(where: { CharacterSet.controlCharacters.contains($0) })
        else {
            throw IdentityError.invalidField(
                "name", "must be at most \(Passkey.maximumNameLength) characters, without control characters")
        }
        return name
    }
}
