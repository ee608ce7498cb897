import Foundation
import Hummingbird
import Kernel
import Outbox
import Services

/// Webhook endpoints under `/v1/admin/webhooks`, for administrators: register (the secret is shown
/// once), read, pause or resume, rotate the secret, delete; the delivery log, and dead deliveries
/// replayed.
struct WebhookController {
    let webhooks: WebhookService

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.post("/v1/admin/webhooks", use: register)
        routes.get("/v1/admin/webhooks", use: list)
        routes.get("/v1/admin/webhooks/:endpointId", use: show)
        routes.patch("/v1/admin/webhooks/:endpointId", use: update)
        routes.delete("/v1/admin/webhooks/:endpointId", use: delete)
        routes.post("/v1/admin/webhooks/:endpointId/secret", use: rotate)
        routes.get("/v1/admin/webhooks/:endpointId/deliveries", use: deliveries)
        routes.post("/v1/admin/webhooks/:endpointId/deliveries/:deliveryId/replay", use: replay)
        return routes
    }

    struct RegistrationInput: Decodable {
        var registration: WebhookService.Registration

        var currentPassword: String?

        enum CodingKeys: String, CodingKey { case url, description, events, purposes, currentPassword }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let events = try container.decode([String].self, forKey: .events)
            let kinds = try events.map { text in
                guard let kind = WebhookEventKind(rawValue: text), kind.isSubscribable else {
                    throw DecodingError.dataCorruptedError(
                        forKey: .events, in: container,
                        debugDescription:
                            "must be among \(WebhookEventKind.allCases.filter(\.isSubscribable).map(\.rawValue).sorted().joined(separator: ", "))"
                    )
                }
                return kind
            }
            registration = WebhookService.Registration(
                url: try container.decode(String.self, forKey: .url),
                description: try container.decodeIfPresent(String.self, forKey: .description) ?? "",
                kinds: Set(kinds), purposes: Set(try container.decodeIfPresent([String].self, forKey: .purposes) ?? []))
            currentPassword = try container.decodeIfPresent(String.self, forKey: .currentPassword)
        }
    }

    struct UpdateInput: Decodable {
        var enabled: Bool

        enum CodingKeys: String, CodingKey { case enabled }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            enabled = try decoder.container(keyedBy: CodingKeys.self).decode(Bool.self, forKey: .enabled)
        }
    }

    struct EndpointOutput: ResponseCodable {
        var id: String
        var url: String
        var description: String
        var events: [String]
        var purposes: [String]
        var enabled: Bool
        var disabledAt: String?
        var disabledReason: String?
        var createdAt: String

        init(_ endpoint: WebhookEndpoint) {
            id = endpoint.id.lowercasedString
            url = endpoint.url
            description = endpoint.description
            events = endpoint.kinds.sorted().map(\.rawValue)
            purposes = endpoint.purposes.sorted()
            enabled = endpoint.disabledAt == nil
            disabledAt = endpoint.disabledAt.map(RFC3339.string(from:))
            disabledReason = endpoint.disabledReason
            createdAt = RFC3339.string(from: endpoint.createdAt)
        }
    }

    struct IssuedOutput: ResponseCodable {
        var endpoint: EndpointOutput
        /// Shown once: the Standard Webhooks secret (`whsec_…`) that keys `webhook-signature`.
        var secret: String
    }

    struct EndpointList: ResponseCodable {
        var endpoints: [EndpointOutput]
    }

    struct DeliveryOutput: Codable {
        var id: String
        var eventId: String
        var type: String
        var state: String
        var attempts: Int
        var nextAttemptAt: String?
        var deliveredAt: String?
        var lastError: String?
        var occurredAt: String

        init(_ delivery: WebhookDelivery) {
            id = delivery.id.lowercasedString
            eventId = delivery.event.id
            type = delivery.event.kind.rawValue
            state = delivery.state.rawValue
            attempts = delivery.attempts
            nextAttemptAt = delivery.state == .pending ? RFC3339.string(from: delivery.nextAttemptAt) : nil
            deliveredAt = delivery.deliveredAt.map(RFC3339.string(from:))
            lastError = delivery.lastError
            occurredAt = RFC3339.string(from: delivery.event.occurredAt)
        }
    }

    struct DeliveryList: ResponseCodable {
        var deliveries: [DeliveryOutput]
    }

    @Sendable func register(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let admin = try context.requireAdmin()
        let input = try await request.decodeJSON(RegistrationInput.self, context: context).value
        let issued = try await webhooks.register(
            input.registration, by: admin, password: input.currentPassword, client: context.client(request))
        var response = try IssuedOutput(endpoint: EndpointOutput(issued.endpoint), secret: issued.secret)
            .response(from: request, context: context).noStore
        response.status = .created
        return response
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> EndpointList {
        EndpointList(endpoints: try await webhooks.endpoints(by: try context.requireAdmin()).map(EndpointOutput.init))
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> EndpointOutput {
        EndpointOutput(try await webhooks.endpoint(try Self.id(context), by: try context.requireAdmin()))
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> EndpointOutput {
        var request = request
        let admin = try context.requireAdmin()
        let id = try Self.id(context)
        let input = try await request.decodeJSON(UpdateInput.self, context: context).value
        return EndpointOutput(
            try await webhooks.setEnabled(id, input.enabled, by: admin, client: context.client(request)))
    }

    @Sendable func delete(_ request: Request, context: AppRequestContext) async throws -> HTTPResponse.Status {
        let admin = try context.requireAdmin()
        try await webhooks.delete(try Self.id(context), by: admin, client: context.client(request))
        return .noContent
    }

    @Sendable func rotate(_ request: Request, context: AppRequestContext) async throws -> Response {
        let admin = try context.requireAdmin()
        let id = try Self.id(context)
        var request = request
        let body = try await request.decodeOptionalJSON(MeController.StepUpInput.self, context: context)
        let issued = try await webhooks.rotateSecret(
            id, by: admin, password: body?.currentPassword, client: context.client(request))
        return try IssuedOutput(endpoint: EndpointOutput(issued.endpoint), secret: issued.secret)
            .response(from: request, context: context).noStore
    }

    @Sendable func deliveries(_ request: Request, context: AppRequestContext) async throws -> DeliveryList {
        let admin = try context.requireAdmin()
        let query = request.uri.queryParameters
        let state = try query.get("state").map { text throws(Problem) in
            guard let state = WebhookDelivery.State(rawValue: text) else {
                throw Problem.invalid("state: must be pending, delivered or dead")
            }
            return state
        }
        guard let limit = Int(query.get("limit") ?? "50") else { throw Problem.invalid("limit: must be an integer") }
        return DeliveryList(
            deliveries: try await webhooks.deliveries(of: try Self.id(context), state: state, limit: limit, by: admin)
                .map(DeliveryOutput.init))
    }

    @Sendable func replay(_ request: Request, context: AppRequestContext) async throws -> HTTPResponse.Status {
        let admin = try context.requireAdmin()
        guard let delivery = context.parameters.get("deliveryId").flatMap(UUID.init(uuidString:)) else {
            throw Problem.notFound
        }
        try await webhooks.replay(delivery, of: try Self.id(context), by: admin, client: context.client(request))
        return .accepted
    }

    private static func id(_ context: AppRequestContext) throws(Problem) -> UUID {
        guard let id = context.parameters.get("endpointId").flatMap(UUID.init(uuidString:)) else {
            throw Problem.notFound
        }
        return id
    }
}
