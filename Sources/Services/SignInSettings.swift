public import Foundation
public import Identity
public import WebAuthn

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
    /// The passkeys' RP ID; by default the issuer's host.
    public var passkeyRelyingPartyID: String?
    /// The origins passkey ceremonies may come from; by default the issuer's.
    public var passkeyOrigins: [String]?
    /// Whether back-channel logout may reach loopback and private addresses.
    public var logoutEndpointsMayBePrivate = false
    /// Whether clients may register themselves with an initial access token (RFC 7591).
    public var dynamicClientRegistration = false

    public init() {}

    /// The site passkeys are made for, from these settings and the issuer, which is the portal's URL.
    /// An issuer on an IP address (a server started with no URL of its own) is reached as `localhost`:
    /// browsers refuse IP addresses as RP IDs.
    public func relyingParty(issuer: String) -> RelyingParty {
        let url = URL(string: issuer)
        var host = url?.host() ?? "localhost"
        if host.allSatisfy({ $0.isNumber || $0 == "." || $0 == ":" }) { host = "localhost" }
        let origin = url.flatMap { url in
            url.scheme.map { scheme in "\(scheme)://\(host)" + (url.port.map { ":\($0)" } ?? "") }
        }
        return RelyingParty(
            id: passkeyRelyingPartyID ?? host, name: "QSPP",
            origins: Set(passkeyOrigins ?? origin.map { [$0] } ?? []))
    }

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
        logoutEndpointsMayBePrivate = try qspp.boolean(
            "oauth.logout.private.networks", default: logoutEndpointsMayBePrivate)
        dynamicClientRegistration = try qspp.boolean(
            "oauth.dynamic.registration", default: dynamicClientRegistration)
        passkeyRelyingPartyID = try qspp.parsed("passkey.rp.id") { text in
            // A registrable domain or localhost: no scheme, port, path or upper case.
            guard !text.isEmpty, text.allSatisfy({ $0.isLetter && $0.isLowercase || $0.isNumber || "-.".contains($0) })
            else { throw SettingsReader.Refusal("must be a domain name such as example.com") }
            return text
        }
        passkeyOrigins = try qspp.list(
            "passkey.origins", refusal: "must be origins such as https://portal.example.com, separated by commas"
        ) { text in
            guard let url = URL(string: text), ["https", "http"].contains(url.scheme), url.host() != nil,
                url.path().isEmpty, url.query() == nil
            else { return nil }
            return text
        }
    }
}
