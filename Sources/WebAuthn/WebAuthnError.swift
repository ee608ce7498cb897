/// What is wrong with what a browser or authenticator sent. The description names the rule that
/// failed, never the bytes.
public struct WebAuthnError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        private enum Base: String, Sendable, Hashable {
            case malformedCBOR = "malformed CBOR"
            case malformedAuthenticatorData = "malformed authenticator data"
            case invalidKey = "invalid credential public key"
            case unsupportedAlgorithm = "unsupported algorithm"
            case invalidSignature = "invalid signature"
            case malformedClientData = "malformed client data"
            case malformedAttestation = "malformed attestation object"
            case invalidAttestation = "invalid attestation"
            case wrongCeremony = "client data of another ceremony"
            case challengeMismatch = "not the challenge issued"
            case originMismatch = "an origin that is not the relying party's"
            case rpIDMismatch = "an RP ID hash that is not the relying party's"
            case userNotPresent = "the user was not present"
            case userNotVerified = "the user was not verified"
            case backupEligibilityChanged = "the credential's backup eligibility changed"
            case counterRegression = "a signature counter that went back"
            case userHandleMismatch = "a user handle of another account"
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let malformedCBOR = Code(.malformedCBOR)
        public static let malformedAuthenticatorData = Code(.malformedAuthenticatorData)
        public static let invalidKey = Code(.invalidKey)
        public static let unsupportedAlgorithm = Code(.unsupportedAlgorithm)
        public static let invalidSignature = Code(.invalidSignature)
        public static let malformedClientData = Code(.malformedClientData)
        public static let malformedAttestation = Code(.malformedAttestation)
        public static let invalidAttestation = Code(.invalidAttestation)
        public static let wrongCeremony = Code(.wrongCeremony)
        public static let challengeMismatch = Code(.challengeMismatch)
        public static let originMismatch = Code(.originMismatch)
        public static let rpIDMismatch = Code(.rpIDMismatch)
        public static let userNotPresent = Code(.userNotPresent)
        public static let userNotVerified = Code(.userNotVerified)
        public static let backupEligibilityChanged = Code(.backupEligibilityChanged)
        public static let counterRegression = Code(.counterRegression)
        public static let userHandleMismatch = Code(.userHandleMismatch)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// Which rule failed, in words fixed in the code.
    public let reason: StaticString?

    public init(_ code: Code, _ reason: StaticString? = nil) {
        self.code = code
        self.reason = reason
    }

    public var description: String { reason.map { "\(code): \($0)" } ?? "\(code)" }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.code == rhs.code }
    public func hash(into hasher: inout Hasher) { hasher.combine(code) }
}
