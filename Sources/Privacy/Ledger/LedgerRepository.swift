import Foundation

/// Durable storage for the ledger. Entries are appended by the repositories that record what they
/// describe, in the same transaction; this protocol adds reading, checkpoints and stand-alone appends.
public protocol LedgerRepository: Sendable {
    /// Appends records that belong to no other write (a key rotation, say). Returns their sequences.
    func appendLedger(_ records: [LedgerRecord]) async throws -> [Int64]
    /// Entries with a sequence greater than `sequence`, in order.
    func ledgerEntries(after sequence: Int64, limit: Int) async throws -> [LedgerEntry]
    func ledgerHead() async throws -> LedgerHead
    /// The entry recorded for `reference`, if any.
    func ledgerSequence(reference: String) async throws -> Int64?

    /// Stores a checkpoint; a second one for the same size is ignored.
    func insertCheckpoint(_ checkpoint: LedgerCheckpoint) async throws
    /// Every checkpoint, oldest first.
    func checkpoints() async throws -> [LedgerCheckpoint]
    /// The newest `limit` checkpoints, newest first.
    func recentCheckpoints(limit: Int) async throws -> [LedgerCheckpoint]

    /// How far the Merkle tree has integrated the chain.
    func treeHead() async throws -> LedgerTreeHead
    /// Stores `nodes` and moves the tree head from size `from` to `head`, in one transaction. Returns
    /// false, storing nothing, when another process moved the head first.
    func extendTree(from: Int64, to head: LedgerTreeHead, nodes: [(MerkleTree.Node, Data)]) async throws -> Bool
    /// The stored hashes of `nodes`; a node not stored is absent from the answer.
    func treeNodes(_ nodes: Set<MerkleTree.Node>) async throws -> [MerkleTree.Node: Data]
    /// Stores a witness's cosignature line of the checkpoint of `size`; a second for the same witness
    /// and size is ignored.
    func insertCosignature(size: Int64, witness: String, line: String) async throws
    /// The cosignature lines stored for the checkpoint of `size`.
    func cosignatures(size: Int64) async throws -> [String]
    /// The stored leaf hashes of entries `after + 1` through `after + limit`: the one at position `i`
    /// is leaf `after + i`'s, nil when it is not stored, and the answer ends at the last one stored.
    func leafHashes(after sequence: Int64, limit: Int) async throws -> [Data?]
}

/// The tree's progress: its right edge, and the chain entry it has integrated up to, so the next
/// integration can check that the entries it adds continue the chain it already vouched for.
public struct LedgerTreeHead: Sendable, Equatable {
    public var frontier: MerkleFrontier
    public var chain: LedgerHead

    public init(frontier: MerkleFrontier, chain: LedgerHead) {
        self.frontier = frontier
        self.chain = chain
    }

    public static let empty = LedgerTreeHead(frontier: MerkleFrontier(), chain: .empty)
}
