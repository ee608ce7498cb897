import Consent
import Crypto
import Foundation
import Hummingbird
import Privacy
import Services

/// The `/v1` consent ledger: record decisions, read current state and history.
struct ConsentController {
    let service: ConsentService
    let writing: ConsentWriting
    let privacy: PrivacyService
    let checks: ConsentChecks

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.post("/v1/subjects/:subjectId/consents", use: recordOne)
        routes.post("/v1/subjects/:subjectId/consents/batch", use: recordBatch)
        routes.get("/v1/subjects/:subjectId/consents", use: currentState)
        routes.get("/v1/subjects/:subjectId/consents/history", use: history)
        routes.get("/v1/subjects/:subjectId/consents/:purpose", use: check)
        routes.get("/v1/consent-checks", use: checks)
        return routes
    }

    @Sendable func recordOne(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await recordDecisions(request, context: context, as: DecisionInput.self) { [$0.request] }
    }

    @Sendable func recordBatch(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await recordDecisions(request, context: context, as: BatchInput.self) { $0.decisions.map(\.request) }
    }

    private func recordDecisions<Body: Decodable>(
        _ request: Request, context: AppRequestContext, as _: Body.Type, decisions: (Body) -> [DecisionRequest]
    ) async throws -> Response {
        var request = request
        let subject = try subjectID(context)
        let principal = try context.requireAccess(to: subject, writing: true)
        let body = try await request.decodeJSON(Body.self, context: context)
        let outcome = try await record(
            decisions(body.value), for: subject, by: principal, request: request, context: context, body: body.bytes)
        return try created(EventsOutput(events: outcome.events.map(ConsentEventOutput.init)), outcome, request, context)
    }

    @Sendable func currentState(_ request: Request, context: AppRequestContext) async throws -> StateOutput {
        let subject = try subjectID(context)
        _ = try context.requireAccess(to: subject, writing: false)
        try await context.recordStaffRead(of: subject.rawValue, .consentState, request, privacy: privacy)
        let states = try await service.currentState(of: subject)
        return StateOutput(subjectId: subject.rawValue, purposes: states.map(PurposeStateOutput.init))
    }

    @Sendable func history(_ request: Request, context: AppRequestContext) async throws -> HistoryOutput {
        let subject = try subjectID(context)
        _ = try context.requireAccess(to: subject, writing: false)
        let limitText = request.uri.queryParameters["limit"].map(String.init)
        let limit =
            try limitText.map { text throws(Problem) in
                guard let limit = Int(text) else { throw Problem.invalid("limit: must be an integer") }
                return limit
            } ?? 50
        let cursor = try request.uri.queryParameters["cursor"].map { text throws(Problem) in
            try CursorCoding.decode(String(text))
        }
        try await context.recordStaffRead(of: subject.rawValue, .consentHistory, request, privacy: privacy)
        let page = try await service.history(of: subject, after: cursor, limit: limit)
        return HistoryOutput(
            events: page.events.map(ConsentEventOutput.init), nextCursor: page.next.map(CursorCoding.encode))
    }

    func subjectID(_ context: AppRequestContext) throws -> SubjectID {
        try SubjectID(validating: context.parameters.get("subjectId") ?? "")
    }

    /// The write path shared by every consent route, the upstream-compatible one included.
    func record(
        _ decisions: [DecisionRequest], for subject: SubjectID, by principal: Principal, request: Request,
        context: AppRequestContext, body: ByteBuffer
    ) async throws -> AppendOutcome {
        let gpc = request.headers[.secGPC] == "1"
        let claim = try request.headers[.idempotencyKey].map { key throws(Problem) in
            guard (1...255).contains(key.utf8.count), key.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E }) else {
                throw Problem.invalid("Idempotency-Key: must be 1 to 255 visible ASCII characters")
            }
            return IdempotencyClaim(
                scope: principal.idempotencyScope, key: key,
                fingerprint: Self.fingerprint(request: request, body: body, gpc: gpc))
        }
        return try await writing.record(
            decisions, for: subject, actor: principal.subjectID, origin: context.consentOrigin(request), claim: claim)
    }

    private static func fingerprint(request: Request, body: ByteBuffer, gpc: Bool) -> String {
        var hasher = SHA256()
        hasher.update(data: Array("\(request.method.rawValue) \(request.uri.path) gpc=\(gpc)\n".utf8))
        hasher.update(data: Array(body.readableBytesView))
        var hex: [UInt8] = []
        for byte in hasher.finalize() {
            hex += [JSONText.hexDigits[Int(byte >> 4)], JSONText.hexDigits[Int(byte & 0x0F)]]
        }
        return String(decoding: hex, as: UTF8.self)
    }

    func created(
        _ output: some ResponseGenerator, _ outcome: AppendOutcome, _ request: Request, _ context: AppRequestContext
    ) throws -> Response {
        var response = try output.response(from: request, context: context)
        response.status = .created
        if case .replayed = outcome { response.headers[.idempotentReplayed] = "true" }
        return response
    }
}
