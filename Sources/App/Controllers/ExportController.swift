import Consent
import Foundation
import Hummingbird
import NIOCore
import PQCrypto
import Privacy
import Storage
import ZIPFoundation

/// Right of access and portability (GDPR Art. 15 and 20, CCPA right to know): everything held about
/// a person, as JSON and CSV in one ZIP, optionally encrypted to a post-quantum key they supply.
/// Built in a private temporary directory and streamed from disk, so memory stays flat.
struct ExportController {
    let services: AppServices

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("/v1/me/export", use: exportOwn)
        routes.post("/v1/me/export", use: exportOwnEncrypted)
        routes.get("/v1/subjects/:subjectId/export", use: exportForStaff)
        return routes
    }

    struct EncryptedExportInput: Decodable {
        struct Recipient: Decodable {
            /// `X-Wing` or `ML-KEM-768`.
            var kem: String
            /// The raw public key, base64url.
            var publicKey: String
        }
        var recipient: Recipient
    }

    @Sendable func exportOwn(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await export(try context.requireUser().userID, encryptTo: nil)
    }

    @Sendable func exportOwnEncrypted(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        var request = request
        let input = try await request.decodeJSON(EncryptedExportInput.self, context: context).value
        guard let recipient = ExportEnvelope.Recipient(rawValue: input.recipient.kem) else {
            throw Problem.invalid("recipient.kem: must be 'X-Wing' or 'ML-KEM-768'")
        }
        guard let key = Base64URL.decode(input.recipient.publicKey) else {
            throw Problem.invalid("recipient.publicKey: must be base64url")
        }
        do {
            try ExportEnvelope.validate(key, for: recipient)
        } catch {
            throw Problem.invalid("recipient.publicKey: \(error)")
        }
        return try await export(user.userID, encryptTo: (recipient, key))
    }

    /// Staff export on a person's behalf (an access, portability or know request being fulfilled).
    @Sendable func exportForStaff(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        guard user.canReadAnySubject else { throw Problem.forbidden }
        guard let subject = context.parameters.get("subjectId").flatMap({ UUID(uuidString: $0) }) else {
            throw Problem.notFound
        }
        return try await export(subject, encryptTo: nil)
    }

    func export(
        _ userID: UUID, encryptTo recipient: (ExportEnvelope.Recipient, Data)?
    ) async throws -> Response {
        if let erasedAt = try await services.store.erasure(of: userID.lowercasedString) {
            throw Problem(
                .gone, "erased", "Erased",
                detail: "this person's data was erased on \(RFC3339.string(from: erasedAt)); nothing remains to export")
        }
        guard try await services.identity.account(id: userID) != nil else { throw Problem.notFound }
        let workspace = FileManager.default.temporaryDirectory
            .appendingPathComponent("qspp-export-\(UUID().lowercasedString)")
        try FileManager.default.createDirectory(
            at: workspace, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        do {
            let files = workspace.appendingPathComponent("files")
            try FileManager.default.createDirectory(at: files, withIntermediateDirectories: false)
            let names = try await services.store.writeExport(of: userID, into: files)
            let zip = workspace.appendingPathComponent("export.zip")
            let archive = try Archive(url: zip, accessMode: .create)
            for name in names {
                try archive.addEntry(with: name, relativeTo: files, compressionMethod: .deflate)
            }
            try? FileManager.default.removeItem(at: files)
            let stamp = userID.lowercasedString.prefix(8)
            guard let (kem, key) = recipient else {
                return try stream(zip, workspace: workspace, type: "application/zip", name: "qspp-export-\(stamp).zip")
            }
            let sealed = workspace.appendingPathComponent("export.zip.qspp")
            try ExportEnvelope.encrypt(zip, to: sealed, recipient: kem, publicKey: key)
            try? FileManager.default.removeItem(at: zip)
            return try stream(
                sealed, workspace: workspace, type: "application/octet-stream", name: "qspp-export-\(stamp).zip.qspp")
        } catch {
            try? FileManager.default.removeItem(at: workspace)
            throw error
        }
    }

    /// Streams the file in 64 KiB chunks, then deletes the workspace.
    private func stream(_ file: URL, workspace: URL, type: String, name: String) throws -> Response {
        let size = try FileManager.default.attributesOfItem(atPath: file.path)[.size] as? Int ?? 0
        let handle = try FileHandle(forReadingFrom: file)
        let body = ResponseBody(contentLength: size) { writer in
            defer {
                try? handle.close()
                try? FileManager.default.removeItem(at: workspace)
            }
            while let chunk = try handle.read(upToCount: 64 * 1024), !chunk.isEmpty {
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: type, .contentDisposition: "attachment; filename=\"\(name)\"",
                .cacheControl: "no-store",
            ],
            body: body)
    }
}
