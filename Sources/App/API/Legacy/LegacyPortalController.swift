import Consent
import Foundation
import Hummingbird
import Identity
import Kernel
import PQCrypto

/// Upstream portal's routes with its request and response shapes and status codes, backed by the
/// real implementation. Unlike upstream, history is never overwritten, and the caller must own
/// `userId` unless they are an admin.
struct LegacyPortalController {
    let auth: AuthController
    let consents: ConsentController
    let service: ConsentService

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.post("/portal/auth/register", use: auth.register)
        routes.post("/portal/auth/login", use: login)
        routes.post("/portal/auth/refresh", use: auth.refresh)
        routes.post("/portal/consent", use: recordConsent)
        routes.get("/portal/consent/:userId", use: listConsent)
        return routes
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await auth.login(request, context, refreshInBodyOnlyWithRememberMe: true)
    }

    struct ConsentInput: Decodable {
        var subject: SubjectID
        var purpose: PurposeID
        var granted: Bool

        enum CodingKeys: String, CodingKey { case userId, consentType, granted, ipAddress, userAgent }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            subject = try container.decode(.userId) { try SubjectID(validating: $0) }
            purpose = try container.decode(.consentType) { try PurposeID(validating: $0) }
            granted = try container.decode(Bool.self, forKey: .granted)
            // Upstream let clients state these; the server records what it observes instead.
            _ = try container.decodeIfPresent(.ipAddress, length: 0...64) { $0 }
            _ = try container.decodeIfPresent(.userAgent, length: 0...512) { $0 }
        }
    }

    struct ConsentOutput: Codable {
        var id: String
        var userId: String
        var consentType: String
        var granted: Bool
        var noticeVersion: Int
        var timestamp: String

        init(_ event: ConsentEvent) {
            id = event.id.lowercasedString
            userId = event.subjectID.rawValue
            consentType = event.purposeID.rawValue
            granted = event.decision == .granted
            noticeVersion = event.noticeVersion
            timestamp = RFC3339.string(from: event.recordedAt)
        }
    }

    struct Recorded: ResponseCodable {
        var message = "Consent recorded"
        var consent: ConsentOutput
    }

    struct Listing: ResponseCodable {
        var userId: String
        var consents: [ConsentOutput]
    }

    @Sendable func recordConsent(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let body = try await request.decodeJSON(ConsentInput.self, context: context)
        let input = body.value
        let principal = try context.requireAccess(to: input.subject, writing: true)
        let decision: Decision = input.granted ? .granted : .withdrawn
        let state = try await service.currentState(of: input.subject).first { $0.purposeID == input.purpose }
        if let latest = state?.latest, latest.decision == decision, !(state?.needsReconsent ?? false) {
            throw Problem(
                .conflict, "conflict", "Conflict",
                detail: "consent for \(input.purpose.rawValue) is already in this state")
        }
        let outcome = try await consents.record(
            [DecisionRequest(purposeID: input.purpose, decision: decision, method: .explicit)], for: input.subject,
            by: principal, request: request, context: context, body: body.bytes)
        guard let event = outcome.events.last else { throw Problem.internalError }
        return try consents.created(Recorded(consent: ConsentOutput(event)), outcome, request, context)
    }

    @Sendable func listConsent(_ request: Request, context: AppRequestContext) async throws -> Listing {
        let subject = try SubjectID(validating: context.parameters.get("userId") ?? "")
        _ = try context.requireAccess(to: subject, writing: false)
        try await context.recordStaffRead(of: subject.rawValue, .consentState, request, privacy: consents.privacy)
        let states = try await service.currentState(of: subject)
        return Listing(userId: subject.rawValue, consents: states.compactMap { $0.latest.map(ConsentOutput.init) })
    }
}
