public import Services

extension AppConfiguration {
    /// The part of the configuration the services read, with the master key resolved.
    public func serviceSettings() throws -> ServiceSettings {
        ServiceSettings(
            masterKey: try resolveMasterKey(), issuer: issuer, store: store, tokens: tokens, signIn: signIn,
            receipts: receipts, retention: retention, valuation: valuation, mail: mail, webhooks: webhooks)
    }
}
