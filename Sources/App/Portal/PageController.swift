import Consent
import Foundation
import HTTPTypes
import Hummingbird
import Identity
import Services

/// The web portal: pages rendered on the server from the same services the API uses. Every form
/// posts back here with a CSRF token and answers with a redirect (post/redirect/get), or with the
/// same page and what went wrong. The pages need no JavaScript, except for passkeys, which only the
/// browser's WebAuthn API can use.
struct PageController {
    let services: QSPPServices
    let pages = PortalPages.bundled
    var identity: IdentityService { services.identity }

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        // Assets need no session, so they are served before the session middleware.
        routes.get("/assets/:name", use: asset)
        routes.get(RouterPath(ConsentSDK.stablePath), use: consentSDK)
        routes.get("/sdk/:file", use: consentSDK)
        routes.add(middleware: WebSessionMiddleware(identity: identity, pages: pages))
        routes.get("/", use: home)
        addAccountRoutes(to: routes)
        addMailedLinkRoutes(to: routes)
        addConsentRoutes(to: routes)
        addDataRoutes(to: routes)
        addValueRoutes(to: routes)
        addSecurityRoutes(to: routes)
        addPasskeyRoutes(to: routes)
        addAdminRoutes(to: routes)
        addAuthorizationRoutes(to: routes)
        addEndSessionRoutes(to: routes)
        return routes
    }

    @Sendable func asset(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let name = context.parameters.get("name"), let asset = pages.assets[name] else { throw Problem.notFound }
        return Response(
            status: .ok,
            headers: [.contentType: asset.contentType, .cacheControl: "public, max-age=31536000, immutable"],
            body: .init(byteBuffer: asset.bytes))
    }

    @Sendable func consentSDK(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard
            let response = ConsentSDK.bundled.response(
                for: request.uri.path, ifNoneMatch: request.headers[.ifNoneMatch])
        else { throw Problem.notFound }
        return response
    }

    @Sendable func home(_ request: Request, context: AppRequestContext) async throws -> Response {
        seeOther(context.principal == nil ? "/login" : "/my/consent")
    }

    // MARK: Helpers shared by the pages

    func seeOther(_ path: String, cookies: [String] = []) -> Response {
        var response = Response(status: .seeOther, headers: [.location: path])
        for cookie in cookies { response.headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return response
    }

    /// After a successful form: back to the page, with a notice chosen from a fixed list (never text
    /// taken from the request).
    func done(_ path: String, _ notice: PageNotice) -> Response {
        seeOther("\(path)?done=\(notice.rawValue)")
    }

    func notice(_ request: Request) -> String? {
        request.uri.queryParameters.get("done").flatMap(PageNotice.init(rawValue:))?.text
    }

    /// Reads a posted form and runs `action`. A failure the person can fix renders `failing` with its
    /// form, message and status (the same page again, saying what was wrong); any other goes on to the
    /// error page.
    func handlingForm(
        _ request: Request, _ context: AppRequestContext, _ action: (FormFields) async throws -> Response,
        failing: (_ form: FormFields, _ message: String, _ status: HTTPResponse.Status) async throws -> Response
    ) async throws -> Response {
        var request = request
        let form = try await request.form(context: context)
        do {
            return try await action(form)
        } catch {
            let failure = try formFailure(error)
            return try await failing(form, failure.message, failure.status)
        }
    }

    /// What a failed form shows: the problem's detail (or title), and the status to answer with.
    /// Failures that are not the person's to fix (an outage, a bug) go on to the error page.
    func formFailure(_ error: any Error) throws -> (message: String, status: HTTPResponse.Status) {
        guard let problem = Problem.from(error), problem.status.code < 500 else { throw error }
        return (problem.detail.map { "\(problem.title): \($0)" } ?? problem.title, problem.status)
    }

    /// "26 Nov 2026, 00:37 UTC". Written out by hand: a DateFormatter per call cost more than the
    /// rest of the dashboard, and one shared formatter is not safe across threads.
    static func date(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func twoDigits(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_mday) \(months[Int(parts.tm_mon)]) \(1900 + parts.tm_year), "
            + "\(twoDigits(parts.tm_hour)):\(twoDigits(parts.tm_min)) UTC"
    }
}

/// The notices a page may show after a redirect.
enum PageNotice: String {
    case signedOut = "signed-out"
    case consentSaved = "consent-saved"
    case requestFiled = "request-filed"
    case profileSaved = "profile-saved"
    case sessionRevoked = "session-revoked"
    case passwordChanged = "password-changed"
    case mfaDisabled = "mfa-disabled"
    case recordAdded = "record-added"
    case requestUpdated = "request-updated"
    case checkpointSigned = "checkpoint-signed"
    case accountDeleted = "account-deleted"
    case passwordReset = "password-reset"
    case emailVerified = "email-verified"
    case verificationSent = "verification-sent"
    case noticesSaved = "notices-saved"
    case passkeyAdded = "passkey-added"
    case emailChangeMailed = "email-change-mailed"
    case passwordRemoved = "password-removed"
    case emailChanged = "email-changed"
    case emailChangeUndone = "email-change-undone"
    case passkeyRenamed = "passkey-renamed"
    case passkeyRemoved = "passkey-removed"
    case applicationDisconnected = "application-disconnected"
    case applicationDeleted = "application-deleted"
    case visitorLinked = "visitor-linked"
    case visitorDeclined = "visitor-declined"
    case visitorNotLinked = "visitor-not-linked"

    var text: String {
        switch self {
        case .signedOut: "You are signed out."
        case .consentSaved: "Your choice is saved. Its signed receipt is in the history below."
        case .requestFiled: "Your request is filed. Its status and due date are listed below."
        case .profileSaved: "Your profile is updated, and the change is in the audit record."
        case .sessionRevoked: "The session is ended."
        case .passwordChanged: "Your password is changed."
        case .mfaDisabled: "Two-factor authentication is off."
        case .recordAdded: "The record is added."
        case .requestUpdated: "The request is updated."
        case .checkpointSigned: "A new checkpoint is signed."
        case .accountDeleted: "Your account is deleted."
        case .passwordReset: "Your password is reset and every session is signed out. Sign in with the new one."
        case .emailVerified: "Your email is confirmed."
        case .verificationSent: "A new link to confirm your email is on its way."
        case .noticesSaved: "Your choice of messages is saved."
        case .passwordRemoved: "Your password is removed: you sign in with your passkeys now."
        case .emailChangeMailed:
            "We mailed a link to the new address: your account moves there when you follow it. Until then, nothing changes."
        case .emailChanged: "Your account's email is changed. We told the old address, with a link to undo it."
        case .emailChangeUndone:
            "Your account is back at this address; its password, passkeys and two-factor set-up are removed and every session is signed out. Choose a new password now."
        case .passkeyAdded: "Your passkey is added. You can sign in with it instead of your password."
        case .passkeyRenamed: "The passkey is renamed."
        case .applicationDisconnected: "The application is disconnected, and its access has ended."
        case .applicationDeleted: "The application is deleted: its tokens, grants and sessions ended with it."
        case .passkeyRemoved: "The passkey is removed."
        case .visitorLinked:
            "The choices you made on the website are now part of your account: they are listed below, with their receipts."
        case .visitorDeclined: "The website's choices stay apart from your account."
        case .visitorNotLinked:
            "The website's choices could not be added: they have expired, were erased, or belong to another account."
        }
    }
}
