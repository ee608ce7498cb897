import Crypto
import Foundation
import Outbox
import PQCrypto

/// Endpoint secrets, sealed under the master key: a copy of the database cannot forge a webhook.
struct WebhookSecrets: Sendable {
    let webhooks: any WebhookRepository
    let masterKey: MasterKey

    func seal(_ secret: String, for id: UUID) throws -> Data {
        try masterKey.seal(Data(secret.utf8), context: WebhookEndpoint.sealingContext(id))
    }

    /// The HMAC key of an endpoint that exists.
    func key(for id: UUID) async throws -> SymmetricKey? {
        guard let sealed = try await webhooks.webhookSecret(endpointID: id) else { return nil }
        let secret = try masterKey.open(sealed, context: WebhookEndpoint.sealingContext(id))
        return StandardWebhookSignature.key(String(decoding: secret, as: UTF8.self))
    }
}
