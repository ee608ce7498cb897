import Crypto
public import Foundation

/// The website passkeys are made for: its RP ID (a registrable domain, or `localhost`) and the
/// origins its pages are served from. Verifies registrations and sign-ins as WebAuthn Level 3 §7
/// describes, without state: the caller finds the challenge it issued, and the stored credential.
public struct RelyingParty: Sendable {
    public let id: String
    public let name: String
    public let origins: Set<String>
    public let idHash: Data

    public init(id: String, name: String, origins: Set<String>) {
        self.id = id
        self.name = name
        self.origins = origins
        idHash = Data(SHA256.hash(data: Data(id.utf8)))
    }

    /// A new credential that passed every check of registration.
    public struct NewCredential: Sendable {
        public let id: Data
        /// The COSE key, as the authenticator encoded it.
        public let publicKey: Data
        public let algorithm: COSEAlgorithm
        public let signCount: UInt32
        public let backupEligible: Bool
        public let backedUp: Bool
        public let userVerified: Bool
        public let aaguid: Data
        public let attestationFormat: String
        public let attestation: AttestationTrust
    }

    /// What the browser returned from `navigator.credentials.create()`.
    public struct Registration: Sendable {
        public let clientDataJSON: Data
        public let attestationObject: Data

        public init(clientDataJSON: Data, attestationObject: Data) {
            self.clientDataJSON = clientDataJSON
            self.attestationObject = attestationObject
        }
    }

    /// What the browser returned from `navigator.credentials.get()`.
    public struct Assertion: Sendable {
        public let credentialID: Data
        public let clientDataJSON: Data
        public let authenticatorData: Data
        public let signature: Data
        public let userHandle: Data?

        public init(
            credentialID: Data, clientDataJSON: Data, authenticatorData: Data, signature: Data, userHandle: Data?
        ) {
            self.credentialID = credentialID
            self.clientDataJSON = clientDataJSON
            self.authenticatorData = authenticatorData
            self.signature = signature
            self.userHandle = userHandle
        }
    }

    /// A credential as stored at registration and updated at each sign-in.
    public struct StoredCredential: Sendable {
        public let publicKey: Data
        public let signCount: UInt32
        public let backupEligible: Bool
        /// The user handle of the account the credential belongs to.
        public let userHandle: Data

        public init(publicKey: Data, signCount: UInt32, backupEligible: Bool, userHandle: Data) {
            self.publicKey = publicKey
            self.signCount = signCount
            self.backupEligible = backupEligible
            self.userHandle = userHandle
        }
    }

    /// What a sign-in changes in the stored credential.
    public struct VerifiedAssertion: Sendable, Equatable {
        public let signCount: UInt32
        public let backedUp: Bool
        public let userVerified: Bool
    }

    public func verifyRegistration(
        _ registration: Registration, challenge: Data, requireUserVerification: Bool
    ) throws(WebAuthnError) -> NewCredential {
        let clientData = try check(registration.clientDataJSON, type: .create, challenge: challenge)
        let attestation = try AttestationObject(registration.attestationObject)
        let data = attestation.authenticatorData
        try check(data, requireUserVerification: requireUserVerification)
        guard let credential = data.credential else {
            throw WebAuthnError(.malformedAuthenticatorData, "no attested credential")
        }
        let trust = try attestation.verify(clientDataHash: Data(SHA256.hash(data: clientData.bytes)))
        return NewCredential(
            id: credential.id, publicKey: credential.publicKeyBytes, algorithm: credential.publicKey.algorithm,
            signCount: data.signCount, backupEligible: data.flags.contains(.backupEligible),
            backedUp: data.flags.contains(.backedUp), userVerified: data.flags.contains(.userVerified),
            aaguid: credential.aaguid, attestationFormat: attestation.format, attestation: trust)
    }

    /// `discoverable`: the sign-in named no credential in advance (WebAuthn Level 3 §7.2 step 6), so the
    /// authenticator must say whose credential it used.
    public func verifyAssertion(
        _ assertion: Assertion, challenge: Data, credential: StoredCredential, requireUserVerification: Bool,
        discoverable: Bool = false
    ) throws(WebAuthnError) -> VerifiedAssertion {
        if let handle = assertion.userHandle, !handle.isEmpty {
            guard constantTimeEqual(handle, credential.userHandle) else { throw WebAuthnError(.userHandleMismatch) }
        } else if discoverable {
            throw WebAuthnError(.userHandleMismatch, "no user handle for a credential not named in advance")
        }
        let clientData = try check(assertion.clientDataJSON, type: .get, challenge: challenge)
        let data = try AuthenticatorData(assertion.authenticatorData)
        guard data.credential == nil else {
            throw WebAuthnError(.malformedAuthenticatorData, "a sign-in that attests a credential")
        }
        try check(data, requireUserVerification: requireUserVerification)
        // Whether a credential may be synced is fixed when it is made; a change means another
        // authenticator answers for it.
        guard data.flags.contains(.backupEligible) == credential.backupEligible else {
            throw WebAuthnError(.backupEligibilityChanged)
        }
        let key: COSEKey
        do {
            key = try COSEKey(try CBORDecoder().decode(credential.publicKey))
        } catch {
            throw WebAuthnError(.invalidKey, "the stored key no longer reads")
        }
        guard key.isValidSignature(assertion.signature, for: data.bytes + Data(SHA256.hash(data: clientData.bytes)))
        else { throw WebAuthnError(.invalidSignature) }
        // A counter that does not advance means a cloned authenticator; both zero means one that keeps
        // no counter, as synced passkeys do.
        if data.signCount != 0 || credential.signCount != 0, data.signCount <= credential.signCount {
            throw WebAuthnError(.counterRegression)
        }
        return VerifiedAssertion(
            signCount: data.signCount, backedUp: data.flags.contains(.backedUp),
            userVerified: data.flags.contains(.userVerified))
    }

    private func check(
        _ json: Data, type: ClientData.CeremonyType, challenge: Data
    ) throws(WebAuthnError)
        -> ClientData
    {
        let clientData = try ClientData(json)
        guard clientData.type == type else { throw WebAuthnError(.wrongCeremony) }
        guard constantTimeEqual(clientData.challenge, challenge) else { throw WebAuthnError(.challengeMismatch) }
        guard origins.contains(clientData.origin), !clientData.crossOrigin, clientData.topOrigin == nil else {
            throw WebAuthnError(.originMismatch)
        }
        return clientData
    }

    private func check(_ data: AuthenticatorData, requireUserVerification: Bool) throws(WebAuthnError) {
        guard constantTimeEqual(data.rpIDHash, idHash) else { throw WebAuthnError(.rpIDMismatch) }
        guard data.flags.contains(.userPresent) else { throw WebAuthnError(.userNotPresent) }
        guard !requireUserVerification || data.flags.contains(.userVerified) else {
            throw WebAuthnError(.userNotVerified)
        }
    }

    private func constantTimeEqual(_ lhs: Data, _ rhs: Data) -> Bool {
        guard lhs.count == rhs.count else { return false }
        return zip(lhs, rhs).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
