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
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let malformedCBOR = Code(.malformedCBOR)
        public static let malformedAuthenticatorData = Code(.malformedAuthenticatorData)
        public static let invalidKey = Code(.invalidKey)
        public static let unsupportedAlgorithm = Code(.unsupportedAlgorithm)
        public static let invalidSignature = Code(.invalidSignature)

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
