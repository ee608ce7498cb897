import Consent
import Foundation
import Hummingbird
import Kernel

/// The purpose catalog. Reading it is public (it is the privacy notice); changing it is for admins.
struct PurposeController {
    let service: ConsentService

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("/v1/purposes", use: list)
        routes.post("/v1/purposes", use: create)
        routes.get("/v1/purposes/:purposeId", use: show)
        routes.patch("/v1/purposes/:purposeId", use: update)
        routes.post("/v1/purposes/:purposeId/notices", use: publishNotice)
        return routes
    }

    struct NoticeOutput: Codable {
        var version: Int
        var text: String?
        var url: String?
        var effectiveAt: String

        init(_ notice: Notice) {
            version = notice.version
            text = notice.text
            url = notice.url
            effectiveAt = RFC3339.string(from: notice.effectiveAt)
        }
    }

    struct PurposeOutput: ResponseCodable {
        var id: String
        var title: String
        var description: String
        var saleOrSharing: Bool
        var lawfulBasis: String
        var currentNotice: NoticeOutput
        var notices: [NoticeOutput]

        init(_ purpose: Purpose, at date: Date = Date()) {
            id = purpose.id.rawValue
            title = purpose.title
            description = purpose.description
            saleOrSharing = purpose.isSaleOrSharing
            lawfulBasis = purpose.lawfulBasis.rawValue
            currentNotice = NoticeOutput(purpose.currentNotice(at: date))
            notices = purpose.notices.map(NoticeOutput.init)
        }
    }

    struct PurposeList: ResponseCodable {
        var purposes: [PurposeOutput]
    }

    struct NoticeInput: Decodable {
        var text: String?
        var url: String?
        var effectiveAt: Date?

        enum CodingKeys: String, CodingKey { case text, url, effectiveAt }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            text = try container.decodeIfPresent(String.self, forKey: .text)
            url = try container.decodeIfPresent(String.self, forKey: .url)
            effectiveAt = try container.decodeTimestampIfPresent(.effectiveAt)
        }
    }

    struct CreateInput: Decodable {
        var draft: PurposeDraft

        enum CodingKeys: String, CodingKey { case id, title, description, saleOrSharing, lawfulBasis, notice }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            let notice = try container.decode(NoticeInput.self, forKey: .notice)
            draft = PurposeDraft(
                id: try container.decode(.id) { try PurposeID(validating: $0) },
                title: try container.decode(String.self, forKey: .title),
                description: try container.decodeIfPresent(String.self, forKey: .description) ?? "",
                isSaleOrSharing: try container.decodeIfPresent(Bool.self, forKey: .saleOrSharing) ?? false,
                lawfulBasis: try container.decodeIfPresent(.lawfulBasis, as: LawfulBasis.parse) ?? .consent,
                noticeText: notice.text, noticeURL: notice.url, effectiveAt: notice.effectiveAt)
        }
    }

    struct UpdateInput: Decodable {
        var title: String?
        var description: String?
        var saleOrSharing: Bool?
        var lawfulBasis: LawfulBasis?

        enum CodingKeys: String, CodingKey { case title, description, saleOrSharing, lawfulBasis }

        init(from decoder: any Decoder) throws {
            try decoder.rejectUnknownKeys(CodingKeys.self)
            let container = try decoder.container(keyedBy: CodingKeys.self)
            title = try container.decodeIfPresent(String.self, forKey: .title)
            description = try container.decodeIfPresent(String.self, forKey: .description)
            saleOrSharing = try container.decodeIfPresent(Bool.self, forKey: .saleOrSharing)
            lawfulBasis = try container.decodeIfPresent(.lawfulBasis, as: LawfulBasis.parse)
        }
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> PurposeList {
        PurposeList(purposes: try await service.purposes().map { PurposeOutput($0) })
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> PurposeOutput {
        PurposeOutput(try await service.purpose(try purposeID(context)))
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        _ = try context.requireAdmin()
        let input = try await request.decodeJSON(CreateInput.self, context: context).value
        let purpose = try await service.createPurpose(input.draft)
        return try created(purpose, request, context)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> PurposeOutput {
        var request = request
        _ = try context.requireAdmin()
        let id = try purposeID(context)
        let input = try await request.decodeJSON(UpdateInput.self, context: context).value
        return PurposeOutput(
            try await service.updatePurpose(
                id, title: input.title, description: input.description, isSaleOrSharing: input.saleOrSharing,
                lawfulBasis: input.lawfulBasis))
    }

    @Sendable func publishNotice(_ request: Request, context: AppRequestContext) async throws -> Response {
        var request = request
        _ = try context.requireAdmin()
        let id = try purposeID(context)
        let input = try await request.decodeJSON(NoticeInput.self, context: context).value
        let purpose = try await service.publishNotice(
            for: id, text: input.text, url: input.url, effectiveAt: input.effectiveAt)
        return try created(purpose, request, context)
    }

    /// 201 with the purpose and where it lives.
    private func created(_ purpose: Purpose, _ request: Request, _ context: AppRequestContext) throws -> Response {
        var response = try PurposeOutput(purpose).response(from: request, context: context)
        response.status = .created
        response.headers[.location] = "/v1/purposes/\(purpose.id.rawValue)"
        return response
    }

    private func purposeID(_ context: AppRequestContext) throws -> PurposeID {
        try PurposeID(validating: context.parameters.get("purposeId") ?? "")
    }
}

extension LawfulBasis {
    static func parse(_ text: String) throws -> LawfulBasis {
        guard let basis = LawfulBasis(rawValue: text) else {
            throw FieldError("must be one of " + allCases.map(\.rawValue).joined(separator: ", "))
        }
        return basis
    }
}
