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
        routes.get("/v1/ledger/checkpoint/note", use: latestNote)
        routes.get("/v1/ledger/keys", use: keys)
        routes.get("/v1/ledger/inclusion", use: inclusion)
        routes.get("/v1/ledger/consistency", use: consistency)
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
        /// The Merkle tree's root (base64), and the C2SP signed note that states it.
        var treeRoot: String?
        var note: String?

        init(_ checkpoint: LedgerCheckpoint) {
            size = checkpoint.size
            headHash = Hex.encode(checkpoint.headHash)
            signedAt = RFC3339.string(from: checkpoint.signedAt)
            jws = checkpoint.signature
            treeRoot = checkpoint.treeRoot?.base64EncodedString()
            note = checkpoint.note
        }
    }

    struct KeysOutput: ResponseCodable {
        struct Key: Codable {
            var algorithm: String
            /// `name+id+key`, as Go's `sumdb/note` and C2SP witnesses take it.
            var verifierKey: String
        }
        var origin: String
        var keys: [Key]
    }

    struct ProofOutput: ResponseCodable {
        var from: Int64?
        var sequence: Int64?
        var size: Int64
        /// Base64 SHA-256 hashes, bottom first, as RFC 9162 orders them.
        var proof: [String]
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
        try await Response.receipt(services: services, request: request, context: context)
    }

    @Sendable func latestCheckpoint(_ request: Request, context: AppRequestContext) async throws -> CheckpointOutput {
        guard let checkpoint = try await services.ledger.latestCheckpoint() else { throw Problem.notFound }
        return CheckpointOutput(checkpoint)
    }

    /// The latest checkpoint as a C2SP signed note, for witnesses and log monitors.
    @Sendable func latestNote(_ request: Request, context: AppRequestContext) async throws -> Response {
        guard let checkpoint = try await services.ledger.latestCheckpoint(),
            let note = try await services.ledger.publishedNote(of: checkpoint)
        else { throw Problem.notFound }
        return Response(
            status: .ok, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: note)))
    }

    @Sendable func keys(_ request: Request, context: AppRequestContext) async throws -> KeysOutput {
        let log = services.ledger.log
        return KeysOutput(
            origin: log.origin,
            keys: log.signers.map { signer in
                KeysOutput.Key(
                    algorithm: signer.verifierKey.algorithm == .mldsa65 ? "ML-DSA-65" : "Ed25519",
                    verifierKey: signer.verifierKey.text)
            })
    }

    /// That entry `seq` is in the tree of `size` entries (the latest checkpoint's, by default).
    @Sendable func inclusion(_ request: Request, context: AppRequestContext) async throws -> ProofOutput {
        let sequence = try Self.count(request, "seq", minimum: 1)
        let size = try await Self.sizeOrLatest(request, "size", services: services)
        guard sequence <= size else { throw Problem.invalid("seq must be at most size (\(size))") }
        guard let proof = try await services.ledger.inclusionProof(sequence: sequence, size: size) else {
            throw Self.notIntegrated(size)
        }
        return ProofOutput(sequence: sequence, size: size, proof: proof.map { $0.base64EncodedString() })
    }

    /// That the tree of `to` entries (the latest checkpoint's, by default) extends the tree of `from`.
    @Sendable func consistency(_ request: Request, context: AppRequestContext) async throws -> ProofOutput {
        let from = try Self.count(request, "from", minimum: 0)
        let to = try await Self.sizeOrLatest(request, "to", services: services)
        guard from <= to else { throw Problem.invalid("from must be at most to (\(to))") }
        guard let proof = try await services.ledger.consistencyProof(from: from, to: to) else {
            throw Self.notIntegrated(to)
        }
        return ProofOutput(from: from, size: to, proof: proof.map { $0.base64EncodedString() })
    }

    private static func count(_ request: Request, _ name: String, minimum: Int64) throws(Problem) -> Int64 {
        guard let text = request.uri.queryParameters[name[...]] else {
            throw Problem.invalid("the query parameter \(name) is required")
        }
        guard let value = Int64(String(text)), value >= minimum else {
            throw Problem.invalid("\(name) must be a whole number of at least \(minimum)")
        }
        return value
    }

    private static func sizeOrLatest(
        _ request: Request, _ name: String, services: QSPPServices
    ) async throws -> Int64 {
        if request.uri.queryParameters[name[...]] != nil { return try count(request, name, minimum: 1) }
        guard let latest = try await services.ledger.latestCheckpoint(), latest.treeRoot != nil else {
            throw Problem(.notFound, "no-checkpoint", "No checkpoint yet", detail: "the log has no signed tree yet")
        }
        return latest.size
    }

    private static func notIntegrated(_ size: Int64) -> Problem {
        Problem(
            .notFound, "tree-too-small", "No such tree",
            detail: "the log has not yet integrated \(size) entries")
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
