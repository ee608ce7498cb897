import Consent
import Foundation
public import Hummingbird
import Identity
import NIOCore
import Privacy
import Services
import Storage
import Valuation

/// An RFC 9457 problem detail: every error the API answers is one of these.
public struct Problem: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    /// A short, stable slug; the `type` member is `urn:qspp:problem:<slug>`.
    public var slug: String
    public var title: String
    public var detail: String?
    public var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ slug: String, _ title: String, detail: String? = nil) {
        self.status = status
        self.slug = slug
        self.title = title
        self.detail = detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let requestID = (context as? AppRequestContext)?.requestID
        var body =
            [
                "type": "urn:qspp:problem:\(slug)", "title": title, "status": status.code,
            ] as [String: any Sendable]
        if let detail { body["detail"] = detail }
        if let requestID, !requestID.isEmpty { body["requestId"] = requestID }
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        headers[.cacheControl] = "no-store"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension Problem {
    static let unauthenticated: Problem = {
        var problem = Problem(
            .unauthorized, "unauthenticated", "Authentication required",
            detail: "send an access token as 'Authorization: Bearer <token>'")
        problem.headers[.wwwAuthenticate] = "Bearer"
        return problem
    }()

    static func invalidToken(_ detail: String) -> Problem {
        var problem = Problem(.unauthorized, "invalid-token", "Invalid access token", detail: detail)
        problem.headers[.wwwAuthenticate] = "Bearer error=\"invalid_token\""
        return problem
    }
    static let forbidden = Problem(.forbidden, "forbidden", "Not allowed")

    /// A DPoP proof that does not prove what it must (RFC 9449 §7.1).
    static func invalidDPoPProof(_ detail: String) -> Problem {
        var problem = Problem(.unauthorized, "invalid-dpop-proof", "Invalid DPoP proof", detail: detail)
        problem.headers[.wwwAuthenticate] =
            "DPoP error=\"invalid_dpop_proof\", algs=\"" + DPoPProof.algorithms.joined(separator: " ") + "\""
        return problem
    }

    /// An OAuth client's token without the scope a route needs (RFC 6750 §3.1).
    static func insufficientScope(_ scope: OAuthClient.Scope?) -> Problem {
        var problem = Problem(
            .forbidden, "insufficient-scope", "Insufficient scope",
            detail: scope.map { "this route needs the \($0.rawValue) scope" }
                ?? "no application token may call this route")
        problem.headers[.wwwAuthenticate] =
            "Bearer error=\"insufficient_scope\"" + (scope.map { ", scope=\"\($0.rawValue)\"" } ?? "")
        return problem
    }
    static let notFound = Problem(.notFound, "not-found", "Not found", detail: "no such resource")
    static let unavailable: Problem = {
        var problem = Problem(
            .serviceUnavailable, "unavailable", "Service unavailable",
            detail: "the database is not reachable; retry shortly")
        problem.headers[.retryAfter] = "5"
        return problem
    }()
    static let internalError = Problem(.internalServerError, "internal", "Internal error")

    static func invalid(_ detail: String) -> Problem {
        Problem(.badRequest, "invalid-request", "Invalid request", detail: detail)
    }

    static func payloadTooLarge(limit: Int) -> Problem {
        Problem(.contentTooLarge, "payload-too-large", "Request body too large", detail: "the limit is \(limit) bytes")
    }

    /// The single place where domain and storage failures become HTTP answers.
    static func from(_ error: any Error) -> Problem? {
        switch error {
        case let problem as Problem:
            return problem
        case let error as ConsentError:
            return switch error.kind {
            case .invalidInput: .invalid(error.description)
            case .notFound: Problem(.notFound, "not-found", "Not found", detail: error.description)
            case .conflict: Problem(.conflict, "conflict", "Conflict", detail: error.description)
            case .unprocessable:
                Problem(.unprocessableContent, "unprocessable", "Unprocessable request", detail: error.description)
            }
        case let error as IdentityError:
            return identityProblem(error)
        case let error as PrivacyError:
            return switch error.kind {
            case .invalidInput: .invalid(error.description)
            case .notFound: Problem(.notFound, "not-found", "Not found", detail: error.description)
            case .conflict: Problem(.conflict, "conflict", "Conflict", detail: error.description)
            case .forbidden: Problem(.forbidden, "forbidden", "Not allowed", detail: error.description)
            }
        case let error as ValuationError:
            return switch error.kind {
            case .invalidInput:
                Problem(.unprocessableContent, "unprocessable", "Unprocessable request", detail: error.description)
            case .notFound: Problem(.notFound, "not-found", "Not found", detail: error.description)
            case .conflict: Problem(.conflict, "conflict", "Conflict", detail: error.description)
            }
        case let error as ServiceError:
            let status: HTTPResponse.Status =
                switch error.kind {
                case .invalidInput: .badRequest
                case .notFound: .notFound
                case .conflict: .conflict
                case .gone: .gone
                case .forbidden: .forbidden
                case .unauthorized: .unauthorized
                case .corrupted: .internalServerError
                }
            return Problem(status, error.slug, error.title, detail: error.kind == .corrupted ? nil : error.description)
        case let error as LedgerIntegrityError:
            return Problem(
                .conflict, "ledger-integrity", "The ledger does not verify",
                detail: "nothing was signed: \(error.description)")
        case let error as StorageError where error.isUnavailable:
            return .unavailable
        case is NIOTooManyBytesError:
            return .payloadTooLarge(limit: AppRequestContext.maximumBodySize)
        case let error as any HTTPResponseError:
            if error.status == .notFound { return .notFound }
            let reason = error.status.reasonPhrase
            return Problem(error.status, reason.lowercased().replacingOccurrences(of: " ", with: "-"), reason)
        default:
            return nil
        }
    }
}

extension Problem {
    private static func identityProblem(_ error: IdentityError) -> Problem {
        var problem: Problem
        switch error.kind {
        case .invalidEmail, .weakPassword, .invalidField:
            return Problem(.badRequest, "invalid-request", "Invalid request", detail: error.description)
        case .emailTaken:
            return Problem(.conflict, "email-taken", "Email already registered", detail: error.description)
        case .invalidCredentials:
            return Problem(.unauthorized, "invalid-credentials", "Login failed", detail: error.description)
        case .invalidMFACode:
            return Problem(.unauthorized, "invalid-mfa-code", "Invalid code", detail: error.description)
        case .mfaNotEnabled, .mfaAlreadyEnabled, .mfaSetupMissing:
            return Problem(.conflict, "mfa-state", "Conflict", detail: error.description)
        case .tooManyAttempts, .rateLimited:
            problem = Problem(.tooManyRequests, "too-many-requests", "Too many requests", detail: error.description)
            problem.headers[.retryAfter] = String(error.retryAfter ?? 60)
            return problem
        case .invalidToken:
            return .invalidToken(error.description)
        case .invalidRefreshToken, .refreshTokenReused:
            return Problem(.unauthorized, "invalid-refresh-token", "Invalid refresh token", detail: error.description)
        case .invalidLink:
            return Problem(.badRequest, "invalid-link", "Invalid or expired link", detail: error.description)
        case .emailUnverified:
            return Problem(.forbidden, "email-unverified", "Email not confirmed", detail: error.description)
        case .sessionNotFound:
            return Problem(.notFound, "not-found", "Not found", detail: error.description)
        case .forbidden:
            return .forbidden
        case .passkeyRejected, .passkeyChallengeInvalid:
            return Problem(.badRequest, "passkey-rejected", "Passkey not accepted", detail: error.description)
        case .passkeyExists:
            return Problem(.conflict, "passkey-exists", "Passkey already registered", detail: error.description)
        case .passkeyNotFound, .oauthClientNotFound:
            return Problem(.notFound, "not-found", "Not found", detail: error.description)
        case .lastSignInMethod:
            return Problem(.conflict, "last-sign-in-method", "Last way to sign in", detail: error.description)
        case .passkeySignInRequired:
            return Problem(
                .forbidden, "passkey-sign-in-required", "Passkey sign-in required", detail: error.description)
        case .recentAuthenticationRequired:
            return Problem(
                .forbidden, "recent-authentication-required", "Recent authentication required",
                detail: error.description)
        }
    }
}
