import Crypto
import Foundation
import PQCrypto

/// Where verification found the chain broken: the first bad entry and what is wrong with it.
public struct LedgerProblem: Sendable, Equatable, Codable {
    public var sequence: Int64
    public var reason: String

    public init(sequence: Int64, reason: String) {
        self.sequence = sequence
        self.reason = reason
    }
}

/// An entry and the hashes verification takes of it, which need nothing but the entry itself.
public struct HashedEntry: Sendable {
    public let entry: LedgerEntry
    let contentHashMatches: Bool
    /// Whether the stored entry hash is the one over the entry's own sequence, previous hash and
    /// content hash.
    let entryHashMatches: Bool
    let leafHash: Data

    public init(_ entry: LedgerEntry) {
        self.entry = entry
        contentHashMatches = SHA256.hash(data: entry.content).isStored(entry.contentHash)
        entryHashMatches = LedgerChain.entryDigest(
            sequence: entry.sequence, previous: entry.previousHash, contentHash: entry.contentHash
        ).isStored(entry.entryHash)
        leafHash = entry.leafHash
    }
}

extension SHA256.Digest {
    /// Whether `stored` holds these bytes. The hashes are public, so a plain comparison does: the
    /// constant-time one compared a byte at a time through a generic collection.
    func isStored(_ stored: Data) -> Bool {
        stored.count == Self.byteCount
            && withUnsafeBytes { digest in
                stored.withUnsafeBytes { memcmp(digest.baseAddress!, $0.baseAddress!, Self.byteCount) == 0 }
            }
    }
}

/// Checks entries one by one, in sequence order, holding only the running head: memory stays flat
/// however long the ledger is.
public struct LedgerVerifier: Sendable {
    public private(set) var head: LedgerHead
    public private(set) var problem: LedgerProblem?
    /// The Merkle tree over the entries checked so far.
    public private(set) var tree: MerkleFrontier
    /// Checkpoint sizes and the head hashes their valid signatures vouch for.
    private let checkpoints: [Int64: Data]
    /// Checkpoint sizes and the tree roots their valid signed notes vouch for.
    private let treeRoots: [Int64: Data]

    /// A verifier that starts after `start`: from the beginning unless told otherwise.
    public init(start: LedgerTreeHead = .empty, checkpoints: [Int64: Data], treeRoots: [Int64: Data] = [:]) {
        self.head = start.chain
        self.tree = start.frontier
        self.checkpoints = checkpoints
        self.treeRoots = treeRoots
    }

    /// Returns false once a problem is found; later entries are not looked at. `storedLeaf` is the leaf
    /// hash the log stored when it integrated the entry, if it has.
    @discardableResult
    public mutating func check(_ entry: LedgerEntry, storedLeaf: Data? = nil) -> Bool {
        check(HashedEntry(entry), storedLeaf: storedLeaf)
    }

    /// As ``check(_:storedLeaf:)``, with the hashing done beforehand, perhaps on another core.
    @discardableResult
    public mutating func check(_ hashed: HashedEntry, storedLeaf: Data? = nil) -> Bool {
        guard problem == nil else { return false }
        let entry = hashed.entry
        let expected = head.size + 1
        func fail(_ reason: String) -> Bool {
            problem = LedgerProblem(sequence: expected, reason: reason)
            return false
        }
        guard entry.sequence == expected else {
            return fail(
                entry.sequence > expected
                    ? "entry \(expected) is missing (the next stored entry is \(entry.sequence))"
                    : "entry \(entry.sequence) appears out of order")
        }
        guard hashed.contentHashMatches else {
            return fail("the entry's content does not match its content hash")
        }
        guard entry.previousHash == head.hash else {
            return fail("the entry does not link to entry \(head.size)")
        }
        // The hash was taken over the entry's own sequence and previous hash, just shown to be these.
        guard hashed.entryHashMatches else { return fail("the entry's hash is wrong") }
        if let vouched = checkpoints[expected], vouched != entry.entryHash {
            return fail("the entry differs from the signed checkpoint of size \(expected)")
        }
        if let storedLeaf, storedLeaf != hashed.leafHash {
            return fail("the entry's reference or content differs from what the log integrated")
        }
        tree.append(leafHash: hashed.leafHash)
        if let root = treeRoots[expected], root != tree.root {
            return fail("the tree of the first \(expected) entries differs from the signed checkpoint of that size")
        }
        head = LedgerHead(size: expected, hash: entry.entryHash)
        return true
    }

    /// Checks what only the end can show: entries cut off after a checkpoint, or a head record that
    /// disagrees with the entries.
    public mutating func finish(storedHead: LedgerHead) {
        guard problem == nil else { return }
        let covered = max(checkpoints.keys.max() ?? 0, treeRoots.keys.max() ?? 0)
        if covered > head.size {
            problem = LedgerProblem(
                sequence: head.size + 1,
                reason: "the ledger ends at entry \(head.size), but a signed checkpoint covers \(covered) entries")
        } else if storedHead != head {
            problem = LedgerProblem(
                sequence: min(storedHead.size, head.size) + 1,
                reason: "the head record (size \(storedHead.size)) does not match the entries (size \(head.size))")
        }
    }
}

/// What `qspp ledger verify` and the admin route report.
public struct LedgerReport: Sendable, Equatable {
    public var entries: Int64
    public var head: LedgerHead
    /// The Merkle tree's root over the entries verified.
    public var treeRoot: Data
    public var checkpointCount: Int
    public var latestCheckpoint: LedgerCheckpoint?
    public var problem: LedgerProblem?

    public var isIntact: Bool { problem == nil }
}
