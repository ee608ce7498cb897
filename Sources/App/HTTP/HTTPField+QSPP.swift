import HTTPTypes

extension HTTPField.Name {
    static let xRequestID = Self("X-Request-Id")!
    static let idempotencyKey = Self("Idempotency-Key")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
    /// Global Privacy Control: https://privacycg.github.io/gpc-spec/
    static let secGPC = Self("Sec-GPC")!
}
