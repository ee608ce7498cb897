import Foundation
import Hummingbird
import Privacy

extension AppRequestContext {
    /// Records a member of staff reading `subject`'s data, durably and before anything is shown, with
    /// the request it fulfils (`request`) or a reason they give (`reason`), both query parameters; a
    /// read without either is refused with 400. The subject's own reads pass unrecorded. Call it once
    /// the caller's access is established.
    func recordStaffRead(
        of subject: String, _ action: StaffAccess.Action, _ request: Request, privacy: PrivacyService
    ) async throws {
        let principal = try requireUser()
        guard principal.subjectID != subject else { return }
        let query = request.uri.queryParameters
        let requestID = try query["request"].map { text throws(Problem) in
            guard let id = UUID(uuidString: String(text)) else {
                throw Problem.invalid("request: must be a request id")
            }
            return id
        }
        _ = try await privacy.recordStaffAccess(
            action, to: subject, by: principal.userID, request: requestID, reason: query["reason"].map(String.init))
    }
}
