import Foundation
import Hummingbird
import NIOCore
import Services

extension Response {
    /// The signed receipt of the decision the path's `eventId` names, as `application/jose` (a compact
    /// JWS): the owner of the decision's subject (or of the website visitor it was taken over from) and
    /// staff may fetch it; anyone else meets 404.
    static func receipt(services: QSPPServices, request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        var ownVisitor = false
        guard let id = context.parameters.get("eventId").flatMap({ UUID(uuidString: $0) }),
            let signed = try await services.receipts.signedReceipt(
                of: id,
                authorize: { owner in
                    ownVisitor = try await services.properties.hasTakenOver(owner, account: user.userID)
                    if !ownVisitor { _ = try context.requireAccess(to: owner, writing: false) }
                })
        else { throw Problem.notFound }
        if !ownVisitor {
            try await context.recordStaffRead(of: signed.receipt.sub, .receipt, request, privacy: services.privacy)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: "application/jose",
                .contentDisposition: "attachment; filename=\"consent-receipt-\(signed.receipt.jti).jws\"",
            ],
            body: .init(byteBuffer: ByteBuffer(string: signed.jws)))
    }
}
