import Crypto
import Foundation
import PQCrypto
import Testing

@testable import Privacy

/// The tree's hashes and proofs against RFC 9162's recursive definitions, written out again here
/// without the stored-node machinery, and against the RFC 6962 test vectors.
@Suite("Merkle tree")
struct MerkleTreeTests {
    /// The eight leaves of the RFC 6962 test data (certificate-transparency's merkle_tree_test).
    static let vectorLeaves: [Data] = [
        "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f",
    ].map(hexBytes)
    static let vectorRoots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]

    static func hexBytes(_ text: String) -> Data {
        var bytes = Data()
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            bytes.append(UInt8(text[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    // MARK: The reference: RFC 9162 §2.1 as written, recursion over the leaves themselves.

    static func sha256(_ parts: Data...) -> Data { Data(SHA256.hash(data: parts.reduce(Data(), +))) }

    static func mth(_ leaves: ArraySlice<Data>) -> Data {
        switch leaves.count {
        case 0: return sha256(Data())
        case 1: return sha256(Data([0]), leaves.first!)
        default:
            var k = 1
            while k * 2 < leaves.count { k *= 2 }
            let start = leaves.startIndex
            return sha256(Data([1]), mth(leaves[start..<start + k]), mth(leaves[(start + k)...]))
        }
    }

    static func path(_ m: Int, _ leaves: ArraySlice<Data>) -> [Data] {
        guard leaves.count > 1 else { return [] }
        var k = 1
        while k * 2 < leaves.count { k *= 2 }
        let start = leaves.startIndex
        return m < k
            ? path(m, leaves[start..<start + k]) + [mth(leaves[(start + k)...])]
            : path(m - k, leaves[(start + k)...]) + [mth(leaves[start..<start + k])]
    }

    static func subproof(_ m: Int, _ leaves: ArraySlice<Data>, _ complete: Bool) -> [Data] {
        let n = leaves.count
        if m == n { return complete ? [] : [mth(leaves)] }
        var k = 1
        while k * 2 < n { k *= 2 }
        let start = leaves.startIndex
        return m <= k
            ? subproof(m, leaves[start..<start + k], complete) + [mth(leaves[(start + k)...])]
            : subproof(m - k, leaves[(start + k)...], false) + [mth(leaves[start..<start + k])]
    }

    /// A tree of `count` leaves as the log stores it: the frontier and every node it made.
    static func build(_ leaves: [Data]) -> (frontier: MerkleFrontier, nodes: [MerkleTree.Node: Data]) {
        var frontier = MerkleFrontier()
        var made: [(MerkleTree.Node, Data)] = []
        for leaf in leaves { frontier.append(leafHash: MerkleTree.leafHash(leaf), made: &made) }
        return (frontier, Dictionary(made, uniquingKeysWith: { first, _ in first }))
    }

    static func leaves(_ count: Int) -> [Data] { (0..<count).map { Data("leaf \($0)".utf8) } }

    @Test func rootsMatchTheRFC6962Vectors() {
        for size in 1...8 {
            let (frontier, nodes) = Self.build(Array(Self.vectorLeaves.prefix(size)))
            #expect(Hex.encode(frontier.root) == Self.vectorRoots[size - 1], "size \(size)")
            #expect(MerkleTree.fold(MerkleTree.rootPlan(size: Int64(size)), nodes) == frontier.root)
        }
        #expect(Hex.encode(MerkleFrontier().root) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func rootsAndProofsMatchTheRecursiveDefinition() throws {
        let all = Self.leaves(70)
        let (_, nodes) = Self.build(all)
        for size in 1...all.count {
            let leaves = all[..<size]
            let (frontier, _) = Self.build(Array(leaves))
            let root = Self.mth(leaves)
            #expect(frontier.root == root, "root of \(size)")
            // The stored frontier round-trips.
            #expect(MerkleFrontier(size: Int64(size), packed: frontier.packed) == frontier)
            for index in 0..<size {
                let proof = try #require(
                    MerkleTree.inclusionPlan(index: Int64(index), size: Int64(size))?.hashes(nodes))
                #expect(proof == Self.path(index, leaves), "inclusion of \(index) in \(size)")
                #expect(
                    MerkleTree.verifyInclusion(
                        index: Int64(index), size: Int64(size), leaf: MerkleTree.leafHash(all[index]), proof: proof,
                        root: root))
            }
            for old in 1...size {
                let proof = try #require(MerkleTree.consistencyPlan(old: Int64(old), new: Int64(size))?.hashes(nodes))
                let expected = old == size ? [] : Self.subproof(old, leaves, true)
                #expect(proof == expected, "consistency \(old) → \(size)")
                #expect(
                    MerkleTree.verifyConsistency(
                        old: Int64(old), new: Int64(size), oldRoot: Self.mth(all[..<old]), newRoot: root, proof: proof))
            }
        }
    }

    @Test func damagedProofsAreRefused() throws {
        let all = Self.leaves(23)
        let (frontier, nodes) = Self.build(all)
        let root = frontier.root
        let leaf = MerkleTree.leafHash(all[9])
        let proof = try #require(MerkleTree.inclusionPlan(index: 9, size: 23)?.hashes(nodes))
        #expect(MerkleTree.verifyInclusion(index: 9, size: 23, leaf: leaf, proof: proof, root: root))
        for position in proof.indices {
            var damaged = proof
            damaged[position][0] ^= 1
            #expect(!MerkleTree.verifyInclusion(index: 9, size: 23, leaf: leaf, proof: damaged, root: root))
        }
        #expect(!MerkleTree.verifyInclusion(index: 8, size: 23, leaf: leaf, proof: proof, root: root))
        #expect(!MerkleTree.verifyInclusion(index: 9, size: 16, leaf: leaf, proof: proof, root: root))
        #expect(!MerkleTree.verifyInclusion(index: 9, size: 23, leaf: leaf, proof: proof.dropLast(), root: root))
        #expect(!MerkleTree.verifyInclusion(index: 9, size: 23, leaf: leaf, proof: proof + [root], root: root))
        #expect(!MerkleTree.verifyInclusion(index: 23, size: 23, leaf: leaf, proof: proof, root: root))
        #expect(!MerkleTree.verifyInclusion(index: -1, size: 23, leaf: leaf, proof: proof, root: root))

        let old = Self.mth(all[..<11])
        let consistency = try #require(MerkleTree.consistencyPlan(old: 11, new: 23)?.hashes(nodes))
        #expect(MerkleTree.verifyConsistency(old: 11, new: 23, oldRoot: old, newRoot: root, proof: consistency))
        for position in consistency.indices {
            var damaged = consistency
            damaged[position][31] ^= 0x80
            #expect(!MerkleTree.verifyConsistency(old: 11, new: 23, oldRoot: old, newRoot: root, proof: damaged))
        }
        #expect(!MerkleTree.verifyConsistency(old: 12, new: 23, oldRoot: old, newRoot: root, proof: consistency))
        #expect(!MerkleTree.verifyConsistency(old: 11, new: 23, oldRoot: root, newRoot: root, proof: consistency))
        #expect(!MerkleTree.verifyConsistency(old: 11, new: 23, oldRoot: old, newRoot: root, proof: []))
        #expect(!MerkleTree.verifyConsistency(old: 24, new: 23, oldRoot: old, newRoot: root, proof: consistency))
        #expect(MerkleTree.inclusionPlan(index: 23, size: 23) == nil)
        #expect(MerkleTree.consistencyPlan(old: 24, new: 23) == nil)
        // A missing stored node yields no proof rather than a wrong one.
        var missing = nodes
        missing.removeValue(forKey: MerkleTree.Node(level: 0, index: 8))
        #expect(MerkleTree.inclusionPlan(index: 9, size: 23)?.hashes(missing) == nil)
        #expect(MerkleFrontier(size: 3, packed: Data(count: 32)) == nil)
    }
}
