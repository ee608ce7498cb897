import Consent
import Foundation
import Hummingbird
import Kernel
import PQCrypto

/// Upstream ZynConsent's two routes, kept so its clients keep working. They now require the admin
/// token like every other route that touches a subject's data.
struct LegacyConsentController {
    let consents: ConsentController
    let service: ConsentService
    static let maximumEvents = ConsentService.maximumHistoryPageSize

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.post("/consent", use: record)
        routes.get("/consent/:userId", use: list)
        return routes
    }

    struct Input: Decodable {
        var subject: SubjectID
        var decision: DecisionRequest

        enum CodingKeys: String, CodingKey { case userId, consentType, status, timestamp }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            subject = try container.decode(.userId) { try SubjectID(validating: $0) }
            let purpose = try container.decode(.consentType) { try PurposeID(validating: $0) }
            let decision = try container.decode(.status) { text -> Decision in
                switch text {
                case "granted": return .granted
                case "revoked": return .withdrawn
                default: throw FieldError("must be 'granted' or 'revoked'")
                }
            }
            self.decision = DecisionRequest(
                purposeID: purpose, decision: decision, method: .api,
                clientTimestamp: try container.decodeTimestampIfPresent(.timestamp))
        }
    }

    struct LegacyEvent: Codable {
        var id: String
        var userId: String
        var consentType: String
        var status: String
        var timestamp: String
        var recordedAt: String
        var noticeVersion: Int
        var method: String

        init(_ event: ConsentEvent) {
            id = event.id.lowercasedString
            userId = event.subjectID.rawValue
            consentType = event.purposeID.rawValue
            status = event.decision == .granted ? "granted" : "revoked"
            timestamp = RFC3339.string(from: event.clientTimestamp ?? event.recordedAt)
            recordedAt = RFC3339.string(from: event.recordedAt)
            noticeVersion = event.noticeVersion
            method = event.method.rawValue
        }
    }

    struct Created: ResponseCodable {
        var message: String
        var consentEvent: LegacyEvent
    }

    struct Listing: ResponseCodable {
        var message: String
        var consentEvents: [LegacyEvent]
    }

    @Sendable func record(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let body = try await request.decodeJSON(Input.self, context: context)
        let principal = try context.requireAccess(to: body.value.subject, writing: true)
        let outcome = try await consents.record(
            [body.value.decision], for: body.value.subject, by: principal, request: request, context: context,
            body: body.bytes)
        // GPC withdrawals come first in the append; the caller's own decision is the last event.
        guard let event = outcome.events.last else { throw Problem.internalError }
        return try consents.created(
            Created(message: "Consent recorded", consentEvent: LegacyEvent(event)), outcome, request, context)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Listing {
        let subject = try SubjectID(validating: context.parameters.get("userId") ?? "")
        _ = try context.requireAccess(to: subject, writing: false)
        try await context.recordStaffRead(of: subject.rawValue, .consentHistory, request, privacy: consents.privacy)
        let page = try await service.history(of: subject, after: nil, limit: Self.maximumEvents)
        guard !page.events.isEmpty else {
            throw Problem(.notFound, "not-found", "Not found", detail: "no consent events for this user")
        }
        return Listing(message: "Consent events retrieved", consentEvents: page.events.map(LegacyEvent.init))
    }
}
