import Consent
public import Foundation
import Identity
import Kernel
import PQCrypto
import Privacy
public import Storage
import Valuation

/// Right of access and portability (GDPR Art. 15 and 20, CCPA right to know): everything held about a
/// person, as JSON and CSV. ``ExportArchive`` packs it into one ZIP, optionally encrypted.
public struct PersonalDataExport: Sendable {
    let store: any Store

    public init(store: any Store) {
        self.store = store
    }

    /// Writes, page by page, everything the store holds about one person into files of a directory:
    /// each dataset as JSON (an array, or JSON lines for the long ones) and as CSV. Memory stays flat
    /// however long the history: rows go to disk as they are read. Returns the files written, by name.
    public func writeExport(of userID: UUID, into directory: URL, at date: Date = Date()) async throws -> [String] {
        let subject = userID.lowercasedString
        let identity = store.identity
        let consents = store.consents
        let privacy = store.privacy
        let valuation = store.valuation
        var files: [String] = []

        let account = try await identity.account(id: userID)
        try writeJSON(
            ExportProfile(
                id: subject, email: account?.email.normalized, roles: account.map { $0.roles.map(\.rawValue).sorted() },
                createdAt: account.map { RFC3339.string(from: $0.createdAt) }, mfaEnabled: account?.mfaEnabled),
            to: directory.appendingPathComponent("profile.json"))
        files.append("profile.json")

        files += try await writeTable(
            "consent-events", in: directory,
            columns: [
                "id", "purpose", "decision", "noticeVersion", "method", "recordedAt", "clientTimestamp", "sourceIp",
                "userAgent", "ledgerSequence",
            ]
        ) { emit in
            try await Self.forEachDecision(of: subject, in: consents) { event in
                try emit([
                    event.id.lowercasedString, event.purposeID.rawValue, event.decision.rawValue,
                    String(event.noticeVersion), event.method.rawValue, RFC3339.string(from: event.recordedAt),
                    event.clientTimestamp.map(RFC3339.string(from:)), event.sourceIP, event.userAgent,
                    event.ledgerSequence.map(String.init),
                ])
            }
        }

        // Decisions made on the organisation's websites before signing in, by visitors the account took over.
        files += try await writeTable(
            "website-consent-events", in: directory,
            columns: [
                "visitorId", "id", "purpose", "decision", "noticeVersion", "method", "recordedAt", "sourceIp",
                "userAgent", "ledgerSequence",
            ]
        ) { emit in
            for link in try await store.properties.visitors(linkedTo: userID) {
                try await Self.forEachDecision(of: VisitorLink.subject(link.visitor), in: consents) { event in
                    try emit([
                        link.visitor.lowercasedString, event.id.lowercasedString, event.purposeID.rawValue,
                        event.decision.rawValue, String(event.noticeVersion), event.method.rawValue,
                        RFC3339.string(from: event.recordedAt), event.sourceIP, event.userAgent,
                        event.ledgerSequence.map(String.init),
                    ])
                }
            }
        }

        files += try await writeTable(
            "sessions", in: directory,
            columns: ["id", "createdAt", "lastUsedAt", "revokedAt", "ipAddress", "userAgent", "rememberMe", "methods"]
        ) { emit in
            for session in try await identity.sessions(userID: userID) {
                try emit([
                    session.id.lowercasedString, RFC3339.string(from: session.createdAt),
                    RFC3339.string(from: session.lastUsedAt), session.revokedAt.map(RFC3339.string(from:)),
                    session.client.ipAddress, session.client.userAgent, String(session.rememberMe),
                    session.authenticationMethods.joined(separator: " "),
                ])
            }
        }

        files += try await writeTable(
            "passkeys", in: directory,
            columns: ["id", "name", "algorithm", "synced", "attestation", "createdAt", "lastUsedAt"]
        ) { emit in
            for passkey in try await identity.passkeys(userID: userID) {
                try emit([
                    Base64URL.encode(passkey.id), passkey.name, String(passkey.algorithm), String(passkey.backedUp),
                    passkey.attestation, RFC3339.string(from: passkey.createdAt),
                    passkey.lastUsedAt.map(RFC3339.string(from:)),
                ])
            }
        }

        files += try await writeTable(
            "auth-events", in: directory,
            columns: ["id", "kind", "occurredAt", "sessionId", "ipAddress", "userAgent", "details"]
        ) { emit in
            var after: Int64 = 0
            while true {
                let page = try await identity.authEvents(userID: userID, after: after, limit: Self.exportPage)
                for (_, event) in page {
                    let details = try JSONSerialization.data(withJSONObject: event.details, options: [.sortedKeys])
                    try emit([
                        event.id.lowercasedString, event.kind.rawValue, RFC3339.string(from: event.occurredAt),
                        event.sessionID?.lowercasedString, event.client.ipAddress, event.client.userAgent,
                        String(decoding: details, as: UTF8.self),
                    ])
                }
                guard let last = page.last?.sequence, page.count == Self.exportPage else { break }
                after = last
            }
        }

        files += try await writeTable(
            "requests", in: directory,
            columns: ["id", "kind", "status", "receivedAt", "dueAt", "changedAt", "from", "to", "reason"]
        ) { emit in
            for request in try await privacy.requests(subjectID: userID) {
                for event in try await privacy.events(requestID: request.id) {
                    try emit([
                        request.id.lowercasedString, request.kind.rawValue, request.status.rawValue,
                        RFC3339.string(from: request.receivedAt), RFC3339.string(from: request.dueAt),
                        RFC3339.string(from: event.at),
                        event.from?.rawValue, event.to.rawValue, event.reason,
                    ])
                }
            }
        }

        // GDPR Art. 15(1)(c): who at the organisation read or exported this person's data, and why.
        files += try await writeTable(
            "staff-access", in: directory, columns: ["id", "occurredAt", "staffId", "action", "requestId", "reason"]
        ) { emit in
            for access in try await privacy.accesses(subject: subject, limit: Int.max) {
                let (request, reason): (String?, String?) =
                    switch access.purpose {
                    case .request(let id): (id.lowercasedString, nil)
                    case .reason(let text): (nil, text)
                    }
                try emit([
                    access.id.lowercasedString, RFC3339.string(from: access.at), access.staff.lowercasedString,
                    access.action.rawValue, request, reason,
                ])
            }
        }

        files += try await writeTable(
            "data-records", in: directory,
            columns: ["id", "category", "purpose", "recordedAt", "createdAt", "source", "label", "attributes"]
        ) { emit in
            for (header, content) in try await valuation.records(subjectID: subject) {
                let attributes = try content.map {
                    String(decoding: try Self.sortedEncoder.encode($0.attributes), as: UTF8.self)
                }
                try emit([
                    header.id.lowercasedString, header.category, header.purposeID,
                    RFC3339.string(from: header.recordedAt),
                    RFC3339.string(from: header.createdAt), content?.source, content?.label, attributes,
                ])
            }
        }

        files += try await writeTable(
            "valuations", in: directory,
            columns: ["jobId", "taskId", "finishedAt", "method", "recordId", "value", "standardError", "excluded"]
        ) { emit in
            for (job, values) in try await valuation.latestValues(subjectID: subject) {
                for value in values {
                    try emit([
                        job.id.lowercasedString, job.taskID.lowercasedString, job.finishedAt.map(RFC3339.string(from:)),
                        job.summary?.method.name.rawValue, value.recordID.lowercasedString, value.value.map { "\($0)" },
                        value.standardError.map { "\($0)" }, value.excluded?.rawValue,
                    ])
                }
            }
        }

        // What downstream systems returned for the person's access requests; `data` is their JSON.
        files += try await writeTable(
            "downstream-systems", in: directory, columns: ["system", "taskId", "requestId", "answeredAt", "data"]
        ) { emit in
            for answer in try await store.requestTasks.downstreamData(subject: subject) {
                try emit([
                    answer.system, answer.taskID.lowercasedString, answer.requestID.lowercasedString,
                    RFC3339.string(from: answer.settledAt), String(decoding: answer.json, as: UTF8.self),
                ])
            }
        }

        try writeJSON(
            ExportManifest(subject: subject, generatedAt: RFC3339.string(from: date), files: files),
            to: directory.appendingPathComponent("manifest.json"))
        return files + ["manifest.json"]
    }

    private static var exportPage: Int { 1000 }

    /// Every decision recorded for `subject`, page by page, newest first.
    private static func forEachDecision(
        of subject: String, in consents: any ConsentRepository, _ body: (ConsentEvent) throws -> Void
    ) async throws {
        let subjectID = try SubjectID(validating: subject)
        var cursor: HistoryCursor?
        repeat {
            let page = try await consents.history(subjectID: subjectID, after: cursor, limit: 500)
            for event in page.events { try body(event) }
            cursor = page.next
        } while cursor != nil
    }

    private static var sortedEncoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return encoder
    }

    /// Writes `name.csv` and `name.jsonl` (one JSON object per line) side by side as rows arrive.
    private func writeTable(
        _ name: String, in directory: URL, columns: [String],
        rows: (_ emit: ([String?]) throws -> Void) async throws -> Void
    ) async throws -> [String] {
        let csv = try ExportFile(directory.appendingPathComponent(name + ".csv"))
        let jsonLines = try ExportFile(directory.appendingPathComponent(name + ".jsonl"))
        defer {
            csv.close()
            jsonLines.close()
        }
        try csv.write(columns.map(ExportFile.csvField).joined(separator: ",") + "\r\n")
        try await rows { values in
            try csv.write(values.map { ExportFile.csvField($0 ?? "") }.joined(separator: ",") + "\r\n")
            var object: [String: String] = [:]
            for (column, value) in zip(columns, values) { object[column] = value }
            try jsonLines.write(String(decoding: CanonicalJSON.object(object), as: UTF8.self) + "\n")
        }
        try csv.flush()
        try jsonLines.flush()
        return [name + ".csv", name + ".jsonl"]
    }

    private func writeJSON(_ value: some Encodable, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        try encoder.encode(value).write(to: url)
    }
}

private struct ExportProfile: Encodable {
    var id: String
    var email: String?
    var roles: [String]?
    var createdAt: String?
    var mfaEnabled: Bool?
}

private struct ExportManifest: Encodable {
    var format = "qspp-export-1"
    var subject: String
    var generatedAt: String
    var files: [String]
    var notes = [
        "Each dataset is in two forms: .csv (RFC 4180) and .jsonl (one JSON object per line).",
        "Times are RFC 3339 in UTC. Addresses and user agents are absent where they were never recorded.",
    ]
}

/// A file written through a 64 KiB buffer.
final class ExportFile {
    private let handle: FileHandle
    private var buffer = Data()

    init(_ url: URL) throws {
        FileManager.default.createFile(atPath: url.path, contents: nil, attributes: [.posixPermissions: 0o600])
        handle = try FileHandle(forWritingTo: url)
        buffer.reserveCapacity(64 * 1024)
    }

    func write(_ text: String) throws {
        buffer.append(contentsOf: text.utf8)
        if buffer.count >= 64 * 1024 { try flush() }
    }

    func flush() throws {
        try handle.write(contentsOf: buffer)
        buffer.removeAll(keepingCapacity: true)
    }

    func close() { try? handle.close() }

    /// RFC 4180: quoted when it holds a comma, quote or line break; quotes doubled. A cell that a
    /// spreadsheet would run as a formula (it begins with `=`, `+`, `-`, `@`, a tab or a carriage
    /// return, and is not a plain number) gets a leading `'`, as OWASP advises: an export holds text
    /// that others typed, such as user agents.
    static func csvField(_ value: String) -> String {
        var value = value
        if let first = value.first, "=+-@\t\r".contains(first), !isPlainNumber(value) { value = "'" + value }
        guard value.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return value }
        return "\"" + value.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// `-12`, `-0.5` or `+3e-4`: what a spreadsheet reads as a number, never as a formula.
    private static func isPlainNumber(_ value: String) -> Bool {
        var rest = Substring(value)
        if let sign = rest.first, sign == "-" || sign == "+" { rest = rest.dropFirst() }
        let mantissa = rest.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        guard mantissa.contains(where: \.isNumber), mantissa.filter({ $0 == "." }).count <= 1 else { return false }
        rest = rest.dropFirst(mantissa.count)
        guard let exponent = rest.first else { return true }
        guard exponent == "e" || exponent == "E" else { return false }
        rest = rest.dropFirst()
        if let sign = rest.first, sign == "-" || sign == "+" { rest = rest.dropFirst() }
        return !rest.isEmpty && rest.allSatisfy { $0.isASCII && $0.isNumber }
    }
}
