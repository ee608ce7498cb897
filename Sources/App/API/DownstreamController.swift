import Foundation
import HTTPTypes
import Hummingbird
import Kernel
import Privacy
import Services

/// Data-subject requests fanned out to downstream systems: administrators register the systems under
/// `/v1/admin/systems`; staff read a request's tasks and excuse one with a reason; a system answers its
/// task at `/v1/request-tasks/{taskId}/answer`, signed with its webhook endpoint's secret instead of a
/// token.
struct DownstreamController {
    let fanOut: RequestFanOut

    static let answerRoute = "/v1/request-tasks/:taskId/answer"
    /// An export's data and the answer around it.
    static let answerBodyLimit = RequestFanOut.maximumDataBytes + 16 * 1024

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.post("/v1/admin/systems", use: register)
        routes.get("/v1/admin/systems", use: list)
        routes.delete("/v1/admin/systems/:systemId", use: retire)
        routes.get("/v1/requests/:requestId/tasks", use: tasks)
        routes.post("/v1/requests/:requestId/tasks/:taskId/exception", use: except)
        routes.post(RouterPath(Self.answerRoute), use: answer)
        return routes
    }

    struct RegistrationInput: Decodable {
        var name: String
        var webhookId: UUID

        enum CodingKeys: String, CodingKey { case name, webhookId }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            webhookId = try container.decode(UUID.self, forKey: .webhookId)
        }
    }

    struct ExceptionInput: Decodable {
        var reason: String

        enum CodingKeys: String, CodingKey { case reason }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            reason = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .reason)
        }
    }

    struct SystemOutput: ResponseCodable {
        var id: String
        var name: String
        var webhookId: String
        var createdAt: String
        var retiredAt: String?

        init(_ system: DownstreamSystem) {
            id = system.id.lowercasedString
            name = system.name
            webhookId = system.endpointID.lowercasedString
            createdAt = RFC3339.string(from: system.createdAt)
            retiredAt = system.retiredAt.map(RFC3339.string(from:))
        }
    }

    struct SystemList: ResponseCodable {
        var systems: [SystemOutput]
    }

    struct TaskOutput: ResponseCodable {
        var id: String
        var requestId: String
        var systemId: String
        var system: String
        var action: String
        var state: String
        var createdAt: String
        var settledAt: String?
        /// `done` or `no_data` from the system; for an exception, staff's reason.
        var outcome: String?
        var settledBy: String?
        var hasData: Bool

        init(_ task: RequestTask, system: String) {
            id = task.id.lowercasedString
            requestId = task.requestID.lowercasedString
            systemId = task.systemID.lowercasedString
            self.system = system
            action = task.action.rawValue
            state = task.state.rawValue
            createdAt = RFC3339.string(from: task.createdAt)
            settledAt = task.settledAt.map(RFC3339.string(from:))
            outcome = task.outcome
            settledBy = task.settledBy?.lowercasedString
            hasData = task.hasData
        }
    }

    struct TaskList: ResponseCodable {
        var tasks: [TaskOutput]
    }

    @Sendable func register(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let admin = try context.requireAdmin()
        let input = try await request.decodeJSON(RegistrationInput.self, context: context).value
        let system = try await fanOut.register(
            name: input.name, endpointID: input.webhookId, by: admin, client: context.client(request))
        var response = try SystemOutput(system).response(from: request, context: context)
        response.status = .created
        return response
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> SystemList {
        SystemList(systems: try await fanOut.systems(by: try context.requireAdmin()).map(SystemOutput.init))
    }

    @Sendable func retire(_ request: Request, context: AppRequestContext) async throws -> HTTPResponse.Status {
        let admin = try context.requireAdmin()
        try await fanOut.retire(try Self.id("systemId", context), by: admin, client: context.client(request))
        return .noContent
    }

    @Sendable func tasks(_ request: Request, context: AppRequestContext) async throws -> TaskList {
        _ = try context.requireStaff()
        return TaskList(
            tasks: try await fanOut.tasks(of: try Self.id("requestId", context)).map {
                TaskOutput($0.task, system: $0.system)
            })
    }

    @Sendable func except(_ request: Request, context: AppRequestContext) async throws -> TaskOutput {
        let staff = try context.requireStaff()
        var request = request
        let input = try await request.decodeJSON(ExceptionInput.self, context: context).value
        let requestID = try Self.id("requestId", context)
        let excused = try await fanOut.recordException(
            try Self.id("taskId", context), of: requestID, reason: input.reason, by: staff.userID)
        return TaskOutput(excused.task, system: excused.system)
    }

    /// The system's answer: authenticated by its signature alone, over the exact bytes received.
    @Sendable func answer(_ request: Request, context: AppRequestContext) async throws -> TaskOutput {
        var request = request
        let taskID = try Self.id("taskId", context)
        let body = try await request.collectBody(upTo: Self.answerBodyLimit)
        let settled = try await fanOut.answer(
            taskID,
            RequestFanOut.Answer(
                messageID: request.headers[values: .webhookID].first,
                timestamp: request.headers[values: .webhookTimestamp].first,
                signature: request.headers[values: .webhookSignature].first, body: Data(buffer: body)))
        return TaskOutput(settled.task, system: settled.system)
    }

    private static func id(_ name: String, _ context: AppRequestContext) throws(Problem) -> UUID {
        guard let id = context.parameters.get(name).flatMap(UUID.init(uuidString:)) else { throw Problem.notFound }
        return id
    }
}

extension HTTPField.Name {
    static let webhookID = Self("webhook-id")!
    static let webhookTimestamp = Self("webhook-timestamp")!
    static let webhookSignature = Self("webhook-signature")!
}
