public import Foundation
public import Outbox

/// Where the mail about a person's requests goes (GDPR Art. 12(3) and (4): they are told of an
/// extension, the outcome, and why a request was refused): their account's address and language, and
/// the portal page that lists their requests. Identity lives in another target; the services layer
/// supplies the look-up.
public struct RequestNotices: Sendable {
    public typealias Address = (recipient: String, locale: String?)
    let address: @Sendable (UUID) async throws -> Address?
    let requestsPage: String

    public init(requestsPage: String, address: @escaping @Sendable (UUID) async throws -> Address?) {
        self.address = address
        self.requestsPage = requestsPage
    }

    /// The message about `request`, or none when its subject has no account to mail. `erased` is the
    /// address an erasure destroyed, read before it: the message is then sealed under a key of its own,
    /// since the person's are gone, and links to no page, since their account is too.
    func mail(
        _ template: MailTemplateName, about request: DataSubjectRequest, reason: String? = nil, at date: Date,
        erased: Address? = nil
    ) async throws -> [OutboundMail] {
        let found = try await erased == nil ? address(request.subjectID) : erased
        guard let address = found else { return [] }
        var values = [
            "kind_\(request.kind.rawValue)": "yes", "received": Self.day(request.receivedAt),
            "due": Self.day(request.dueAt),
        ]
        values["link"] = erased == nil ? requestsPage : nil
        values["reason"] = reason
        let sealedFor = erased == nil ? request.subjectID.uuidString.lowercased() : Self.erasureNoticeSubject(request)
        return [
            OutboundMail(
                subject: sealedFor, template: template, locale: address.locale, recipient: address.recipient,
                values: values, createdAt: date)
        ]
    }

    /// The key subject a notice of erasure is sealed for: never the erased person's.
    public static func erasureNoticeSubject(_ request: DataSubjectRequest) -> String {
        "erasure-notice:" + request.id.uuidString.lowercased()
    }

    /// A day as ISO 8601 (`2026-12-06`), which reads the same in every language.
    static func day(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day())
    }
}
