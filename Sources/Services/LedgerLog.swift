public import PQCrypto
public import Privacy

extension LogIdentity {
    /// The log's keys, Ed25519 and ML-DSA-65, derived from the master key: every replica signs with the
    /// same keys, none of them is stored, and no row in the database can add one. Rotating the master
    /// key rotates them; the old verifier keys then belong in `ledger.trusted.keys`.
    public static func derived(
        from masterKey: MasterKey, origin: String, pinned: [NoteVerifierKey] = []
    ) throws -> LogIdentity {
        let signers = try [SigningAlgorithm.ed25519, .mldsa65].map { algorithm in
            let seed = masterKey.derivedSeed(for: "ledger log key \(algorithm.rawValue)")
            return try NoteSigner(name: origin, key: SigningKey(algorithm: algorithm, privateSeed: seed))
        }
        return LogIdentity(origin: origin, signers: signers, pinned: pinned)
    }

    /// The origin for an issuer URL: its host and path without the scheme, then `/ledger`.
    public static func origin(issuer: String) -> String {
        var name = issuer
        if let scheme = name.range(of: "://") { name = String(name[scheme.upperBound...]) }
        while name.hasSuffix("/") { name.removeLast() }
        let cleaned = String(name.unicodeScalars.filter { !$0.properties.isWhitespace && $0 != "+" })
        return (cleaned.isEmpty ? "qspp" : cleaned) + "/ledger"
    }
}
