import Crypto
public import Foundation
import Kernel
public import PQCrypto
import Synchronization
import Telemetry

/// Encrypts personal data fields under per-subject data keys (AES-256-GCM). The keys form a
/// hierarchy whose root never reaches the database:
///
/// - the **master key** (X-Wing, from configuration) seals each process's **wrapping key** (a random
///   AES-256 key) with HPKE, in `wrapping_keys`;
/// - the wrapping key wraps each **data key** (AES-256-GCM, bound to subject and key id), in
///   `subject_keys`;
/// - data keys seal the fields.
///
/// A copy of the database (a backup, a replica, a stolen disk) thus holds only ciphertext, and a new
/// subject costs one AES operation instead of an X-Wing encapsulation.
///
/// A process makes a new data key the first time it writes for a subject and keeps it in memory; the
/// key's row (and the wrapping key's, the first time) travels with the write that first uses it,
/// inserted if absent in the same transaction, so a key is stored exactly when something sealed
/// under it is. A subject can thus hold several keys; erasure deletes them all.
public final class PersonalDataVault: Sendable {
    /// A wrapping key as `wrapping_keys` stores it.
    struct WrappingRow: Sendable {
        let id: UUID
        let sealed: Data
        let kek: String
        let createdAt: Date
    }

    /// A data key as `subject_keys` stores it, with its wrapping key's row while that is not yet stored.
    struct KeyRow: Sendable {
        let id: UUID
        let subject: String
        let wrapped: Data
        let wrappingKeyID: UUID
        let createdAt: Date
        let wrapping: WrappingRow?
    }

    /// A stored data key: its subject, wrapped bytes and wrapping key.
    typealias StoredKey = (subject: String, wrapped: Data, wrappingKeyID: UUID)
    typealias Fetch = @Sendable (UUID) async throws -> StoredKey?
    typealias FetchWrapping = @Sendable (UUID) async throws -> Data?

    private struct WritingKey {
        let key: DataKey
        /// Set until a write that carries the row has committed.
        var pendingRow: KeyRow?
    }

    private struct ReadingKey {
        let key: DataKey
        let subject: String
        let loadedAt: Date
    }

    private struct Wrapping {
        let key: DataKey
        var pendingRow: WrappingRow?
    }

    private struct State {
        var writing: [String: WritingKey] = [:]
        var reading: [UUID: ReadingKey] = [:]
        var wrapping: Wrapping?
        var openedWrapping: [UUID: DataKey] = [:]
    }

    /// Bounds memory; a subject whose key was dropped simply gets a new one at its next write.
    static let cacheLimit = 50_000
    /// How long an unwrapped key serves reads before it is fetched again: after an erasure, no
    /// replica can read the subject's data for longer than this.
    static let readingLifetime: TimeInterval = 60

    private let optionalMasterKey: MasterKey?
    var masterKey: MasterKey {
        get throws {
            guard let optionalMasterKey else { throw StorageError.noMasterKey }
            return optionalMasterKey
        }
    }
    private let state = Mutex(State())
    private let fetch: Fetch
    private let fetchWrapping: FetchWrapping
    private let loadIndexKey: @Sendable () async throws -> BlindIndex
    private let indexKey = Mutex<BlindIndex?>(nil)

    init(
        masterKey: MasterKey?, fetch: @escaping Fetch, fetchWrapping: @escaping FetchWrapping,
        loadIndexKey: @escaping @Sendable () async throws -> BlindIndex
    ) {
        self.optionalMasterKey = masterKey
        self.fetch = fetch
        self.fetchWrapping = fetchWrapping
        self.loadIndexKey = loadIndexKey
    }

    /// The blind index of an email address, for finding an account without storing its email.
    func emailIndex(_ normalizedEmail: String) async throws -> String {
        if let key = indexKey.withLock({ $0 }) { return key.tag(normalizedEmail, domain: "email") }
        let key = try await loadIndexKey()
        indexKey.withLock { $0 = key }
        return key.tag(normalizedEmail, domain: "email")
    }

    /// Seals `value` for `subject`; the returned row, if any, must be stored with the write.
    func seal(_ value: String?, subject: String, field: String) throws -> (sealed: String?, newKey: KeyRow?) {
        guard let value else { return (nil, nil) }
        return try Traced.run("crypto.seal", ["crypto.algorithm": "AES-256-GCM"]) {
            let writing = try writingKey(for: subject)
            return (try writing.key.seal(value, context: Self.context(subject, field)), writing.pendingRow)
        }
    }

    /// Marks keys as stored once a write carrying their rows has committed.
    func confirm(_ rows: [KeyRow]) {
        guard !rows.isEmpty else { return }
        state.withLock { state in
            for row in rows {
                if state.writing[row.subject]?.key.id == row.id { state.writing[row.subject]?.pendingRow = nil }
                if let wrapping = row.wrapping, state.wrapping?.key.id == wrapping.id {
                    state.wrapping?.pendingRow = nil
                }
            }
        }
    }

    /// The plaintext of a sealed field; plaintext written before encryption existed passes through;
    /// nil when the subject's keys have been destroyed.
    func open(_ text: String?, subject: String, field: String) async throws -> String? {
        guard let text else { return nil }
        guard DataKey.isSealed(text) else { return text }
        return try await Traced.run("crypto.open", ["crypto.algorithm": "AES-256-GCM"]) {
            guard let keyID = DataKey.keyID(of: text), let key = try await readingKey(keyID) else { return nil }
            return try key.open(text, context: Self.context(subject, field))
        }
    }

    /// Forgets every cached key of `subject` in this process (erasure does this on the replica that
    /// erases; others forget within ``readingLifetime``).
    func forget(subject: String) {
        state.withLock { state in
            state.writing[subject] = nil
            state.reading = state.reading.filter { $0.value.subject != subject }
        }
    }

    /// The context a wrapping key is sealed to the master key under.
    public static func wrappingContext(_ id: UUID) -> String { "qspp wrapping key " + id.lowercasedString }
    /// The context a named secret in `sealed_secrets` is sealed under.
    public static func secretContext(_ name: String) -> String { "qspp secret " + name }

    private static func context(_ subject: String, _ field: String) -> String { subject + "/" + field }

    private func currentWrapping() throws -> Wrapping {
        if let wrapping = state.withLock({ $0.wrapping }) { return wrapping }
        let key = DataKey.generate()
        let masterKey = try masterKey
        let row = WrappingRow(
            id: key.id, sealed: try masterKey.seal(key.material, context: Self.wrappingContext(key.id)),
            kek: masterKey.fingerprint, createdAt: Date())
        return state.withLock { state in
            if let existing = state.wrapping { return existing }
            let wrapping = Wrapping(key: key, pendingRow: row)
            state.wrapping = wrapping
            state.openedWrapping[key.id] = key
            return wrapping
        }
    }

    private func writingKey(for subject: String) throws -> WritingKey {
        if let existing = state.withLock({ $0.writing[subject] }) { return existing }
        let wrapping = try currentWrapping()
        let key = DataKey.generate()
        let row = KeyRow(
            id: key.id, subject: subject,
            wrapped: Data(
                try wrapping.key.seal(key.material.base64EncodedString(), context: Self.keyContext(subject, key.id))
                    .utf8),
            wrappingKeyID: wrapping.key.id, createdAt: Date(), wrapping: wrapping.pendingRow)
        return state.withLock { state in
            // Another task may have made one meanwhile: use the first, so one process writes one key.
            if let existing = state.writing[subject] { return existing }
            if state.writing.count >= Self.cacheLimit { state.writing.removeAll(keepingCapacity: true) }
            let writing = WritingKey(key: key, pendingRow: row)
            state.writing[subject] = writing
            state.reading[key.id] = ReadingKey(key: key, subject: subject, loadedAt: Date())
            return writing
        }
    }

    /// What a data key is wrapped under: a wrapped key moved to another subject does not open.
    private static func keyContext(_ subject: String, _ id: UUID) -> String {
        DataKey.wrappingContext(subject: subject, keyID: id)
    }

    private func readingKey(_ id: UUID) async throws -> DataKey? {
        let now = Date()
        // Fetched again after a while, even a key this process made, so that an erasure on another
        // replica takes effect here too.
        if let cached = state.withLock({ $0.reading[id] }),
            now.timeIntervalSince(cached.loadedAt) < Self.readingLifetime
        {
            return cached.key
        }
        guard let stored = try await fetch(id) else {
            state.withLock { _ = $0.reading.removeValue(forKey: id) }
            return nil
        }
        let wrapping = try await openedWrapping(stored.wrappingKeyID)
        let material = try wrapping.open(
            String(decoding: stored.wrapped, as: UTF8.self), context: Self.keyContext(stored.subject, id))
        guard let bytes = Data(base64Encoded: material) else { throw PQCryptoError.cannotOpen }
        let key = try DataKey(id: id, material: bytes)
        state.withLock { state in
            if state.reading.count >= Self.cacheLimit { state.reading.removeAll(keepingCapacity: true) }
            state.reading[id] = ReadingKey(key: key, subject: stored.subject, loadedAt: now)
        }
        return key
    }

    private func openedWrapping(_ id: UUID) async throws -> DataKey {
        if let key = state.withLock({ $0.openedWrapping[id] }) { return key }
        guard let sealed = try await fetchWrapping(id) else { throw StorageError.corrupted("wrapping key") }
        let material = try Traced.run("crypto.unwrap", ["crypto.algorithm": "X-Wing (ML-KEM-768 + X25519)"]) {
            try masterKey.open(sealed, context: Self.wrappingContext(id))
        }
        let key = try DataKey(id: id, material: material)
        state.withLock { $0.openedWrapping[id] = key }
        return key
    }
}
