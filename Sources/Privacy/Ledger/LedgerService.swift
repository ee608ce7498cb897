import Foundation
import PQCrypto

/// The log's name and keys: who signs its checkpoints, and whose signatures verification accepts.
public struct LogIdentity: Sendable {
    /// The C2SP origin line, a schema-less URL such as `qspp.example/ledger`.
    public let origin: String
    public let signers: [NoteSigner]
    /// Keys given from outside the store (the signers' own, and any pinned in configuration): the only
    /// ones whose signatures vouch for a checkpoint. Nothing read from the store is ever trusted.
    public let trusted: [NoteVerifierKey]

    public init(origin: String, signers: [NoteSigner], pinned: [NoteVerifierKey] = []) {
        self.origin = origin
        self.signers = signers
        var trusted = signers.map(\.verifierKey)
        for key in pinned where !trusted.contains(key) { trusted.append(key) }
        self.trusted = trusted
    }

    /// The tree checkpoint `note` states, when a trusted key signed it and no trusted key's line on it
    /// fails.
    public func vouchedCheckpoint(_ note: String?) -> TreeCheckpoint? {
        guard let note, let parsed = SignedNote(parsing: note), let checkpoint = TreeCheckpoint(text: parsed.text),
            checkpoint.origin == origin
        else { return nil }
        return NoteVerifierKey.vouch(for: parsed, by: trusted) ? checkpoint : nil
    }
}

/// Verification found the chain broken where the log was about to vouch for it: nothing is signed.
public struct LedgerIntegrityError: Error, CustomStringConvertible, Sendable {
    public let problem: LedgerProblem

    public init(problem: LedgerProblem) {
        self.problem = problem
    }

    public var description: String { "ledger entry \(problem.sequence): \(problem.reason)" }
}

/// Integrates entries into the Merkle tree, signs checkpoints, serves proofs and verifies the whole
/// log against the checkpoints its trusted keys signed.
public struct LedgerService: Sendable {
    public static let verificationBatch = 10_000
    /// How many batches verification reads and hashes ahead of the one it checks.
    static let batchesAhead = 3
    /// How many of the newest checkpoints signing and `--saved` look through for one a trusted key
    /// signed: every checkpoint verified at each signing would grow with the log's age.
    static let recentCheckpoints = 16

    let repository: any LedgerRepository
    private let records: any RecordedRows
    private let signer: any CheckpointSigner
    private let issuer: String
    public let log: LogIdentity
    /// The witnesses asked to cosign each checkpoint, and how many of them verification requires.
    let witnesses: [any CheckpointWitness]
    public let policy: WitnessPolicy
    let witnessSizes = WitnessSizes()
    private let nodeCache = TreeNodeCache()

    public init(
        repository: any LedgerRepository, records: any RecordedRows, signer: any CheckpointSigner, issuer: String,
        log: LogIdentity, witnesses: [any CheckpointWitness] = [], quorum: Int? = nil
    ) {
        self.repository = repository
        self.records = records
        self.signer = signer
        self.issuer = issuer
        self.log = log
        self.witnesses = witnesses
        self.policy = WitnessPolicy(witnesses: witnesses.map(\.key), quorum: quorum ?? witnesses.count)
    }

    /// Adds to the Merkle tree every entry the chain holds beyond it, first checking that each one
    /// continues the chain the tree already holds. Replicas may run it at once: one of them stores
    /// each step. Throws ``LedgerIntegrityError`` at the first entry that does not continue the chain.
    @discardableResult
    public func integrate() async throws -> LedgerTreeHead {
        var tree = try await repository.treeHead()
        let target = try await repository.ledgerHead().size
        while tree.chain.size < target {
            let limit = Int(min(Int64(Self.verificationBatch), target - tree.chain.size))
            let batch = try await repository.ledgerEntries(after: tree.chain.size, limit: limit)
            // A row changed before its entry was integrated is refused here, before anything vouches for
            // it. Rows missing are left to `verify`, which knows which purges account for them.
            if let (entry, _) = zip(batch, try await records.match(batch[...])).first(where: { $0.1 == .differs }) {
                throw LedgerIntegrityError(
                    problem: LedgerProblem(
                        sequence: entry.sequence, reason: "the stored row differs from what this entry recorded"))
            }
            var verifier = LedgerVerifier(start: tree, checkpoints: [:])
            var frontier = tree.frontier
            var nodes: [(MerkleTree.Node, Data)] = []
            nodes.reserveCapacity(batch.count * 2)
            for entry in batch {
                let hashed = HashedEntry(entry)
                guard verifier.check(hashed) else { throw LedgerIntegrityError(problem: verifier.problem!) }
                frontier.append(leafHash: hashed.leafHash, made: &nodes)
            }
            guard batch.count == limit else {
                throw LedgerIntegrityError(
                    problem: LedgerProblem(
                        sequence: verifier.head.size + 1,
                        reason: "entry \(verifier.head.size + 1) is missing (the head record says \(target))"))
            }
            let next = LedgerTreeHead(frontier: frontier, chain: verifier.head)
            tree =
                try await repository.extendTree(from: tree.chain.size, to: next, nodes: nodes)
                ? next : try await repository.treeHead()
        }
        return tree
    }

    /// Integrates, then signs the tree's head unless the latest checkpoint already covers it: a JWS for
    /// the chain head and a C2SP signed note for the tree. Refuses to sign a tree that does not extend
    /// the last one its trusted keys signed. Returns the latest checkpoint, or nil while the ledger is
    /// empty.
    @discardableResult
    public func checkpoint(now: Date = Date()) async throws -> LedgerCheckpoint? {
        let tree = try await integrate()
        let recent = try await repository.recentCheckpoints(limit: Self.recentCheckpoints)
        let latest = recent.first
        let size = tree.frontier.size
        guard size > 0, size > (latest?.size ?? 0) else { return latest }
        let root = tree.frontier.root
        if let previous = recent.lazy.compactMap({ log.vouchedCheckpoint($0.note) }).first {
            let proof = try await consistencyProof(from: previous.size, to: size, fromMemory: false)
            guard
                let proof,
                MerkleTree.verifyConsistency(
                    old: previous.size, new: size, oldRoot: previous.root, newRoot: root, proof: proof)
            else {
                throw LedgerIntegrityError(
                    problem: LedgerProblem(
                        sequence: previous.size,
                        reason: "the stored tree no longer extends the signed checkpoint of size \(previous.size)"))
            }
        }
        let statement = CheckpointStatement(issuer: issuer, head: tree.chain, at: now)
        let text = TreeCheckpoint(origin: log.origin, size: size, root: root).text
        let note = SignedNote(text: text, signatures: try log.signers.map { try $0.sign(text) })
        let checkpoint = LedgerCheckpoint(
            size: size, headHash: tree.chain.hash, signedAt: Date(timeIntervalSince1970: TimeInterval(statement.iat)),
            signature: try await signer.sign(statement), treeRoot: root, note: note.formatted)
        try await repository.insertCheckpoint(checkpoint)
        // Witnesses that do not answer now are asked again by the next call of `cosign()`, and until a
        // quorum cosigns, `verify` says so.
        _ = try? await cosign()
        return checkpoint
    }

    /// The entry at `sequence`, if there is one.
    /// The sequence of the entry that records `reference` (such as `auth:<event id>`), if any.
    public func sequence(of reference: String) async throws -> Int64? {
        try await repository.ledgerSequence(reference: reference)
    }

    public func entry(_ sequence: Int64) async throws -> LedgerEntry? {
        try await repository.ledgerEntries(after: sequence - 1, limit: 1).first { $0.sequence == sequence }
    }

    public func latestCheckpoint() async throws -> LedgerCheckpoint? {
        try await repository.recentCheckpoints(limit: 1).first
    }

    /// The hashes proving that entry `sequence` is in the tree of `size` entries (RFC 9162 §2.1.3), or
    /// nil when the tree has not integrated that many. Upper nodes may come from memory.
    public func inclusionProof(sequence: Int64, size: Int64) async throws -> [Data]? {
        try await hashes(MerkleTree.inclusionPlan(index: sequence - 1, size: size), size: size, cache: nodeCache)
    }

    /// The hashes proving that the tree of `to` entries extends the tree of `from` entries (RFC 9162
    /// §2.1.4), or nil when the tree has not integrated `to` entries. `fromMemory` lets upper nodes
    /// come from memory: for serving a proof, but not for checking the stored tree before signing.
    public func consistencyProof(from: Int64, to: Int64, fromMemory: Bool = true) async throws -> [Data]? {
        try await hashes(
            MerkleTree.consistencyPlan(old: from, new: to), size: to, cache: fromMemory ? nodeCache : nil)
    }

    /// At most one read: nodes are stored only for integrated entries, so a tree larger than the
    /// integrated one lacks some and gets no proof. An empty proof needs no node, so it asks how far the
    /// tree goes.
    private func hashes(_ plan: MerkleTree.ProofPlan?, size: Int64, cache: TreeNodeCache?) async throws -> [Data]? {
        guard let plan else { return nil }
        guard !plan.ranges.isEmpty else { return size <= (try await repository.treeHead().chain.size) ? [] : nil }
        guard let cache else { return plan.hashes(try await repository.treeNodes(plan.nodes)) }
        var (found, missing) = cache.split(plan.nodes)
        if !missing.isEmpty {
            let read = try await repository.treeNodes(missing)
            cache.keep(read)
            found.merge(read) { cached, _ in cached }
        }
        return plan.hashes(found)
    }

    /// What is wrong with the log against a checkpoint saved earlier (an auditor's, or a witness's), or
    /// nil: the saved note must be signed by a trusted key, and the latest signed tree must extend it.
    public func problem(withSaved note: String) async throws -> String? {
        guard let saved = log.vouchedCheckpoint(note) else {
            return "the saved checkpoint is not signed by a trusted key of \(log.origin)"
        }
        guard
            let current = try await repository.recentCheckpoints(limit: Self.recentCheckpoints).lazy
                .compactMap({ log.vouchedCheckpoint($0.note) }).first
        else { return "the log has no recently signed tree to compare the saved checkpoint with" }
        guard saved.size <= current.size else {
            return
                "the saved checkpoint covers \(saved.size) entries, the latest only \(current.size): the log was cut back"
        }
        guard let proof = try await consistencyProof(from: saved.size, to: current.size, fromMemory: false),
            MerkleTree.verifyConsistency(
                old: saved.size, new: current.size, oldRoot: saved.root, newRoot: current.root, proof: proof)
        else {
            return
                "the tree of \(current.size) entries does not extend the saved one of \(saved.size): history was rewritten"
        }
        return nil
    }

    /// Re-hashes every entry, checks every link and every leaf the log integrated, and checks the chain
    /// and the tree against every checkpoint. A tree root counts only when a trusted key signed it, and
    /// the latest checkpoint must carry one. Reports the first problem; a checkpoint with a bad
    /// signature is one.
    ///
    /// Entries appended while it runs are left for the next run: it checks the chain up to the head it
    /// read first (after the checkpoints, so every checkpoint it holds is within that head).
    public func verify() async throws -> LedgerReport {
        let census = try await records.census()
        let stored = try await repository.checkpoints()
        let head = try await repository.ledgerHead()
        var vouched: [Int64: Data] = [:]
        var roots: [Int64: Data] = [:]
        var problems: [LedgerProblem] = []
        let verifySignature = try await signer.makeVerifier()
        let firstNoted = stored.firstIndex { $0.note != nil } ?? stored.endIndex
        for (position, checkpoint) in stored.enumerated() {
            func refuse(_ reason: String) {
                problems.append(LedgerProblem(sequence: checkpoint.size, reason: reason))
            }
            guard let statement = verifySignature(checkpoint.signature),
                statement.ledgerSize == checkpoint.size, statement.ledgerHead == Hex.encode(checkpoint.headHash)
            else {
                refuse("the checkpoint of size \(checkpoint.size) does not carry a valid signature")
                continue
            }
            vouched[checkpoint.size] = checkpoint.headHash
            // Checkpoints from before the log had a tree carry no note; every later one must.
            guard position >= firstNoted else { continue }
            guard let tree = log.vouchedCheckpoint(checkpoint.note), tree.size == checkpoint.size,
                tree.root == checkpoint.treeRoot
            else {
                refuse("the checkpoint of size \(checkpoint.size) carries no tree note signed by a trusted key")
                continue
            }
            roots[checkpoint.size] = tree.root
        }
        if let latest = stored.last, latest.note == nil {
            problems.append(
                LedgerProblem(
                    sequence: latest.size,
                    reason: "the latest checkpoint (size \(latest.size)) carries no tree note signed by a trusted key"))
        }
        if policy.quorum > 0, let latest = stored.last, let text = latest.note, let note = SignedNote(parsing: text) {
            let cosigners = policy.cosigners(of: try await cosignedNote(note, size: latest.size))
            if cosigners.count < policy.quorum {
                problems.append(
                    LedgerProblem(
                        sequence: latest.size,
                        reason: "the latest checkpoint (size \(latest.size)) is cosigned by \(cosigners.count) of the "
                            + "\(policy.quorum) witnesses required"))
            }
        }
        let integrated = try await repository.treeHead().chain.size
        var verifier = LedgerVerifier(checkpoints: vouched, treeRoots: roots)
        var binding = RowBinding(types: records.boundTypes, census: census)
        // Each batch is read, hashed and matched to its rows in a task of its own, a few ahead of the
        // one being checked, so the database and the hashing keep every core busy; only the links and
        // the tree are checked in order.
        typealias Batch = (start: Int64, entries: [HashedEntry], leaves: [Data?], rows: [RowMatch])
        let (repository, records) = (self.repository, self.records)
        func read(after start: Int64, limit: Int) -> Task<Batch, any Error> {
            Task { [binding] in
                async let leaves = start < integrated ? repository.leafHashes(after: start, limit: limit) : []
                let entries = try await repository.ledgerEntries(after: start, limit: limit)
                async let rows = records.match(binding.counted(entries))
                return (start, entries.map(HashedEntry.init), try await leaves, try await rows)
            }
        }
        var pending: [(limit: Int, task: Task<Batch, any Error>)] = []
        var nextStart: Int64 = 0
        func readAhead() {
            while pending.count < Self.batchesAhead, nextStart < head.size {
                let limit = Int(min(Int64(Self.verificationBatch), head.size - nextStart))
                pending.append((limit, read(after: nextStart, limit: limit)))
                nextStart += Int64(limit)
            }
        }
        /// No read outlives the verification, whether it found a problem, failed or finished.
        func stopReading() async {
            nextStart = head.size
            for (_, task) in pending {
                task.cancel()
                _ = try? await task.value
            }
            pending = []
        }
        readAhead()
        do {
            reading: while !pending.isEmpty {
                let (limit, task) = pending.removeFirst()
                let batch = try await task.value
                // The entries end within this batch, so there is nothing beyond it to read, however large
                // the head record says the ledger is: `finish` reports that.
                if batch.entries.count < limit { nextStart = head.size } else { readAhead() }
                for (position, hashed) in batch.entries.enumerated() {
                    // Leaves are stored by index from 0, entries numbered from 1.
                    let leaf = Int(hashed.entry.sequence - 1 - batch.start)
                    let storedLeaf = batch.leaves.indices.contains(leaf) ? batch.leaves[leaf] : nil
                    guard verifier.check(hashed, storedLeaf: storedLeaf) else { break reading }
                    binding.check(hashed.entry, match: position < batch.rows.count ? batch.rows[position] : nil)
                }
            }
        } catch {
            await stopReading()
            throw error
        }
        await stopReading()
        verifier.finish(storedHead: head)
        if verifier.problem == nil { try await binding.finish(records) }
        let found = (problems + [verifier.problem, binding.problem].compactMap { $0 }).min {
            $0.sequence < $1.sequence
        }
        return LedgerReport(
            entries: verifier.head.size, head: verifier.head, treeRoot: verifier.tree.root,
            checkpointCount: stored.count, latestCheckpoint: stored.last, problem: found)
    }
}
