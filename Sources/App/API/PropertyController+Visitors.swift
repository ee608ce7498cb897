import Consent
import Foundation
import HTTPTypes
import Hummingbird
import Kernel
import Services

/// A visitor's own history, with nothing but their token: read back, erased, or taken over by the
/// account they sign in to.
extension PropertyController {
    struct HistoryOutput: ResponseCodable {
        var visitorId: String
        var events: [VisitorEventOutput]
    }

    struct ErasureOutput: ResponseCodable {
        var visitorId: String
        var erasedAt: String
    }

    struct LinkInput: Decodable {
        var visitor: String

        enum CodingKeys: String, CodingKey { case visitor }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            visitor = try decoder.container(keyedBy: CodingKeys.self).decode(String.self, forKey: .visitor)
        }
    }

    struct LinkOutput: ResponseCodable {
        var visitorId: String
        var accountId: String
        var linkedAt: String
    }

    /// Everything the visitor decided, with the receipt of each (GDPR Art. 15 and 20). Where from is in the
    /// export of the account that takes the visitor over, or a request's.
    @Sendable func history(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await crossOrigin(request, context) { property in
            let visitor = try await properties.visitor(request.headers[Self.visitorHeader])
            return try HistoryOutput(
                visitorId: visitor.lowercasedString,
                events: try await properties.history(of: visitor).map { VisitorEventOutput($0, on: property) }
            ).response(from: request, context: context).noStore
        }
    }

    /// Erases the visitor's history (GDPR Art. 17); the token is spent with it.
    @Sendable func erase(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await crossOrigin(request, context) { _ in
            let visitor = try await properties.visitor(request.headers[Self.visitorHeader])
            let erasedAt = try await properties.erase(visitor)
            return try ErasureOutput(visitorId: visitor.lowercasedString, erasedAt: RFC3339.string(from: erasedAt))
                .response(from: request, context: context).noStore
        }
    }

    /// The signed-in person takes over a visitor's history: an application that signs people in
    /// through QSPP sends the token its consent cookie keeps, with the person's access token.
    @Sendable func link(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let user = try context.requireUser()
        let input = try await request.decodeJSON(LinkInput.self, context: context).value
        let link = try await properties.link(input.visitor, to: user, client: context.client(request))
        return try LinkOutput(
            visitorId: link.visitor.lowercasedString, accountId: link.account.lowercasedString,
            linkedAt: RFC3339.string(from: link.linkedAt)
        ).response(from: request, context: context).noStore
    }
}
