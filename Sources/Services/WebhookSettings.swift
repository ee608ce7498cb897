public import Outbox

/// Where webhooks may be posted, and how failed deliveries are retried.
public struct WebhookSettings: Sendable {
    /// Whether endpoints may be on loopback and private addresses, and plain http.
    public var allowsPrivateNetworks = false
    /// From seconds to hours apart, so an endpoint that is down for most of a day still gets every
    /// event, and then dead, to be replayed.
    public var retry = OutboxRetryPolicy(maximumAttempts: 15, firstDelay: 5, longestDelay: 6 * 3600)

    public init() {}

    public init(reader: SettingsReader) throws(InvalidSetting) {
        allowsPrivateNetworks = try reader.scoped(to: "qspp").boolean(
            "webhook.private.networks", default: allowsPrivateNetworks)
    }
}
