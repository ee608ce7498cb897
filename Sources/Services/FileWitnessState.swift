public import Foundation
public import Privacy

/// A witness's state in one file: the latest checkpoint it cosigned per log. Each change is written
/// to a new file, flushed to disk and renamed over the old one before the witness answers, so a crash
/// leaves either the old state or the new one, never a torn one and never a cosignature it forgot.
public actor FileWitnessState: WitnessState {
    private struct Stored: Codable {
        var size: Int64
        var root: Data
    }

    private let path: String
    private var logs: [String: Stored]

    public init(path: String) throws {
        self.path = path
        if let data = FileManager.default.contents(atPath: path) {
            logs = try JSONDecoder().decode([String: Stored].self, from: data)
        } else {
            logs = [:]
        }
    }

    public func latest(origin: String) -> TreeCheckpoint? {
        logs[origin].map { TreeCheckpoint(origin: origin, size: $0.size, root: $0.root) }
    }

    public func advance(from expected: Int64, to next: TreeCheckpoint) throws -> Bool {
        guard (logs[next.origin]?.size ?? 0) == expected else { return false }
        var changed = logs
        changed[next.origin] = Stored(size: next.size, root: next.root)
        try Self.writeDurably(try JSONEncoder().encode(changed), to: path)
        logs = changed
        return true
    }

    private static func writeDurably(_ data: Data, to path: String) throws {
        let temporary = path + ".new"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        guard descriptor >= 0 else { throw POSIXError(.EIO) }
        let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        let synced = fsync(descriptor)
        close(descriptor)
        guard written == data.count, synced == 0, rename(temporary, path) == 0 else { throw POSIXError(.EIO) }
        let parent = (path as NSString).deletingLastPathComponent
        let directory = open(parent.isEmpty ? "." : parent, O_RDONLY)
        if directory >= 0 {
            fsync(directory)
            close(directory)
        }
    }
}
