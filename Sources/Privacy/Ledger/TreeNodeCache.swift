import Foundation
import Synchronization

/// The upper nodes of the Merkle tree, kept in memory for serving proofs. A stored node is a complete
/// subtree and never changes, so a cached one is never stale; and a proof is checked against a signed
/// root by whoever fetches it, so a wrong one could not pass. Nodes below `lowestLevel` are left to the
/// database: they are the most numerous, and each proof needs a different few.
final class TreeNodeCache: Sendable {
    static let lowestLevel = 4
    /// Enough for the upper nodes of a tree of a few million entries; a larger one refills as it is read.
    static let capacity = 1 << 18
    private let nodes = Mutex<[MerkleTree.Node: Data]>([:])

    /// The cached ones of `wanted`, and the rest.
    func split(_ wanted: Set<MerkleTree.Node>) -> (found: [MerkleTree.Node: Data], missing: Set<MerkleTree.Node>) {
        nodes.withLock { nodes in
            var found: [MerkleTree.Node: Data] = [:]
            var missing: Set<MerkleTree.Node> = []
            for node in wanted {
                if let hash = nodes[node] { found[node] = hash } else { missing.insert(node) }
            }
            return (found, missing)
        }
    }

    func keep(_ read: [MerkleTree.Node: Data]) {
        nodes.withLock { nodes in
            // Filling up means a tree far larger than planned for: start again rather than grow.
            if nodes.count + read.count > Self.capacity { nodes.removeAll(keepingCapacity: true) }
            for (node, hash) in read where node.level >= Self.lowestLevel { nodes[node] = hash }
        }
    }
}
