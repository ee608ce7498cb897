public import Foundation
public import PQCrypto
import Synchronization

/// Encrypts personal data fields under per-subject data keys (AES-256-GCM), each wrapped with the
/// post-quantum master key (X-Wing HPKE) in `subject_keys`. The master key never reaches the
/// database, so a copy of it (a backup, a replica, a stolen disk) holds only ciphertext.
///
/// A process makes a new data key the first time it writes for a subject and keeps it in memory; the
/// key's row travels with the write that first uses it (inserted if absent, in the same transaction),
/// so a key is stored exactly when something sealed under it is. A subject can thus hold several keys
/// (one per process that wrote for it); erasure deletes them all.
public final class PersonalDataVault: Sendable {
    /// A data key as `subject_keys` stores it.
    struct KeyRow: Sendable {
        let id: UUID
        let subject: String
        let wrapped: Data
        let kek: String
        let createdAt: Date
    }

    /// Fetches a wrapped key by id: its subject and wrapped bytes, or nil once shredded.
    typealias Fetch = @Sendable (UUID) async throws -> (subject: String, wrapped: Data)?

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

    private struct State {
        var writing: [String: WritingKey] = [:]
        var reading: [UUID: ReadingKey] = [:]
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

    private let loadIndexKey: @Sendable () async throws -> BlindIndex
    private let indexKey = Mutex<BlindIndex?>(nil)

    init(
        masterKey: MasterKey?, fetch: @escaping Fetch, loadIndexKey: @escaping @Sendable () async throws -> BlindIndex
    ) {
        self.optionalMasterKey = masterKey
        self.fetch = fetch
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
        let writing = try writingKey(for: subject)
        return (try writing.key.seal(value, context: Self.context(subject, field)), writing.pendingRow)
    }

    /// Marks keys as stored once a write carrying their rows has committed.
    func confirm(_ rows: [KeyRow]) {
        guard !rows.isEmpty else { return }
        state.withLock { state in
            for row in rows where state.writing[row.subject]?.key.id == row.id {
                state.writing[row.subject]?.pendingRow = nil
            }
        }
    }

    /// The plaintext of a sealed field; plaintext written before encryption existed passes through;
    /// nil when the subject's keys have been destroyed.
    func open(_ text: String?, subject: String, field: String) async throws -> String? {
        guard let text else { return nil }
        guard DataKey.isSealed(text) else { return text }
        guard let keyID = DataKey.keyID(of: text), let key = try await readingKey(keyID) else { return nil }
        return try key.open(text, context: Self.context(subject, field))
    }

    /// Forgets every cached key of `subject` in this process (erasure does this on the replica that
    /// erases; others forget within ``readingLifetime``).
    func forget(subject: String) {
        state.withLock { state in
            state.writing[subject] = nil
            state.reading = state.reading.filter { $0.value.subject != subject }
        }
    }

    func unwrap(_ wrapped: Data, subject: String, keyID: UUID) throws -> DataKey {
        try DataKey(
            id: keyID,
            material: try masterKey.open(wrapped, context: DataKey.wrappingContext(subject: subject, keyID: keyID)))
    }

    func wrap(_ key: DataKey, subject: String) throws -> Data {
        try masterKey.seal(key.material, context: DataKey.wrappingContext(subject: subject, keyID: key.id))
    }

    private static func context(_ subject: String, _ field: String) -> String { subject + "/" + field }

    private func writingKey(for subject: String) throws -> WritingKey {
        if let existing = state.withLock({ $0.writing[subject] }) { return existing }
        let key = DataKey.generate()
        let row = KeyRow(
            id: key.id, subject: subject, wrapped: try wrap(key, subject: subject), kek: try masterKey.fingerprint,
            createdAt: Date())
        return state.withLock { state in
            // Another task may have made one meanwhile: use the first, so one process writes one key.
            if let existing = state.writing[subject] { return existing }
            if state.writing.count >= Self.cacheLimit { state.writing.removeAll(keepingCapacity: true) }
            let writing = WritingKey(key: key, pendingRow: row)
            state.writing[subject] = writing
            state.reading[key.id] = ReadingKey(key: key, subject: subject, loadedAt: .distantFuture)
            return writing
        }
    }

    private func readingKey(_ id: UUID) async throws -> DataKey? {
        let now = Date()
        if let cached = state.withLock({ $0.reading[id] }),
            now.timeIntervalSince(cached.loadedAt) < Self.readingLifetime
                || cached.loadedAt == .distantFuture
                    && state.withLock({ $0.writing[cached.subject]?.pendingRow != nil })
        {
            return cached.key
        }
        guard let (subject, wrapped) = try await fetch(id) else {
            state.withLock { _ = $0.reading.removeValue(forKey: id) }
            return nil
        }
        let key = try unwrap(wrapped, subject: subject, keyID: id)
        state.withLock { state in
            if state.reading.count >= Self.cacheLimit { state.reading.removeAll(keepingCapacity: true) }
            state.reading[id] = ReadingKey(key: key, subject: subject, loadedAt: now)
        }
        return key
    }
}
