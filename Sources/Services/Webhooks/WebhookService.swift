import Consent
public import Foundation
public import Identity
import Kernel
public import Outbox

/// Webhook endpoints as administrators run them: registered with a secret shown once, rotated,
/// paused, resumed and deleted; their delivery log read and dead deliveries replayed. Each change is
/// an audit event with its ledger entry.
public struct WebhookService: Sendable {
    let repository: any WebhookRepository
    let secrets: WebhookSecrets
    let fanOut: RequestFanOut
    let identity: IdentityService
    let consents: ConsentService
    let allowsPrivateNetworks: Bool
    let now: @Sendable () -> Date

    public static let maximumURLLength = 2000
    public static let maximumDescriptionLength = 200
    public static let maximumPurposes = 50

    public struct Registration: Sendable {
        public var url: String
        public var description: String
        public var kinds: Set<WebhookEventKind>
        public var purposes: Set<String>

        public init(url: String, description: String, kinds: Set<WebhookEventKind>, purposes: Set<String>) {
            self.url = url
            self.description = description
            self.kinds = kinds
            self.purposes = purposes
        }
    }

    /// An endpoint just registered, or given a new secret: the secret is shown this once.
    public struct Issued: Sendable {
        public let endpoint: WebhookEndpoint
        public let secret: String
    }

    /// Needs a sign-in within the step-up window, or the password: an endpoint receives every event.
    public func register(
        _ registration: Registration, by admin: AuthenticatedUser, password: String?, client: ClientInfo
    ) async throws -> Issued {
        try await identity.requireAdministrator(admin, password: password, client: client)
        let url = try checkedURL(registration.url)
        let description = registration.description.trimmingCharacters(in: .whitespacesAndNewlines)
        guard description.count <= Self.maximumDescriptionLength else {
            throw ServiceError.invalidWebhook("description: at most \(Self.maximumDescriptionLength) characters")
        }
        guard !registration.kinds.isEmpty else { throw ServiceError.invalidWebhook("events: name at least one") }
        guard registration.purposes.count <= Self.maximumPurposes else {
            throw ServiceError.invalidWebhook("purposes: at most \(Self.maximumPurposes)")
        }
        let catalog = Set(try await consents.purposes().map(\.id.rawValue))
        if let unknown = registration.purposes.subtracting(catalog).min() {
            throw ServiceError.invalidWebhook("purposes: no purpose named '\(unknown.prefix(64))'")
        }
        let endpoint = WebhookEndpoint(
            id: UUID(), url: url, description: description, kinds: registration.kinds,
            purposes: registration.purposes, createdBy: admin.userID, createdAt: now().roundedToMicroseconds)
        let secret = StandardWebhookSignature.generateSecret()
        try await repository.insertWebhookEndpoint(endpoint, sealedSecret: try secrets.seal(secret, for: endpoint.id))
        try await audit(
            .webhookRegistered, endpoint,
            // The host only: a receiver's URL may hold a token of its own, and the audit is ledgered for good.
            [
                "host": URLComponents(string: url)?.host ?? "",
                "events": endpoint.kinds.sorted().map(\.rawValue).joined(separator: " "),
            ], admin, client)
        return Issued(endpoint: endpoint, secret: secret)
    }

    public func endpoints(by admin: AuthenticatedUser) async throws -> [WebhookEndpoint] {
        try requireAdmin(admin)
        return try await repository.webhookEndpoints()
    }

    public func endpoint(_ id: UUID, by admin: AuthenticatedUser) async throws -> WebhookEndpoint {
        try requireAdmin(admin)
        guard let endpoint = try await repository.webhookEndpoint(id: id) else { throw ServiceError.webhookNotFound }
        return endpoint
    }

    /// A new secret; the old one stops signing at once. Needs a recent sign-in or the password.
    public func rotateSecret(
        _ id: UUID, by admin: AuthenticatedUser, password: String?, client: ClientInfo
    )
        async throws -> Issued
    {
        let endpoint = try await endpoint(id, by: admin)
        try await identity.requireAdministrator(admin, password: password, client: client)
        let secret = StandardWebhookSignature.generateSecret()
        guard try await repository.replaceWebhookSecret(endpointID: id, sealedSecret: try secrets.seal(secret, for: id))
        else { throw ServiceError.webhookNotFound }
        try await audit(.webhookSecretRotated, endpoint, [:], admin, client)
        return Issued(endpoint: endpoint, secret: secret)
    }

    /// Pauses deliveries (they queue up) or resumes them, in order.
    public func setEnabled(
        _ id: UUID, _ enabled: Bool, by admin: AuthenticatedUser, client: ClientInfo
    )
        async throws -> WebhookEndpoint
    {
        let endpoint = try await endpoint(id, by: admin)
        let date = now().roundedToMicroseconds
        guard
            try await repository.setWebhookEndpointDisabled(
                id: id, at: enabled ? nil : date, reason: enabled ? nil : "disabled by an administrator")
        else { throw ServiceError.webhookNotFound }
        try await audit(enabled ? .webhookEnabled : .webhookDisabled, endpoint, [:], admin, client)
        return try await self.endpoint(id, by: admin)
    }

    /// Deletes the endpoint with its queue and log.
    public func delete(_ id: UUID, by admin: AuthenticatedUser, client: ClientInfo) async throws {
        let endpoint = try await endpoint(id, by: admin)
        guard try await !fanOut.carriesTasks(id) else { throw ServiceError.endpointInUse }
        guard try await repository.deleteWebhookEndpoint(id: id) else { throw ServiceError.webhookNotFound }
        try await audit(.webhookDeleted, endpoint, [:], admin, client)
    }

    public func deliveries(
        of id: UUID, state: WebhookDelivery.State?, limit: Int, by admin: AuthenticatedUser
    ) async throws -> [WebhookDelivery] {
        _ = try await endpoint(id, by: admin)
        guard (1...500).contains(limit) else { throw ServiceError.invalidWebhook("limit: 1 to 500") }
        return try await repository.webhookDeliveries(endpointID: id, state: state, limit: limit)
    }

    /// Queues a dead delivery again; it goes before its subject's later events.
    public func replay(_ delivery: UUID, of id: UUID, by admin: AuthenticatedUser, client: ClientInfo) async throws {
        let endpoint = try await endpoint(id, by: admin)
        guard try await repository.replayWebhookDelivery(id: delivery, endpointID: id, now: now()) else {
            throw ServiceError.deliveryNotDead
        }
        try await audit(.webhookReplayed, endpoint, ["delivery": delivery.lowercasedString], admin, client)
    }

    private func requireAdmin(_ admin: AuthenticatedUser) throws {
        guard admin.isAdmin else { throw IdentityError.forbidden }
    }

    private func audit(
        _ kind: AuthEvent.Kind, _ endpoint: WebhookEndpoint, _ details: [String: String], _ admin: AuthenticatedUser,
        _ client: ClientInfo
    ) async throws {
        var details = details
        details["endpoint"] = endpoint.id.lowercasedString
        try await identity.recordStaffAction(kind, by: admin, details: details, client: client)
    }

    /// An `https` URL without credentials or fragment (plain `http` only where private networks are
    /// allowed, as in development). A literal address must be public; a name is checked each time it
    /// is connected to, where a DNS answer cannot be swapped after the check.
    func checkedURL(_ text: String) throws -> String {
        let text = text.trimmingCharacters(in: .whitespaces)
        guard text.utf8.count <= Self.maximumURLLength, let components = URLComponents(string: text),
            let scheme = components.scheme?.lowercased(), let host = components.host, !host.isEmpty
        else { throw ServiceError.invalidWebhook("url: must be an absolute URL") }
        guard scheme == "https" || (scheme == "http" && allowsPrivateNetworks) else {
            throw ServiceError.invalidWebhook("url: must use https")
        }
        guard components.user == nil, components.password == nil, components.fragment == nil else {
            throw ServiceError.invalidWebhook("url: must not carry credentials or a fragment")
        }
        if !allowsPrivateNetworks, !Self.mayBePublic(host: host) {
            throw ServiceError.invalidWebhook("url: must not point at a loopback, link-local or private address")
        }
        return text
    }

    /// False for names and literal addresses that are never public; other names are judged at connect time.
    static func mayBePublic(host: String) -> Bool {
        let name = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]."))
        if name == "localhost" || name.hasSuffix(".localhost") || name.hasSuffix(".local")
            || name.hasSuffix(".internal")
        {
            return false
        }
        return NetworkScope.isPublic(literal: name) ?? true
    }
}
