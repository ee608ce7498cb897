import Consent
import Foundation
import Hummingbird
import Identity
import Kernel
import PQCrypto
import Privacy
import Services

/// Data-subject requests: people file and follow their own; admins and DPOs file on a person's behalf,
/// work the queue by due date, and move requests through their lifecycle.
struct PrivacyController {
    let services: QSPPServices
    var privacy: PrivacyService { services.privacy }

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.post("/v1/me/requests", use: fileOwn)
        routes.get("/v1/me/requests", use: listOwn)
        routes.post("/v1/subjects/:subjectId/requests", use: fileOnBehalf)
        routes.get("/v1/requests", use: queue)
        routes.get("/v1/requests/:requestId", use: show)
        routes.get("/v1/requests/:requestId/events", use: events)
        routes.post("/v1/requests/:requestId/transitions", use: transition)
        routes.post("/v1/requests/:requestId/extension", use: extend)
        routes.post("/v1/requests/:requestId/erasure", use: erase)
        routes.post("/v1/requests/:requestId/fulfilment", use: fulfil)
        routes.delete("/v1/subjects/:subjectId/restriction", use: liftRestriction)
        return routes
    }

    struct FileInput: Decodable {
        var kind: RequestKind
        var identityVerification: String?
    }

    struct TransitionInput: Decodable {
        var status: RequestStatus
        var reason: String?
    }

    struct ExtensionInput: Decodable {
        var reason: String
    }

    struct RequestOutput: ResponseCodable {
        var id: String
        var subjectId: String
        var kind: String
        var regime: String
        var status: String
        var receivedAt: String
        var dueAt: String
        var overdue: Bool
        var extensionReason: String?
        var rejectionReason: String?
        var onBehalf: Bool
        var identityVerification: String?
        var updatedAt: String
        /// Downstream systems' tasks still open, and how many of those are past the due date.
        var openTasks: Int?
        var overdueTasks: Int?

        init(_ request: DataSubjectRequest, now: Date = Date()) {
            id = request.id.lowercasedString
            subjectId = request.subjectID.lowercasedString
            kind = request.kind.rawValue
            regime = request.kind.regime.rawValue
            status = request.status.rawValue
            receivedAt = RFC3339.string(from: request.receivedAt)
            dueAt = RFC3339.string(from: request.dueAt)
            overdue = request.isOverdue(at: now)
            extensionReason = request.extensionReason
            rejectionReason = request.rejectionReason
            onBehalf = request.filedBy != request.subjectID
            identityVerification = request.identityVerification
            updatedAt = RFC3339.string(from: request.updatedAt)
        }
    }

    struct RequestList: ResponseCodable {
        var requests: [RequestOutput]
    }

    struct EventList: ResponseCodable {
        struct Item: Codable {
            var from: String?
            var to: String
            var actor: String
            var reason: String?
            var at: String
        }
        var events: [Item]
    }

    @Sendable func fileOwn(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        var request = request
        let body = try await request.decodeJSON(FileInput.self, context: context).value
        let filed = try await privacy.file(body.kind, for: user.userID, by: user.userID)
        return try RequestOutput(filed).response(from: request, context: context).with(status: .created)
    }

    @Sendable func listOwn(_ request: Request, context: AppRequestContext) async throws -> RequestList {
        let user = try context.requireUser()
        return RequestList(requests: try await privacy.requests(of: user.userID).map { RequestOutput($0) })
    }

    @Sendable func fileOnBehalf(_ request: Request, context: AppRequestContext) async throws -> Response {
        let staff = try context.requireStaff()
        guard let subject = context.parameters.get("subjectId").flatMap({ UUID(uuidString: $0) }),
            try await services.identity.account(id: subject) != nil
        else { throw Problem.notFound }
        var request = request
        let body = try await request.decodeJSON(FileInput.self, context: context).value
        let filed = try await privacy.file(
            body.kind, for: subject, by: staff.userID, identityVerification: body.identityVerification)
        return try RequestOutput(filed).response(from: request, context: context).with(status: .created)
    }

    @Sendable func queue(_ request: Request, context: AppRequestContext) async throws -> RequestList {
        _ = try context.requireStaff()
        let includeClosed = request.uri.queryParameters.get("includeClosed") == "true"
        let queue = try await privacy.queue(includeClosed: includeClosed)
        services.metrics.overdueRequests(try await privacy.overdueCount())
        let counts = try await services.fanOut.openTaskCounts(queue.filter { !$0.status.isFinal }.map(\.id))
        return RequestList(
            requests: queue.map { found in
                var output = RequestOutput(found)
                output.openTasks = counts[found.id]?.open
                output.overdueTasks = counts[found.id]?.overdue
                return output
            })
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> RequestOutput {
        RequestOutput(try await visibleRequest(context))
    }

    @Sendable func events(_ request: Request, context: AppRequestContext) async throws -> EventList {
        let found = try await visibleRequest(context)
        return EventList(
            events: try await privacy.events(of: found.id).map { event in
                EventList.Item(
                    from: event.from?.rawValue, to: event.to.rawValue, actor: event.actor.lowercasedString,
                    reason: event.reason, at: RFC3339.string(from: event.at))
            })
    }

    @Sendable func transition(_ request: Request, context: AppRequestContext) async throws -> RequestOutput {
        let staff = try context.requireStaff()
        var request = request
        let body = try await request.decodeJSON(TransitionInput.self, context: context).value
        return RequestOutput(
            try await services.rights.transition(
                try requestID(context), to: body.status, by: staff.userID, reason: body.reason))
    }

    @Sendable func extend(_ request: Request, context: AppRequestContext) async throws -> RequestOutput {
        let staff = try context.requireStaff()
        var request = request
        let body = try await request.decodeJSON(ExtensionInput.self, context: context).value
        return RequestOutput(try await privacy.extend(try requestID(context), by: staff.userID, reason: body.reason))
    }

    struct ErasureOutput: ResponseCodable {
        var request: RequestOutput
        var subjectId: String
        var erasedAt: String
    }

    /// Fulfils a verified erasure or deletion request by crypto-shredding (``RightsFulfilment/erase``).
    @Sendable func erase(_ request: Request, context: AppRequestContext) async throws -> ErasureOutput {
        let staff = try context.requireStaff()
        let erased = try await services.rights.erase(try requestID(context), by: staff.userID)
        return ErasureOutput(
            request: RequestOutput(erased.request), subjectId: erased.subject,
            erasedAt: RFC3339.string(from: erased.erasedAt))
    }

    struct FulfilmentInput: Decodable {
        var email: String?
        var displayName: String?
    }

    struct FulfilmentOutput: ResponseCodable {
        var request: RequestOutput
        /// What was done: `restricted`, `withdrawn` (with the purposes), `rectified` or `erased`.
        var outcome: String
        var purposes: [String]?
    }

    /// Carries out a verified request and completes it (``RightsFulfilment/fulfil``); the body is read
    /// only for a rectification or correction. Access, portability and know are delivered with
    /// `GET /v1/subjects/{id}/export`.
    @Sendable func fulfil(_ request: Request, context: AppRequestContext) async throws -> FulfilmentOutput {
        let staff = try context.requireStaff()
        let done = try await services.rights.fulfil(
            try requestID(context), by: staff.userID, client: context.client(request)
        ) {
            var request = request
            let input = try await request.decodeJSON(FulfilmentInput.self, context: context).value
            return .init(email: input.email, displayName: input.displayName)
        }
        return FulfilmentOutput(request: RequestOutput(done.request), outcome: done.outcome, purposes: done.purposes)
    }

    /// Ends a restriction (the person's request to restrict has run its course).
    @Sendable func liftRestriction(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireStaff()
        guard let subject = context.parameters.get("subjectId").flatMap({ UUID(uuidString: $0) }),
            try await services.rights.liftRestriction(of: subject)
        else { throw Problem.notFound }
        return Response(status: .noContent)
    }

    // MARK: Access

    /// Admins and DPOs work the queue.
    private func requestID(_ context: AppRequestContext) throws -> UUID {
        guard let id = context.parameters.get("requestId").flatMap({ UUID(uuidString: $0) }) else {
            throw Problem.notFound
        }
        return id
    }

    /// The request if the caller is its subject or staff; anyone else's answers 404 like a missing one.
    private func visibleRequest(_ context: AppRequestContext) async throws -> DataSubjectRequest {
        let user = try context.requireUser()
        let found = try await privacy.request(try requestID(context))
        guard found.subjectID == user.userID || user.canReadAnySubject else { throw PrivacyError.requestNotFound }
        return found
    }
}
