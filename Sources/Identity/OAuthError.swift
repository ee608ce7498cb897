/// An OAuth or OpenID Connect error as the specifications name it (RFC 6749 §4.1.2.1 and §5.2, OIDC
/// Core §3.1.2.6, RFC 6750 §3.1). The description is always text of ours, never an echo of the request,
/// so it is safe in a redirect and in a log.
public struct OAuthError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case invalidRequest = "invalid_request"
        case invalidClient = "invalid_client"
        case invalidGrant = "invalid_grant"
        case unauthorizedClient = "unauthorized_client"
        case unsupportedGrantType = "unsupported_grant_type"
        case unsupportedResponseType = "unsupported_response_type"
        case invalidScope = "invalid_scope"
        case accessDenied = "access_denied"
        case loginRequired = "login_required"
        case consentRequired = "consent_required"
        case requestNotSupported = "request_not_supported"
        case invalidToken = "invalid_token"
        case insufficientScope = "insufficient_scope"
        case unsupportedTokenType = "unsupported_token_type"
        case invalidDPoPProof = "invalid_dpop_proof"
        case useDPoPNonce = "use_dpop_nonce"
        case invalidRedirectURI = "invalid_redirect_uri"
        case invalidClientMetadata = "invalid_client_metadata"
    }

    public let code: Code
    public let detail: String

    public init(_ code: Code, _ detail: String) {
        self.code = code
        self.detail = detail
    }

    public var description: String { "\(code.rawValue): \(detail)" }

    static func invalidRequest(_ detail: String) -> Self { Self(.invalidRequest, detail) }
    static func invalidGrant(_ detail: String) -> Self { Self(.invalidGrant, detail) }
    static func invalidScope(_ detail: String) -> Self { Self(.invalidScope, detail) }
    /// The one answer for an unknown client, a wrong secret and a method the client is not registered
    /// for, so that none of them tells which it was.
    public static let invalidClient = Self(.invalidClient, "client authentication failed")
}
