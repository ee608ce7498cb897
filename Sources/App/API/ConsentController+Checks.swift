import Consent
import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Kernel
import PQCrypto
import Services

/// Consent checks for the services that use data: one subject and purpose, or many at once. Every
/// answer carries an entity tag and honours `If-None-Match`, so a backend may keep answers and ask
/// again cheaply; `no-cache` makes it ask before each use, so a withdrawal is never missed.
extension ConsentController {
    struct CheckOutput: Codable {
        var subjectId: String
        var purpose: String
        /// Whether the data may be used for the purpose now: granted under the notice in effect, and the
        /// subject neither restricted nor erased.
        var allowed: Bool
        /// `erased`, `restricted` (GDPR Art. 18), or as on the state route: `granted`, `withdrawn`,
        /// `needs_reconsent` or `unset`.
        var status: String
        var noticeVersion: Int?
        var currentNoticeVersion: Int
        var eventId: String?
        var recordedAt: String?

        init(subject: SubjectID, _ answer: ConsentChecks.Answer) {
            let output = PurposeStateOutput(answer.state)
            subjectId = subject.rawValue
            purpose = output.purpose
            allowed = answer.allowed
            status = answer.erased ? "erased" : answer.restricted ? "restricted" : output.status
            noticeVersion = output.noticeVersion
            currentNoticeVersion = output.currentNoticeVersion
            eventId = output.eventId
            recordedAt = output.recordedAt
        }
    }

    struct ChecksOutput: Codable {
        var checks: [CheckOutput]
    }

    @Sendable func check(_ request: Request, context: AppRequestContext) async throws -> Response {
        let subject = try subjectID(context)
        let purpose = try PurposeID(validating: context.parameters.get("purpose") ?? "")
        let states = try await standing(of: [subject], on: [purpose], request, context: context)
        return try Self.cacheable(CheckOutput(subject: subject, states[0][0]), request)
    }

    /// `GET /v1/consent-checks?subjects=a,b&purposes=x,y`: every subject on every purpose, subject by
    /// subject in the order asked.
    @Sendable func checks(_ request: Request, context: AppRequestContext) async throws -> Response {
        func list(_ name: String) -> [String] {
            (request.uri.queryParameters[name[...]].map(String.init) ?? "").split(separator: ",").map(String.init)
        }
        let subjects = try list("subjects").map(SubjectID.init(validating:))
        let purposes = try list("purposes").map(PurposeID.init(validating:))
        let states = try await standing(of: subjects, on: purposes, request, context: context)
        let outputs = zip(subjects, states).flatMap { subject, states in
            states.map { CheckOutput(subject: subject, $0) }
        }
        return try Self.cacheable(ChecksOutput(checks: outputs), request)
    }

    /// A person may check their own consent; staff and machine clients with `consent:read` anyone's.
    /// Staff reading someone else's is audited as every staff read is, once the question is known to be
    /// a valid one. A machine client's check is the question its purpose limitation requires it to ask,
    /// and is not a staff access.
    private func standing(
        of subjects: [SubjectID], on purposes: [PurposeID], _ request: Request, context: AppRequestContext
    ) async throws -> [[ConsentChecks.Answer]] {
        let principal = try context.requireUser()
        for subject in subjects { _ = try context.requireAccess(to: subject, writing: false) }
        let answers = try await checks.answers(for: subjects, on: purposes)
        if !principal.isMachine {
            for subject in subjects {
                try await context.recordStaffRead(of: subject.rawValue, .consentState, request, privacy: privacy)
            }
        }
        return answers
    }

    /// The answer, or `304 Not Modified` when the caller already holds it.
    private static func cacheable(_ output: some Encodable, _ request: Request) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = try encoder.encode(output)
        let tag = "\"" + Base64URL.encode(Data(SHA256.hash(data: body).prefix(18))) + "\""
        var headers: HTTPFields = [
            .eTag: tag, .cacheControl: "private, no-cache", .vary: "Authorization, DPoP",
        ]
        if let held = request.headers[.ifNoneMatch], EntityTags.match(held, tag) {
            return Response(status: .notModified, headers: headers)
        }
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

/// RFC 9110 §13.1.2: `If-None-Match` is a list of entity tags, or `*`, compared weakly.
enum EntityTags {
    static func match(_ header: String, _ tag: String) -> Bool {
        let own = weak(tag)
        return header.split(separator: ",").contains { candidate in
            let trimmed = candidate.trimmingCharacters(in: .whitespaces)
            return trimmed == "*" || weak(trimmed) == own
        }
    }

    private static func weak(_ tag: some StringProtocol) -> Substring {
        tag.hasPrefix("W/") ? Substring(tag).dropFirst(2) : Substring(tag)
    }
}
