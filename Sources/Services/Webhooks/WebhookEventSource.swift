import Foundation
import Kernel
import Outbox
import Privacy

/// Reads what a ledger entry says happened as the webhook event that reports it, if any, in the
/// Standard Webhooks payload shape (`type`, `timestamp`, `data`). The entry is all it needs but for a
/// request, whose kind and subject are looked up: the ledger keeps identifiers, kinds and times only.
struct WebhookEventSource: Sendable {
    let requests: any PrivacyRepository
    let tasks: any RequestTaskRepository
    /// Where systems post their answers: the public base URL.
    let issuer: String

    /// A value in an event's `data`.
    enum Value: Encodable, Equatable, Sendable {
        case text(String)
        case number(Int64)

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .text(let text): try container.encode(text)
            case .number(let number): try container.encode(number)
            }
        }
    }

    /// An event before it is signed.
    struct Described: Sendable, Equatable {
        let kind: WebhookEventKind
        let orderingKey: String
        let purpose: String?
        let occurredAt: Date
        let data: [String: Value]
        /// The one endpoint that gets it, whatever it subscribed to: a task's system's.
        var endpoint: UUID? = nil
    }

    func describe(_ entry: LedgerEntry) async throws -> Described? {
        let reference = entry.reference
        guard let colon = reference.firstIndex(of: ":"),
            let fields = try? JSONDecoder().decode([String: String].self, from: entry.content)
        else { return nil }
        let id = String(reference[reference.index(after: colon)...])
        switch reference[..<colon] {
        case "consent": return Self.consent(id: id, fields, sequence: entry.sequence)
        case "erasure":
            guard let at = Self.time(fields["erased_at"]) else { return nil }
            return Described(
                kind: .subjectErased, orderingKey: id, purpose: nil, occurredAt: at,
                data: ["subjectId": .text(id), "erasedAt": .text(RFC3339.string(from: at))])
        case "notice":
            guard let purpose = fields["purpose"], let version = fields["version"].flatMap(Int.init),
                let at = Self.time(fields["published_at"]), let effective = Self.time(fields["effective_at"])
            else { return nil }
            return Described(
                kind: .noticePublished, orderingKey: "purpose:" + purpose, purpose: purpose, occurredAt: at,
                data: [
                    "purpose": .text(purpose), "version": .number(Int64(version)),
                    "effectiveAt": .text(RFC3339.string(from: effective)),
                ])
        case "merge":
            guard let account = fields["account"], let at = Self.time(fields["linked_at"]) else { return nil }
            // Ordered with the visitor's decisions, which it follows.
            return Described(
                kind: .subjectMerged, orderingKey: id, purpose: nil, occurredAt: at,
                data: [
                    "subjectId": .text(account), "mergedSubjectId": .text(id),
                    "mergedAt": .text(RFC3339.string(from: at)),
                ])
        case "dsr": return try await request(id: id, fields)
        case "task": return try await task(id: id, fields)
        default: return nil
        }
    }

    private static func consent(id: String, _ fields: [String: String], sequence: Int64) -> Described? {
        guard let subject = fields["subject"], let purpose = fields["purpose"],
            let version = fields["notice_version"].flatMap(Int.init), let at = time(fields["recorded_at"])
        else { return nil }
        let kind: WebhookEventKind
        switch fields["decision"] {
        case "granted": kind = .consentGranted
        case "withdrawn": kind = .consentWithdrawn
        default: return nil
        }
        return Described(
            kind: kind, orderingKey: subject, purpose: purpose, occurredAt: at,
            data: [
                "subjectId": .text(subject), "purpose": .text(purpose), "noticeVersion": .number(Int64(version)),
                "method": .text(fields["method"] ?? ""), "eventId": .text(id),
                "recordedAt": .text(RFC3339.string(from: at)), "receipt": .text("/v1/consent-receipts/" + id),
                "ledgerSequence": .number(Int64(sequence)),
            ])
    }

    /// A request's creation (the transition from nothing) and its completion.
    private func request(id: String, _ fields: [String: String]) async throws -> Described? {
        let kind: WebhookEventKind
        if fields["from"] == nil {
            kind = .requestCreated
        } else if fields["to"] == RequestStatus.completed.rawValue {
            kind = .requestCompleted
        } else {
            return nil
        }
        guard let requestID = UUID(uuidString: id), let at = Self.time(fields["occurred_at"]),
            let request = try await requests.request(id: requestID)
        else { return nil }
        let subject = request.subjectID.lowercasedString
        return Described(
            kind: kind, orderingKey: subject, purpose: nil, occurredAt: at,
            data: [
                "requestId": .text(id), "subjectId": .text(subject), "kind": .text(request.kind.rawValue),
                "status": .text(fields["to"] ?? ""), "dueAt": .text(RFC3339.string(from: request.dueAt)),
            ])
    }

    /// A task for one system: what to do, for whom, by when, and where to answer; or, its state
    /// `cancelled`, that the request was rejected and the system is to stop.
    private func task(id: String, _ fields: [String: String]) async throws -> Described? {
        guard let requestID = fields["request"].flatMap(UUID.init(uuidString:)),
            let systemID = fields["system"].flatMap(UUID.init(uuidString:)), let subject = fields["subject"],
            let action = fields["action"], let at = Self.time(fields["created_at"]),
            let request = try await requests.request(id: requestID),
            let system = try await tasks.system(id: systemID)
        else { return nil }
        let base = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        return Described(
            kind: .requestTask, orderingKey: subject, purpose: nil, occurredAt: at,
            data: [
                "taskId": .text(id), "requestId": .text(requestID.lowercasedString), "subjectId": .text(subject),
                "kind": .text(request.kind.rawValue), "action": .text(action),
                "dueAt": .text(RFC3339.string(from: request.dueAt)), "system": .text(system.name),
                "state": .text(fields["state"] ?? RequestTask.State.open.rawValue),
                "answerUrl": .text(base + "/v1/request-tasks/" + id + "/answer"),
            ],
            endpoint: system.endpointID)
    }

    private static func time(_ text: String?) -> Date? {
        text.flatMap(Int64.init).map { Date(microsecondsSince1970: $0) }
    }
}
