import Foundation
import Hummingbird
import NIOCore
import Services

extension Response {
    /// Streams the archive in 64 KiB chunks, then discards it (also when the answer cannot be made).
    static func download(_ archive: ExportArchive) throws -> Response {
        let size: Int
        let handle: FileHandle
        do {
            size = try FileManager.default.attributesOfItem(atPath: archive.file.path)[.size] as? Int ?? 0
            handle = try FileHandle(forReadingFrom: archive.file)
        } catch {
            archive.discard()
            throw error
        }
        let body = ResponseBody(contentLength: size) { writer in
            defer {
                try? handle.close()
                archive.discard()
            }
            while let chunk = try handle.read(upToCount: 64 * 1024), !chunk.isEmpty {
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        }
        return Response(
            status: .ok,
            headers: [
                .contentType: archive.contentType,
                .contentDisposition: "attachment; filename=\"\(archive.fileName)\"",
                .cacheControl: "no-store",
            ],
            body: body)
    }
}
