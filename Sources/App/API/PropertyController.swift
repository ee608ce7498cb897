import Consent
import Foundation
import HTTPTypes
import Hummingbird
import Kernel
import NIOCore
import Services

/// Consent properties: administrators register websites under `/v1/admin/properties`; the pages of a
/// property's own origins, and only those, read its banner, start a visit, and record and read the
/// visitor's decisions under `/v1/properties/{id}`, cross-origin, with the visitor's token in the
/// `QSPP-Visitor` header instead of a credential.
struct PropertyController {
    let services: QSPPServices
    /// Decisions per visitor and minute, beyond the per-address limit every request meets.
    let visitorQuota: RateLimitMiddleware.Group

    static let visitorHeader = HTTPField.Name("QSPP-Visitor")!
    static let maximumDecisions = 30

    var properties: ConsentProperties { services.properties }

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.post("/v1/admin/properties", use: register)
        routes.get("/v1/admin/properties", use: list)
        routes.delete("/v1/admin/properties/:propertyId", use: retire)
        routes.get("/v1/properties/:propertyId/banner", use: banner)
        routes.post("/v1/properties/:propertyId/visitors", use: startVisit)
        routes.get("/v1/properties/:propertyId/consents", use: state)
        routes.post("/v1/properties/:propertyId/consents", use: record)
        routes.get("/v1/properties/:propertyId/receipts/:eventId", use: receipt)
        routes.get("/v1/properties/:propertyId/visitors/me", use: history)
        routes.delete("/v1/properties/:propertyId/visitors/me", use: erase)
        routes.post("/v1/me/visitor-links", use: link)
        for path in [
            "/v1/properties/:propertyId/banner", "/v1/properties/:propertyId/visitors",
            "/v1/properties/:propertyId/consents", "/v1/properties/:propertyId/receipts/:eventId",
            "/v1/properties/:propertyId/visitors/me",
        ] {
            routes.on(RouterPath(path), method: .options, use: preflight)
        }
        return routes
    }

    // MARK: Administration

    struct RegistrationInput: Decodable {
        var name: String
        var origins: [String]
        var purposes: [String]

        enum CodingKeys: String, CodingKey { case name, origins, purposes }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decode(String.self, forKey: .name)
            origins = try container.decode([String].self, forKey: .origins)
            purposes = try container.decode([String].self, forKey: .purposes)
        }
    }

    struct PropertyOutput: ResponseCodable {
        var id: String
        var name: String
        var origins: [String]
        var purposes: [String]
        var createdAt: String
        var retiredAt: String?
        /// The script tag for the property's pages, pinned to this release of the SDK.
        var snippet: String

        init(_ property: ConsentProperty, issuer: String) {
            id = property.id.lowercasedString
            name = property.name
            origins = property.origins
            purposes = property.purposes.map(\.rawValue)
            createdAt = RFC3339.string(from: property.createdAt)
            retiredAt = property.retiredAt.map(RFC3339.string(from:))
            let sdk = ConsentSDK.bundled
            let base = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
            snippet =
                "<script src=\"\(base)\(sdk.hashedPath)\" integrity=\"\(sdk.integrity)\" "
                + "crossorigin=\"anonymous\" data-qspp-property=\"\(id)\" async></script>"
        }
    }

    struct PropertyList: ResponseCodable {
        var properties: [PropertyOutput]
    }

    @Sendable func register(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        let admin = try context.requireAdmin()
        let input = try await request.decodeJSON(RegistrationInput.self, context: context).value
        let property = try await properties.register(
            name: input.name, origins: input.origins, purposes: input.purposes, by: admin,
            client: context.client(request))
        var response = try PropertyOutput(property, issuer: services.settings.issuer).response(
            from: request, context: context)
        response.status = .created
        return response
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> PropertyList {
        PropertyList(
            properties: try await properties.properties(by: try context.requireAdmin()).map {
                PropertyOutput($0, issuer: services.settings.issuer)
            })
    }

    @Sendable func retire(_ request: Request, context: AppRequestContext) async throws -> HTTPResponse.Status {
        let admin = try context.requireAdmin()
        try await properties.retire(try Self.id("propertyId", context), by: admin, client: context.client(request))
        return .noContent
    }

    // MARK: Visitors

    struct BannerOutput: ResponseCodable {
        struct Item: Codable {
            var id: String
            var title: String
            var description: String
            var lawfulBasis: String
            var saleOrSharing: Bool
            var noticeVersion: Int
            var noticeText: String?
            var noticeUrl: String?
        }
        var property: String
        var name: String
        var purposes: [Item]
    }

    struct VisitOutput: ResponseCodable {
        var visitorId: String
        /// Kept by the SDK in a first-party cookie, and sent back as `QSPP-Visitor`.
        var token: String
        var expiresAt: String
    }

    struct StateOutput: ResponseCodable {
        struct Item: Codable {
            var purpose: String
            var decision: String?
            var noticeVersion: Int?
            var currentNoticeVersion: Int
            var needsReconsent: Bool
        }
        var visitorId: String
        var purposes: [Item]
    }

    struct DecisionsInput: Decodable {
        struct Item: Decodable {
            var purpose: String
            var decision: String
            var noticeVersion: Int?

            enum CodingKeys: String, CodingKey { case purpose, decision, noticeVersion }

            init(from decoder: any Decoder) throws {
                try decoder.rejectUnknownKeys(CodingKeys.self)
                let container = try decoder.container(keyedBy: CodingKeys.self)
                purpose = try container.decode(String.self, forKey: .purpose)
                decision = try container.decode(String.self, forKey: .decision)
                noticeVersion = try container.decodeIfPresent(Int.self, forKey: .noticeVersion)
            }
        }
        var decisions: [Item]
        /// The page's `navigator.globalPrivacyControl`: scripts cannot send `Sec-GPC` themselves.
        var globalPrivacyControl: Bool

        enum CodingKeys: String, CodingKey { case decisions, globalPrivacyControl }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            decisions = try container.decode([Item].self, forKey: .decisions)
            globalPrivacyControl = try container.decodeIfPresent(Bool.self, forKey: .globalPrivacyControl) ?? false
        }
    }

    /// One of a visitor's decisions. Where it was made from (address, browser) is left out: a token is
    /// all it takes to ask, and a token can leak from the page that keeps it.
    struct VisitorEventOutput: Codable {
        var id: String
        var purpose: String
        var decision: String
        var noticeVersion: Int
        var method: String
        var recordedAt: String
        /// Where the visitor fetches the signed receipt, with their token.
        var receipt: String

        init(_ event: ConsentEvent, on property: ConsentProperty) {
            id = event.id.lowercasedString
            purpose = event.purposeID.rawValue
            decision = event.decision.rawValue
            noticeVersion = event.noticeVersion
            method = event.method.rawValue
            recordedAt = RFC3339.string(from: event.recordedAt)
            receipt = "/v1/properties/\(property.id.lowercasedString)/receipts/" + id
        }
    }

    struct RecordedOutput: ResponseCodable {
        var events: [VisitorEventOutput]
    }

    @Sendable func banner(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await crossOrigin(request, context) { property in
            let date = Date()
            let purposes = try await properties.banner(of: property).map { purpose in
                let notice = purpose.currentNotice(at: date)
                return BannerOutput.Item(
                    id: purpose.id.rawValue, title: purpose.title, description: purpose.description,
                    lawfulBasis: purpose.lawfulBasis.rawValue, saleOrSharing: purpose.isSaleOrSharing,
                    noticeVersion: notice.version, noticeText: notice.text, noticeUrl: notice.url)
            }
            return try BannerOutput(property: property.id.lowercasedString, name: property.name, purposes: purposes)
                .response(from: request, context: context)
        }
    }

    @Sendable func startVisit(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await crossOrigin(request, context) { _ in
            let visit = properties.startVisit()
            var response = try VisitOutput(
                visitorId: visit.visitor.lowercasedString, token: visit.token,
                expiresAt: RFC3339.string(from: visit.expiresAt)
            ).response(from: request, context: context).noStore
            response.status = .created
            return response
        }
    }

    @Sendable func state(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await crossOrigin(request, context) { property in
            let visitor = try await properties.visitor(request.headers[Self.visitorHeader])
            let standing = try await properties.state(of: visitor, on: property)
            return try StateOutput(
                visitorId: visitor.lowercasedString,
                purposes: standing.map {
                    StateOutput.Item(
                        purpose: $0.purposeID.rawValue, decision: $0.latest?.decision.rawValue,
                        noticeVersion: $0.latest?.noticeVersion, currentNoticeVersion: $0.currentNoticeVersion,
                        needsReconsent: $0.needsReconsent)
                }
            ).response(from: request, context: context).noStore
        }
    }

    @Sendable func record(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await crossOrigin(request, context) { property in
            let visitor = try await properties.visitor(request.headers[Self.visitorHeader])
            let decision = await visitorQuota.quota.take(visitor.lowercasedString)
            guard decision.allowed else { throw RateLimitMiddleware.refusal(visitorQuota, decision) }
            var request = request
            let input = try await request.decodeJSON(DecisionsInput.self, context: context).value
            var origin = context.consentOrigin(request)
            origin.globalPrivacyControl = origin.globalPrivacyControl || input.globalPrivacyControl
            // With GPC on, a visit may say nothing else: the signal alone withdraws sale or sharing.
            let fewest = origin.globalPrivacyControl ? 0 : 1
            guard (fewest...Self.maximumDecisions).contains(input.decisions.count) else {
                throw Problem.invalid("decisions: \(fewest) to \(Self.maximumDecisions)")
            }
            let decisions = try input.decisions.map { item in
                guard let choice = Decision(rawValue: item.decision) else {
                    throw Problem.invalid("decisions[].decision: granted or withdrawn")
                }
                return DecisionRequest(
                    purposeID: try PurposeID(validating: item.purpose), decision: choice,
                    noticeVersion: item.noticeVersion, method: .explicit)
            }
            let events = try await properties.record(decisions, by: visitor, on: property, origin: origin)
            var response = try RecordedOutput(events: events.map { VisitorEventOutput($0, on: property) })
                .response(from: request, context: context).noStore
            response.status = .created
            return response
        }
    }

    /// The signed receipt of one of the visitor's own decisions; another's is 404, as a missing one.
    @Sendable func receipt(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await crossOrigin(request, context) { _ in
            let visitor = try await properties.visitor(request.headers[Self.visitorHeader])
            let subject = VisitorLink.subject(visitor)
            guard
                let signed = try await services.receipts.signedReceipt(
                    of: try Self.id("eventId", context),
                    authorize: { owner in
                        guard owner.rawValue == subject else { throw Problem.notFound }
                    })
            else { throw Problem.notFound }
            return Response(
                status: .ok, headers: [.contentType: "application/jose", .cacheControl: "no-store"],
                body: .init(byteBuffer: ByteBuffer(string: signed.jws)))
        }
    }

    /// A preflight from one of the property's origins: the methods and the one header the SDK sends.
    @Sendable func preflight(_ request: Request, context: AppRequestContext) async throws -> Response {
        let origin = request.headers[.origin]
        _ = try await properties.property(try Self.id("propertyId", context), for: origin)
        var response = Response(status: .noContent)
        response.headers[.accessControlAllowOrigin] = origin
        response.headers[.accessControlAllowMethods] = "GET, POST, DELETE"
        response.headers[.accessControlAllowHeaders] = "content-type, qspp-visitor"
        response.headers[.accessControlMaxAge] = "600"
        response.headers[.vary] = "Origin"
        return response
    }

    /// Runs `body` for a page of one of the property's origins, and lets that page read the answer,
    /// errors included. A page of any other origin is refused (403) and can read nothing.
    func crossOrigin(
        _ request: Request, _ context: AppRequestContext,
        _ body: (ConsentProperty) async throws -> Response
    ) async throws -> Response {
        let property = try await properties.property(
            try Self.id("propertyId", context), for: request.headers[.origin])
        var response: Response
        do {
            response = try await body(property)
        } catch {
            // An unexpected error goes on to be logged and answered 500 like any other; the edge's
            // CORSMiddleware lets the page read that answer too.
            guard let problem = Problem.from(error) else { throw error }
            response = try problem.response(from: request, context: context)
        }
        response.headers[.accessControlAllowOrigin] = request.headers[.origin]
        response.headers[.accessControlExposeHeaders] = CORSMiddleware.exposedHeaders
        response.headers[.vary] = "Origin"
        return response
    }

    static func id(_ name: String, _ context: AppRequestContext) throws(Problem) -> UUID {
        guard let id = context.parameters.get(name).flatMap(UUID.init(uuidString:)) else { throw Problem.notFound }
        return id
    }
}
