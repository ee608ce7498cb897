import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Files that hold keys: created private from their first byte, never over an existing file, and
/// refused when others may read them.
public enum SecretFile {
    public struct Failure: Error, CustomStringConvertible, Equatable {
        public let path: String
        public let reason: String
        public var description: String { "'\(path)': \(reason)" }

        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
    }

    /// Writes `contents` to a new file at `path` with mode 0600. The file appears whole or not at all:
    /// the bytes go to a private temporary file in the same folder, reach the disk, and are then linked
    /// into place, which fails if `path` exists. Throws `Failure` with reason ``exists`` in that case.
    public static func create(atPath path: String, contents: some DataProtocol) throws(Failure) {
        let directory = (path as NSString).deletingLastPathComponent
        let temporary = (directory.isEmpty ? "." : directory) + "/.\(UUID().uuidString).tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw Failure(path: path, reason: "cannot be created (\(errorText()))") }
        defer { unlink(temporary) }
        let bytes = Array(contents)
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            guard result > 0 || (result < 0 && errno == EINTR) else {
                close(descriptor)
                throw Failure(path: path, reason: "cannot be written (\(errorText()))")
            }
            written += max(result, 0)
        }
        let synced = fsync(descriptor) == 0
        close(descriptor)
        guard synced else { throw Failure(path: path, reason: "cannot be written (\(errorText()))") }
        guard link(temporary, path) == 0 else {
            if errno == EEXIST { throw Failure(path: path, reason: exists) }
            throw Failure(path: path, reason: "cannot be created (\(errorText()))")
        }
    }

    /// The reason ``create(atPath:contents:)`` gives when the file is already there.
    public static let exists = "already exists; it is never overwritten"

    /// Whether the file's group or others have any access to it. Nil if it cannot be examined.
    public static func isSharedWithOthers(_ path: String) -> Bool? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        return status.st_mode & 0o077 != 0
    }

    private static func errorText() -> String { String(cString: strerror(errno)) }
}
