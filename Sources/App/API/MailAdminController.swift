import Foundation
import Hummingbird
import Kernel
import Outbox
import Services

/// The mail outbox as admins see it, under `/v1/admin/mail`: what is pending, sent, dead or dropped,
/// with attempts and the last error's kind, never a recipient or a body; and a dead message queued
/// again, which is audited.
struct MailAdminController {
    let services: QSPPServices

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("/v1/admin/mail", use: list)
        routes.post("/v1/admin/mail/:mailId/retry", use: retry)
        return routes
    }

    struct QueuedMail: Codable {
        var id: String
        var subjectId: String
        var template: String
        var state: String
        var attempts: Int
        var createdAt: String
        var nextAttemptAt: String?
        var sentAt: String?
        var lastError: String?

        init(_ status: QueuedMailStatus) {
            id = status.id.lowercasedString
            subjectId = status.subject
            template = status.template.rawValue
            state = status.state.rawValue
            attempts = status.attempts
            createdAt = RFC3339.string(from: status.createdAt)
            nextAttemptAt = status.nextAttemptAt.map(RFC3339.string(from:))
            sentAt = status.sentAt.map(RFC3339.string(from:))
            lastError = status.lastError
        }
    }

    struct MailList: ResponseCodable {
        var mail: [QueuedMail]
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> MailList {
        _ = try context.requireAdmin()
        let stateText = request.uri.queryParameters.get("state") ?? OutboxState.dead.rawValue
        guard let state = OutboxState(rawValue: stateText) else {
            throw Problem.invalid(
                "state must be one of \(OutboxState.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let limitText = request.uri.queryParameters.get("limit") ?? "50"
        guard let limit = Int(limitText), (1...500).contains(limit) else {
            throw Problem.invalid("limit must be a whole number from 1 to 500")
        }
        return MailList(mail: try await services.queuedMail(in: state, limit: limit).map(QueuedMail.init))
    }

    @Sendable func retry(_ request: Request, context: AppRequestContext) async throws -> HTTPResponse.Status {
        let admin = try context.requireAdmin()
        guard let id = context.parameters.get("mailId").flatMap({ UUID(uuidString: $0) }) else {
            throw Problem.notFound
        }
        guard try await services.requeueMail(id, by: admin, client: context.client(request)) else {
            throw Problem.notFound
        }
        return .accepted
    }
}
