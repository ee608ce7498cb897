import Consent
import Foundation
import Hummingbird
import Kernel
import PQCrypto
import Privacy
import Services

/// What QSPP can prove: signed consent receipts, the ledger's signed checkpoints, and verification of
/// the whole chain.
struct ProofController {
    let services: QSPPServices

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("/v1/consent-receipts/:eventId", use: receipt)
        routes.get("/v1/ledger/checkpoint", use: latestCheckpoint)
        routes.post("/v1/admin/ledger/checkpoints", use: createCheckpoint)
        routes.get("/v1/admin/ledger/verify", use: verify)
        return routes
    }

    struct CheckpointOutput: ResponseCodable {
        var size: Int64
        var headHash: String
        var signedAt: String
        /// The compact JWS (`typ: ledger-checkpoint+jwt`), checkable against `/.well-known/jwks.json`.
        var jws: String

        init(_ checkpoint: LedgerCheckpoint) {
            size = checkpoint.size
            headHash = Hex.encode(checkpoint.headHash)
            signedAt = RFC3339.string(from: checkpoint.signedAt)
            jws = checkpoint.signature
        }
    }

    struct VerificationOutput: ResponseCodable {
        var intact: Bool
        var entries: Int64
        var headHash: String
        var checkpoints: Int
        var latestCheckpoint: CheckpointOutput?
        var firstBadEntry: Int64?
        var problem: String?
        var verifiedAt: String
    }

    /// The signed receipt of one decision, as `application/jose` (a compact JWS): the owner of the
    /// decision's subject and staff may fetch it.
    @Sendable func receipt(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await Response.receipt(services: services, context: context)
    }

    @Sendable func latestCheckpoint(_ request: Request, context: AppRequestContext) async throws -> CheckpointOutput {
        guard let checkpoint = try await services.ledger.latestCheckpoint() else { throw Problem.notFound }
        return CheckpointOutput(checkpoint)
    }

    @Sendable func createCheckpoint(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        guard let checkpoint = try await services.ledger.checkpoint() else {
            throw Problem(.conflict, "ledger-empty", "Nothing to checkpoint", detail: "the ledger has no entries yet")
        }
        return try CheckpointOutput(checkpoint).response(from: request, context: context).with(status: .created)
    }

    @Sendable func verify(_ request: Request, context: AppRequestContext) async throws -> VerificationOutput {
        let user = try context.requireUser()
        guard user.canReadAnySubject else { throw Problem.forbidden }
        let report = try await services.ledger.verify()
        return VerificationOutput(
            intact: report.isIntact, entries: report.entries, headHash: Hex.encode(report.head.hash),
            checkpoints: report.checkpointCount, latestCheckpoint: report.latestCheckpoint.map(CheckpointOutput.init),
            firstBadEntry: report.problem?.sequence, problem: report.problem?.reason,
            verifiedAt: RFC3339.string(from: Date()))
    }
}
