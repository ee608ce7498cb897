public import Foundation
import Kernel
public import PQCrypto
import ZIPFoundation

/// A person's export packed for delivery: a ZIP of ``PersonalDataExport``'s files, optionally sealed to
/// a post-quantum key they supply, built in a private temporary directory so memory stays flat. The
/// caller streams `file` and then calls ``discard()``.
public struct ExportArchive: Sendable {
    public let file: URL
    public let contentType: String
    public let fileName: String
    let workspace: URL

    /// Removes the archive and its workspace.
    public func discard() {
        try? FileManager.default.removeItem(at: workspace)
    }

    static let workspacePrefix = "qspp-export-"

    /// Removes the workspaces of exports that were never discarded: the server died while sending one,
    /// or the client left before the download began. Only those older than `age`, since replicas on one
    /// host share the temporary folder and a younger one may be another's download in progress.
    /// Returns how many went.
    @discardableResult
    public static func removeLeftovers(olderThan age: TimeInterval = 3600, now: Date = Date()) -> Int {
        let folder = FileManager.default.temporaryDirectory
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        var removed = 0
        for name in names where name.hasPrefix(workspacePrefix) {
            let path = folder.appendingPathComponent(name).path
            guard let modified = try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date,
                now.timeIntervalSince(modified) > age
            else { continue }
            if (try? FileManager.default.removeItem(atPath: path)) != nil { removed += 1 }
        }
        return removed
    }
}

extension PersonalDataExport {
    /// Packs everything held about `userID`. Refuses an erased person (nothing remains) and an unknown one.
    public func archive(
        of userID: UUID, encryptTo recipient: (ExportEnvelope.Recipient, Data)?
    ) async throws -> ExportArchive {
        if let erasedAt = try await store.erasures.erasure(of: userID.lowercasedString) {
            throw ServiceError.erased(at: erasedAt)
        }
        guard try await store.identity.account(id: userID) != nil else { throw ServiceError.accountNotFound }
        let workspace = FileManager.default.temporaryDirectory
            .appendingPathComponent(ExportArchive.workspacePrefix + UUID().lowercasedString)
        try FileManager.default.createDirectory(
            at: workspace, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        do {
            let files = workspace.appendingPathComponent("files")
            try FileManager.default.createDirectory(at: files, withIntermediateDirectories: false)
            let names = try await writeExport(of: userID, into: files)
            let zip = workspace.appendingPathComponent("export.zip")
            let archive = try Archive(url: zip, accessMode: .create)
            for name in names {
                try archive.addEntry(with: name, relativeTo: files, compressionMethod: .deflate)
            }
            try? FileManager.default.removeItem(at: files)
            let stamp = userID.lowercasedString.prefix(8)
            guard let (kem, key) = recipient else {
                return ExportArchive(
                    file: zip, contentType: "application/zip", fileName: "qspp-export-\(stamp).zip",
                    workspace: workspace)
            }
            let sealed = workspace.appendingPathComponent("export.zip.qspp")
            try ExportEnvelope.encrypt(zip, to: sealed, recipient: kem, publicKey: key)
            try? FileManager.default.removeItem(at: zip)
            return ExportArchive(
                file: sealed, contentType: "application/octet-stream", fileName: "qspp-export-\(stamp).zip.qspp",
                workspace: workspace)
        } catch {
            try? FileManager.default.removeItem(at: workspace)
            throw error
        }
    }
}
