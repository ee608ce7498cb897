import Foundation
import Kernel

/// A member of staff reading or exporting someone's personal data: who, when, what, and why. People
/// see these on their data page and in their export (GDPR Art. 15(1)(c): to whom their data has been
/// disclosed).
public struct StaffAccess: Sendable, Equatable {
    /// Why staff looked: the data-subject request it fulfils, or a reason they gave.
    public enum Purpose: Sendable, Equatable {
        case request(UUID)
        case reason(String)
    }

    public enum Action: String, Sendable, CaseIterable {
        case consentState = "consents.read"
        case consentHistory = "consents.history"
        case receipt = "receipt.read"
        case sessions = "sessions.read"
        case export = "export"
    }

    public var id: UUID
    public var subject: String
    public var staff: UUID
    public var action: Action
    public var purpose: Purpose
    public var at: Date

    public init(id: UUID = UUID(), subject: String, staff: UUID, action: Action, purpose: Purpose, at: Date) {
        self.id = id
        self.subject = subject
        self.staff = staff
        self.action = action
        self.purpose = purpose
        self.at = at
    }
}

extension PrivacyService {
    /// Records staff access to `subject`'s data, durably, before the data is shown. A request must be
    /// this subject's; a reason must say something.
    public func recordStaffAccess(
        _ action: StaffAccess.Action, to subject: String, by staff: UUID, request: UUID?, reason: String?
    ) async throws -> StaffAccess {
        let purpose: StaffAccess.Purpose
        if let request {
            guard let found = try await repository.request(id: request), found.subjectID.lowercasedString == subject
            else { throw PrivacyError.invalid("request: not a request of this subject") }
            purpose = .request(found.id)
        } else if let reason, !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            try Self.checkReason(reason, field: "reason")
            purpose = .reason(reason.trimmingCharacters(in: .whitespacesAndNewlines))
        } else {
            throw PrivacyError.invalid(
                "staff reading a person's data must say why: the request it fulfils (request=<id>) or a reason (reason=…)"
            )
        }
        let access = StaffAccess(subject: subject, staff: staff, action: action, purpose: purpose, at: now())
        try await repository.recordAccess(access)
        return access
    }

    /// The staff accesses to `subject`'s data, newest first.
    public func staffAccesses(to subject: String, limit: Int = 500) async throws -> [StaffAccess] {
        try await repository.accesses(subject: subject, limit: limit)
    }
}
