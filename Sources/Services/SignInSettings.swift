public import Identity

/// How passwords are hashed, and how often one client address may try to sign in, register or pass MFA.
public struct SignInSettings: Sendable {
    /// Raising any dimension re-hashes each password at its next successful login.
    public var argon2 = Argon2Parameters.owaspMinimum
    /// Attempts per client address and minute.
    public var loginRateLimit = 5
    public var registrationRateLimit = 10
    public var mfaRateLimit = 10
    /// What an account may do before its email is confirmed.
    public var unverifiedAccess = UnverifiedAccess.restricted

    public init() {}

    public init(reader: SettingsReader) throws(InvalidSetting) {
        let hashing = reader.scoped(to: "qspp.argon2")
        // OWASP's minimum is the floor as well as the default: weaker parameters stop the start.
        let floor = Argon2Parameters.owaspMinimum
        argon2 = Argon2Parameters(
            memoryKiB: UInt32(
                try hashing.integer("memory.kib", atLeast: Int(floor.memoryKiB), default: Int(argon2.memoryKiB))),
            iterations: UInt32(
                try hashing.integer("iterations", atLeast: Int(floor.iterations), default: Int(argon2.iterations))),
            parallelism: UInt32(
                try hashing.integer("parallelism", atLeast: Int(floor.parallelism), default: Int(argon2.parallelism))))
        let qspp = reader.scoped(to: "qspp")
        loginRateLimit = try qspp.integer("login.rate.limit", atLeast: 1, default: loginRateLimit)
        registrationRateLimit = try qspp.integer("register.rate.limit", atLeast: 1, default: registrationRateLimit)
        mfaRateLimit = try qspp.integer("mfa.rate.limit", atLeast: 1, default: mfaRateLimit)
        unverifiedAccess = try qspp.oneOf("unverified.accounts", default: unverifiedAccess)
    }
}
