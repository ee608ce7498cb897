import HTTPTypes

extension HTTPField.Name {
    public static let xRequestID = Self("X-Request-Id")!
    public static let idempotencyKey = Self("Idempotency-Key")!
    public static let idempotentReplayed = Self("Idempotent-Replayed")!
    /// Global Privacy Control: https://privacycg.github.io/gpc-spec/
    public static let secGPC = Self("Sec-GPC")!
    public static let xForwardedFor = Self("X-Forwarded-For")!
    /// RFC 9449: a DPoP proof, and the nonce the server asks the next proof to carry.
    public static let dpop = Self("DPoP")!
    public static let dpopNonce = Self("DPoP-Nonce")!
}
