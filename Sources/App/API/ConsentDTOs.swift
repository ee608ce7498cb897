import Consent
import Foundation
import Hummingbird
import Kernel
import NIOCore
import PQCrypto

struct DecisionInput: Decodable {
    var request: DecisionRequest

    enum CodingKeys: String, CodingKey { case purpose, decision, noticeVersion, method, clientTimestamp }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let purpose = try container.decode(.purpose) { try PurposeID(validating: $0) }
        let decision = try container.decode(.decision) { text in
            guard let decision = Decision(rawValue: text) else { throw FieldError("must be 'granted' or 'withdrawn'") }
            return decision
        }
        let method = try container.decodeIfPresent(.method) { text -> ConsentMethod in
            guard let method = ConsentMethod(rawValue: text), method != .gpc else {
                throw FieldError("must be 'explicit', 'api' or 'import'; GPC is read from the Sec-GPC header")
            }
            return method
        }
        let noticeVersion = try container.decodeIfPresent(Int.self, forKey: .noticeVersion)
        if let noticeVersion, noticeVersion < 1 {
            throw DecodingError.dataCorruptedError(
                forKey: .noticeVersion, in: container, debugDescription: "must be at least 1")
        }
        request = DecisionRequest(
            purposeID: purpose, decision: decision, noticeVersion: noticeVersion, method: method ?? .api,
            clientTimestamp: try container.decodeTimestampIfPresent(.clientTimestamp))
    }
}

struct BatchInput: Decodable {
    var decisions: [DecisionInput]

    enum CodingKeys: String, CodingKey { case decisions }

    init(from decoder: any Decoder) throws {
        try decoder.rejectUnknownKeys(CodingKeys.self)
        decisions = try decoder.container(keyedBy: CodingKeys.self).decode([DecisionInput].self, forKey: .decisions)
    }
}

struct ConsentEventOutput: Codable, Equatable {
    var id: String
    var subjectId: String
    var purpose: String
    var decision: String
    var noticeVersion: Int
    var method: String
    var sourceIp: String?
    var userAgent: String?
    var recordedAt: String
    var clientTimestamp: String?
    /// The event's place in the tamper-evident ledger.
    var ledgerSequence: Int64?
    /// Where the signed receipt of this decision is fetched.
    var receipt: String?

    init(_ event: ConsentEvent) {
        id = event.id.lowercasedString
        subjectId = event.subjectID.rawValue
        purpose = event.purposeID.rawValue
        decision = event.decision.rawValue
        noticeVersion = event.noticeVersion
        method = event.method.rawValue
        sourceIp = event.sourceIP
        userAgent = event.userAgent
        recordedAt = RFC3339.string(from: event.recordedAt)
        clientTimestamp = event.clientTimestamp.map(RFC3339.string(from:))
        ledgerSequence = event.ledgerSequence
        receipt = event.ledgerSequence == nil ? nil : "/v1/consent-receipts/" + id
    }
}

struct EventsOutput: ResponseGenerator {
    var events: [ConsentEventOutput]

    /// The same JSON `JSONEncoder` would write (sorted keys, absent optionals omitted), built by hand
    /// because this is the answer to every consent write.
    func response(from request: Request, context: some RequestContext) throws -> Response {
        var json: [UInt8] = []
        json.reserveCapacity(280 * events.count + 16)
        appendJSON(to: &json)
        return Response(
            status: .ok, headers: [.contentType: "application/json; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }

    func appendJSON(to json: inout [UInt8]) {
        json.append(contentsOf: #"{"events":["#.utf8)
        for (index, event) in events.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            json.append(UInt8(ascii: "{"))
            var first = true
            func member(_ key: String, _ value: String?) {
                guard let value else { return }
                JSONText.appendMember(key, first: first, to: &json)
                JSONText.appendString(value, to: &json)
                first = false
            }
            member("clientTimestamp", event.clientTimestamp)
            member("decision", event.decision)
            member("id", event.id)
            if let sequence = event.ledgerSequence {
                JSONText.appendMember("ledgerSequence", to: &json)
                json.append(contentsOf: String(sequence).utf8)
            }
            member("method", event.method)
            JSONText.appendMember("noticeVersion", to: &json)
            json.append(contentsOf: String(event.noticeVersion).utf8)
            member("purpose", event.purpose)
            member("receipt", event.receipt)
            member("recordedAt", event.recordedAt)
            member("sourceIp", event.sourceIp)
            member("subjectId", event.subjectId)
            member("userAgent", event.userAgent)
            json.append(UInt8(ascii: "}"))
        }
        json.append(contentsOf: "]}".utf8)
    }
}

struct PurposeStateOutput: Codable {
    var purpose: String
    /// `granted`, `withdrawn`, `needs_reconsent` (granted under an older notice) or `unset`.
    var status: String
    var decision: String?
    var noticeVersion: Int?
    var currentNoticeVersion: Int
    var needsReconsent: Bool
    var method: String?
    var recordedAt: String?
    var eventId: String?

    init(_ state: PurposeState) {
        purpose = state.purposeID.rawValue
        status = state.needsReconsent ? "needs_reconsent" : state.latest?.decision.rawValue ?? "unset"
        decision = state.latest?.decision.rawValue
        noticeVersion = state.latest?.noticeVersion
        currentNoticeVersion = state.currentNoticeVersion
        needsReconsent = state.needsReconsent
        method = state.latest?.method.rawValue
        recordedAt = state.latest.map { RFC3339.string(from: $0.recordedAt) }
        eventId = state.latest?.id.lowercasedString
    }
}

struct StateOutput: ResponseCodable {
    var subjectId: String
    var purposes: [PurposeStateOutput]
}

struct HistoryOutput: ResponseCodable {
    var events: [ConsentEventOutput]
    var nextCursor: String?
}

/// History cursors are opaque to clients, so the encoding can change without breaking them.
enum CursorCoding {
    static func encode(_ cursor: HistoryCursor) -> String {
        Data("s:\(cursor.sequence)".utf8).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decode(_ text: String) throws(Problem) -> HistoryCursor {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard text.count <= 64, let data = Data(base64Encoded: base64), let plain = String(data: data, encoding: .utf8),
            plain.hasPrefix("s:"), let sequence = Int64(plain.dropFirst(2)), sequence > 0
        else { throw Problem.invalid("cursor: is not a cursor this server issued") }
        return HistoryCursor(sequence: sequence)
    }
}
