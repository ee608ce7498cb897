public import Foundation

/// Posts a webhook: the body and headers as given, to the endpoint's URL.
public protocol WebhookTransport: Sendable {
    /// The HTTP status the endpoint answered with; throws when it gave no answer or may not be reached.
    func post(_ body: Data, headers: [(String, String)], to url: String) async throws(DeliveryFailure) -> UInt
}

/// Why a message did not arrive. Logged and stored as it is: it never holds the message or a secret.
public struct DeliveryFailure: Error, Sendable, CustomStringConvertible {
    public let reason: String
    /// True when trying again cannot help: the receiver refused the message, or may not be reached
    /// from here.
    public let permanent: Bool

    public init(_ reason: String, permanent: Bool) {
        self.reason = reason
        self.permanent = permanent
    }

    public var description: String { reason }
}
