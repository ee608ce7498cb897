import Consent
public import Foundation
public import Hummingbird
import Identity
public import NIOCore

/// Who is asking: the user behind a verified access token.
public typealias Principal = AuthenticatedUser

extension AuthenticatedUser {
    /// Idempotency keys of different users never collide.
    var idempotencyScope: String { "user:" + subjectID }
}

public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var requestID = ""
    public var principal: Principal?
    /// The browser's CSRF token, for the forms a page renders (``WebSessionMiddleware``).
    var csrfToken = ""
    /// Why a presented token did not identify anyone, for the 401 of a route that needs a caller.
    var authenticationFailure: Problem?
    /// What an OAuth client's token needs for this request (``ScopePolicy``); nil closes it to them.
    var scopeRequirement: ScopePolicy.Requirement?
    public let remoteAddress: SocketAddress?
    /// The subject of a bearer token the gateway verified against the JWKS (``GatewayTokenMiddleware``).
    /// It only keys rate limits: it is not a ``principal``, since the gateway cannot see revocations.
    var verifiedSubject: String?
    /// The client behind trusted proxies, when there are any (``ClientAddressMiddleware``).
    var forwardedClientAddress: String?

    /// Large enough for a full batch of decisions, small enough that a flood of bodies cannot exhaust memory.
    public static let maximumBodySize = 64 * 1024
    public var maxUploadSize: Int { Self.maximumBodySize }

    public var responseEncoder: JSONEncoder { Self.encoder }

    /// One shared encoder: configuring a new one for every response shows up in profiles.
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }()

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    func requireUser() throws(Problem) -> Principal {
        guard let principal else { throw authenticationFailure ?? Problem.unauthenticated }
        if let delegation = principal.delegation {
            guard let scopeRequirement, delegation.scopes.contains(scopeRequirement.scope),
                !(scopeRequirement.personOnly && delegation.isMachine)
            else { throw Problem.insufficientScope(scopeRequirement?.scope) }
        }
        return principal
    }

    /// Fails unless the caller may act on this subject's records: its owner or an admin; DPOs may read.
    /// A subject that is not the caller's answers 404, exactly like one that does not exist.
    func requireAccess(to subject: SubjectID, writing: Bool) throws(Problem) -> Principal {
        let principal = try requireUser()
        // A machine client reaches only the routes its scopes open, for any subject.
        if principal.isMachine || principal.subjectID == subject.rawValue || principal.isAdmin { return principal }
        if !writing && principal.canReadAnySubject { return principal }
        throw Problem.notFound
    }

    /// Fails unless the caller is an administrator.
    func requireAdmin() throws(Problem) -> Principal {
        let principal = try requireUser()
        guard principal.isAdmin else { throw Problem.forbidden }
        return principal
    }

    /// Fails unless the caller is staff: an administrator or the DPO.
    func requireStaff() throws(Problem) -> Principal {
        let principal = try requireUser()
        guard principal.canReadAnySubject else { throw Problem.forbidden }
        return principal
    }

    /// Where a consent decision came from: the client's address and agent, and its GPC signal.
    func consentOrigin(_ request: Request) -> RequestOrigin {
        RequestOrigin(
            sourceIP: forwardedClientAddress ?? remoteAddress?.ipAddress,
            userAgent: request.headers[.userAgent].map { String($0.prefix(512)) },
            globalPrivacyControl: request.headers[.secGPC] == "1")
    }

    /// The address and user agent recorded on sessions and audit events.
    func client(_ request: Request) -> ClientInfo {
        ClientInfo(
            ipAddress: forwardedClientAddress ?? remoteAddress?.ipAddress, userAgent: request.headers[.userAgent])
    }

    /// The user per-user rate limits count under, if the caller is known.
    var rateLimitSubject: String? { principal?.subjectID ?? verifiedSubject }

    /// The key the per-address rate limits count under.
    var clientAddress: String { forwardedClientAddress ?? remoteAddress?.ipAddress ?? "unknown" }
}
