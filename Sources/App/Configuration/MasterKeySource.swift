import Foundation
import Kernel
import PQCrypto
import Services
import Storage

extension AppConfiguration {
    /// Finds the key-encryption key: the configured value, the configured file, or — for the embedded
    /// SQLite default only — `master.key` beside the database, created on first start with mode 0600.
    /// Never the database itself: a stolen database must not carry its own key.
    /// The current master key, able to open what the previous ones (`QSPP_PREVIOUS_MASTER_KEYS`) sealed.
    public func resolveMasterKey() throws -> MasterKey {
        try resolveCurrentMasterKey().opening(previous: store.previousMasterKeys.map { try MasterKey(base64Seed: $0) })
    }

    private func resolveCurrentMasterKey() throws -> MasterKey {
        if let masterKey = store.masterKey { return try MasterKey(base64Seed: masterKey) }
        let path: String
        if let masterKeyFile = store.masterKeyFile {
            path = masterKeyFile
        } else if case .sqlite(let databasePath) = store.databaseURL {
            path =
                URL(fileURLWithPath: databasePath).deletingLastPathComponent().appendingPathComponent("master.key").path
            if !FileManager.default.fileExists(atPath: path) {
                try FileManager.default.createDirectory(
                    atPath: URL(fileURLWithPath: path).deletingLastPathComponent().path,
                    withIntermediateDirectories: true)
                do {
                    try SecretFile.create(atPath: path, contents: Data((MasterKey.generateSeedText() + "\n").utf8))
                } catch  where error.reason == SecretFile.exists {
                    // Another process started on the same database first: its key is the one.
                } catch {
                    throw MasterKeyFileError(path: path, reason: error.reason)
                }
            }
        } else {
            throw InvalidValue(
                key: Key.masterKey.rawValue,
                reason:
                    "PostgreSQL deployments must set QSPP_MASTER_KEY or QSPP_MASTER_KEY_FILE (see `qspp keys new-master-key`)"
            )
        }
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw MasterKeyFileError(path: path, reason: "cannot be read")
        }
        // Whoever can read this file can open every sealed field, backups included.
        guard SecretFile.isSharedWithOthers(path) == false else {
            throw MasterKeyFileError(path: path, reason: "must be readable by its owner only (chmod 600)")
        }
        do {
            return try MasterKey(base64Seed: text)
        } catch {
            throw MasterKeyFileError(path: path, reason: error.description)
        }
    }

    public struct MasterKeyFileError: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "master key file '\(path)': \(reason)" }
    }
}
