public import Services

extension AppConfiguration {
    /// The part of the configuration the services read, with the master key resolved.
    public func serviceSettings() throws -> ServiceSettings {
        var settings = ServiceSettings(
            databaseURL: databaseURL, masterKey: try resolveMasterKey(), issuer: issuer,
            controller: .init(name: controllerName, contact: controllerContact))
        settings.migrateOnStart = migrateOnStart
        settings.tokenAlgorithm = tokenAlgorithm
        settings.tokenAudience = tokenAudience
        settings.accessTokenLifetime = accessTokenLifetime
        settings.argon2 = argon2
        settings.loginRateLimit = loginRateLimit
        settings.registrationRateLimit = registrationRateLimit
        settings.mfaRateLimit = mfaRateLimit
        settings.jurisdiction = jurisdiction
        settings.checkpointInterval = checkpointInterval
        settings.retentionDays = retentionDays
        settings.priceBook = priceBook
        settings.valuationLimits = valuationLimits
        settings.valuationThreads = valuationThreads
        return settings
    }
}
