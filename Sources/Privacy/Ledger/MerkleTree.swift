import Crypto
import Foundation

/// The ledger as an RFC 9162 Merkle tree (the structure behind Certificate Transparency and Go's
/// checksum database), so a checkpoint commits to every entry and anyone can be shown, in a logarithmic
/// number of hashes, that an entry is in it or that a later tree extends an earlier one.
public enum MerkleTree {
    /// A complete subtree: the `index`-th run of 2^`level` leaves. Only these are stored; every other
    /// subtree hash is folded from them.
    public struct Node: Hashable, Sendable, Comparable {
        public var level: Int
        public var index: Int64

        public init(level: Int, index: Int64) {
            self.level = level
            self.index = index
        }

        public static func < (lhs: Node, rhs: Node) -> Bool {
            (lhs.level, lhs.index) < (rhs.level, rhs.index)
        }
    }

    /// RFC 9162 §2.1.1: SHA-256(0x00 ‖ leaf).
    public static func leafHash(_ leaf: Data) -> Data {
        var hasher = SHA256()
        hasher.update(byte: 0)
        hasher.update(data: leaf)
        return Data(hasher.finalize())
    }

    /// RFC 9162 §2.1.1: SHA-256(0x01 ‖ left ‖ right).
    public static func nodeHash(_ left: Data, _ right: Data) -> Data {
        var hasher = SHA256()
        hasher.update(byte: 1)
        hasher.update(data: left)
        hasher.update(data: right)
        return Data(hasher.finalize())
    }

    /// The root of the empty tree: SHA-256 of nothing.
    public static let emptyRoot = Data(SHA256.hash(data: Data()))

    /// The complete subtrees that make up leaves `lo..<hi`, left to right, largest first: the range's
    /// hash is theirs folded from the right.
    static func decompose(_ lo: Int64, _ hi: Int64) -> [Node] {
        var nodes: [Node] = []
        var start = lo
        while start < hi {
            // The largest aligned power of two that starts at `start` and fits.
            var level = start == 0 ? 62 : start.trailingZeroBitCount
            while Int64(1) << level > hi - start { level -= 1 }
            nodes.append(Node(level: level, index: start >> level))
            start += Int64(1) << level
        }
        return nodes
    }

    /// The largest power of two smaller than `n` (n > 1): where RFC 9162 splits a tree.
    static func split(_ n: Int64) -> Int64 {
        Int64(1) << (63 - (n - 1).leadingZeroBitCount)
    }

    /// RFC 9162 §2.1.3.1 PATH(m, D[0:n]): the ranges whose hashes prove leaf `m`, bottom first.
    static func inclusionRanges(_ m: Int64, _ lo: Int64, _ hi: Int64) -> [Range<Int64>] {
        guard hi - lo > 1 else { return [] }
        let k = split(hi - lo)
        return m < lo + k
            ? inclusionRanges(m, lo, lo + k) + [(lo + k)..<hi]
            : inclusionRanges(m, lo + k, hi) + [lo..<(lo + k)]
    }

    /// RFC 9162 §2.1.4.1 SUBPROOF(m, D[lo:hi], b).
    static func consistencyRanges(_ m: Int64, _ lo: Int64, _ hi: Int64, _ complete: Bool) -> [Range<Int64>] {
        let n = hi - lo
        if m == n { return complete ? [] : [lo..<hi] }
        let k = split(n)
        return m <= k
            ? consistencyRanges(m, lo, lo + k, complete) + [(lo + k)..<hi]
            : consistencyRanges(m - k, lo + k, hi, false) + [lo..<(lo + k)]
    }

    /// What a proof needs: the ranges whose hashes it lists, and the stored nodes they fold from.
    public struct ProofPlan: Sendable {
        public let ranges: [Range<Int64>]
        public var nodes: Set<Node> { Set(ranges.flatMap { MerkleTree.decompose($0.lowerBound, $0.upperBound) }) }

        /// The proof's hashes, from the stored nodes' hashes; nil when one is missing.
        public func hashes(_ stored: [Node: Data]) -> [Data]? {
            var proof: [Data] = []
            for range in ranges {
                guard let hash = MerkleTree.fold(MerkleTree.decompose(range.lowerBound, range.upperBound), stored)
                else { return nil }
                proof.append(hash)
            }
            return proof
        }
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    public static func inclusionPlan(index: Int64, size: Int64) -> ProofPlan? {
        guard index >= 0, index < size else { return nil }
        return ProofPlan(ranges: inclusionRanges(index, 0, size))
    }

    /// The consistency proof from the tree of `old` leaves to the tree of `new` leaves (RFC 9162 §2.1.4).
    public static func consistencyPlan(old: Int64, new: Int64) -> ProofPlan? {
        guard old >= 0, old <= new else { return nil }
        guard old > 0, old < new else { return ProofPlan(ranges: []) }
        return ProofPlan(ranges: consistencyRanges(old, 0, new, true))
    }

    /// The root of the tree of `size` leaves, from its stored nodes.
    public static func rootPlan(size: Int64) -> [Node] { decompose(0, max(size, 0)) }

    /// The hash of the subtrees `nodes`, folded from the right; nil when one is missing.
    public static func fold(_ nodes: [Node], _ stored: [Node: Data]) -> Data? {
        guard var hash = nodes.last.flatMap({ stored[$0] }) else { return nodes.isEmpty ? emptyRoot : nil }
        for node in nodes.dropLast().reversed() {
            guard let left = stored[node] else { return nil }
            hash = nodeHash(left, hash)
        }
        return hash
    }

    /// RFC 9162 §2.1.3.2: whether `proof` shows the leaf hash `leaf` at `index` in the tree of `size`
    /// leaves with root `root`.
    public static func verifyInclusion(index: Int64, size: Int64, leaf: Data, proof: [Data], root: Data) -> Bool {
        guard index >= 0, index < size else { return false }
        var fn = index
        var sn = size - 1
        var hash = leaf
        for sibling in proof {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                hash = nodeHash(sibling, hash)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                hash = nodeHash(hash, sibling)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && hash == root
    }

    /// RFC 9162 §2.1.4.2: whether `proof` shows the tree of `new` leaves with root `newRoot` extends the
    /// tree of `old` leaves with root `oldRoot`.
    public static func verifyConsistency(old: Int64, new: Int64, oldRoot: Data, newRoot: Data, proof: [Data]) -> Bool {
        guard old >= 0, old <= new else { return false }
        if old == new { return proof.isEmpty && oldRoot == newRoot }
        if old == 0 { return proof.isEmpty }
        var path = proof
        guard !path.isEmpty else { return false }
        if old & (old - 1) == 0 { path.insert(oldRoot, at: 0) }
        var fn = old - 1
        var sn = new - 1
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var first = path[0]
        var second = path[0]
        for sibling in path.dropFirst() {
            guard sn != 0 else { return false }
            if fn & 1 == 1 || fn == sn {
                first = nodeHash(sibling, first)
                second = nodeHash(sibling, second)
                while fn & 1 == 0 && fn != 0 {
                    fn >>= 1
                    sn >>= 1
                }
            } else {
                second = nodeHash(second, sibling)
            }
            fn >>= 1
            sn >>= 1
        }
        return first == oldRoot && second == newRoot && sn == 0
    }
}

/// The right edge of a growing tree: the roots of its complete subtrees, largest first. Enough to
/// append a leaf and to know the root, without reading any stored node.
public struct MerkleFrontier: Sendable, Equatable {
    public private(set) var size: Int64
    public private(set) var hashes: [Data]

    public init() {
        size = 0
        hashes = []
    }

    /// A frontier as stored: `size` and its hashes concatenated. Nil when they do not fit each other.
    public init?(size: Int64, packed: Data) {
        guard size >= 0, packed.count == size.nonzeroBitCount * 32 else { return nil }
        self.size = size
        hashes = stride(from: 0, to: packed.count, by: 32).map {
            Data(packed[packed.startIndex + $0..<packed.startIndex + $0 + 32])
        }
    }

    public var packed: Data { hashes.reduce(into: Data()) { $0.append($1) } }

    public var root: Data {
        guard var hash = hashes.last else { return MerkleTree.emptyRoot }
        for left in hashes.dropLast().reversed() { hash = MerkleTree.nodeHash(left, hash) }
        return hash
    }

    /// Appends a leaf by its hash.
    public mutating func append(leafHash: Data) {
        merge(leafHash) { _, _ in }
    }

    /// Appends a leaf by its hash, and adds to `made` the complete subtrees it finishes, the leaf first.
    public mutating func append(leafHash: Data, made: inout [(MerkleTree.Node, Data)]) {
        merge(leafHash) { made.append(($0, $1)) }
    }

    private mutating func merge(_ leafHash: Data, _ finished: (MerkleTree.Node, Data) -> Void) {
        var hash = leafHash
        finished(MerkleTree.Node(level: 0, index: size), hash)
        var level = 0
        // Each trailing 1 of the old size is a subtree of the new leaf's size waiting for a right sibling.
        while (size >> level) & 1 == 1 {
            hash = MerkleTree.nodeHash(hashes.removeLast(), hash)
            level += 1
            finished(MerkleTree.Node(level: level, index: size >> level), hash)
        }
        hashes.append(hash)
        size += 1
    }
}

extension SHA256 {
    /// One byte, without making an array of it: trees hash a prefix byte for every node.
    mutating func update(byte: UInt8) {
        withUnsafeBytes(of: byte) { update(bufferPointer: $0) }
    }
}
