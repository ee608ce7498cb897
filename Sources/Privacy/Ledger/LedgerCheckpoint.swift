import Foundation
import PQCrypto

/// A signed statement that the ledger had `size` entries ending in `headHash`. Once published, no
/// rewrite of those entries can go unnoticed, even by someone who can recompute every hash.
public struct LedgerCheckpoint: Sendable, Equatable {
    public var size: Int64
    public var headHash: Data
    public var signedAt: Date
    /// The statement as a compact JWS, checkable with the public JWKS alone.
    public var signature: String
    /// The Merkle tree's root over the same entries, and the C2SP signed note stating it. Nil for
    /// checkpoints signed before the log had a tree.
    public var treeRoot: Data?
    public var note: String?

    public init(
        size: Int64, headHash: Data, signedAt: Date, signature: String, treeRoot: Data? = nil, note: String? = nil
    ) {
        self.size = size
        self.headHash = headHash
        self.signedAt = signedAt
        self.signature = signature
        self.treeRoot = treeRoot
        self.note = note
    }
}

/// The JWS payload of a checkpoint.
public struct CheckpointStatement: Codable, Sendable, Equatable {
    public var iss: String
    public var ledgerSize: Int64
    /// Lower-case hex SHA-256.
    public var ledgerHead: String
    public var iat: Int64

    enum CodingKeys: String, CodingKey {
        case iss, iat
        case ledgerSize = "ledger_size"
        case ledgerHead = "ledger_head"
    }

    public init(issuer: String, head: LedgerHead, at date: Date) {
        self.iss = issuer
        self.ledgerSize = head.size
        self.ledgerHead = Hex.encode(head.hash)
        self.iat = Int64(date.timeIntervalSince1970.rounded(.down))
    }
}

/// Signs and checks checkpoint statements; the App implements it with the token signing keys, so the
/// JWKS that verifies tokens also verifies checkpoints.
public protocol CheckpointSigner: Sendable {
    func sign(_ statement: CheckpointStatement) async throws -> String
    /// A checker for one verification run: the statement of a signature valid under any key ever
    /// published (keys made since this process started, or of another algorithm, included).
    func makeVerifier() async throws -> @Sendable (String) -> CheckpointStatement?
}
