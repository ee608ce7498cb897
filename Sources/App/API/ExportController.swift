import Consent
import Foundation
import Hummingbird
import Kernel
import NIOCore
import PQCrypto
import Privacy
import Services

/// Right of access and portability (GDPR Art. 15 and 20, CCPA right to know): the person's
/// ``ExportArchive``, streamed from disk so memory stays flat.
struct ExportController {
    let services: QSPPServices

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("/v1/me/export", use: exportOwn)
        routes.post("/v1/me/export", use: exportOwnEncrypted)
        routes.get("/v1/subjects/:subjectId/export", use: exportForStaff)
        return routes
    }

    struct EncryptedExportInput: Decodable {
        struct Recipient: Decodable {
            /// `X-Wing` or `ML-KEM-768`.
            var kem: String
            /// The raw public key, base64url.
            var publicKey: String
        }
        var recipient: Recipient
    }

    @Sendable func exportOwn(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        try await services.identity.requireConfirmedEmail(user.userID)
        return try await export(user.userID, encryptTo: nil)
    }

    @Sendable func exportOwnEncrypted(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        try await services.identity.requireConfirmedEmail(user.userID)
        var request = request
        let input = try await request.decodeJSON(EncryptedExportInput.self, context: context).value
        guard let recipient = ExportEnvelope.Recipient(rawValue: input.recipient.kem) else {
            throw Problem.invalid("recipient.kem: must be 'X-Wing' or 'ML-KEM-768'")
        }
        guard let key = Base64URL.decode(input.recipient.publicKey) else {
            throw Problem.invalid("recipient.publicKey: must be base64url")
        }
        do {
            try ExportEnvelope.validate(key, for: recipient)
        } catch {
            throw Problem.invalid("recipient.publicKey: \(error)")
        }
        return try await export(user.userID, encryptTo: (recipient, key))
    }

    /// Staff export on a person's behalf (an access, portability or know request being fulfilled).
    @Sendable func exportForStaff(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireStaff()
        guard let subject = context.parameters.get("subjectId").flatMap({ UUID(uuidString: $0) }) else {
            throw Problem.notFound
        }
        try await context.recordStaffRead(of: subject.lowercasedString, .export, request, privacy: services.privacy)
        return try await export(subject, encryptTo: nil)
    }

    func export(
        _ userID: UUID, encryptTo recipient: (ExportEnvelope.Recipient, Data)?
    ) async throws -> Response {
        try Response.download(try await services.exports.archive(of: userID, encryptTo: recipient))
    }
}
