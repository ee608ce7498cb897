import Foundation
import Testing

@testable import Services

/// Export workspaces that no download discarded are removed once they are old enough to be nobody's.
@Suite("Export leftovers")
struct ExportLeftoverTests {
    static func workspace(modified: Date) throws -> String {
        let path = FileManager.default.temporaryDirectory
            .appendingPathComponent(ExportArchive.workspacePrefix + UUID().uuidString.lowercased()).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        try Data("zip".utf8).write(to: URL(fileURLWithPath: path + "/export.zip"))
        try FileManager.default.setAttributes([.modificationDate: modified], ofItemAtPath: path)
        return path
    }

    @Test func oldWorkspacesGoAndYoungOnesStay() throws {
        let now = Date()
        let abandoned = try Self.workspace(modified: now.addingTimeInterval(-2 * 3600))
        let inProgress = try Self.workspace(modified: now.addingTimeInterval(-60))
        let unrelated = FileManager.default.temporaryDirectory.appendingPathComponent("other-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: unrelated, withIntermediateDirectories: false)
        try FileManager.default.setAttributes(
            [.modificationDate: now.addingTimeInterval(-2 * 3600)], ofItemAtPath: unrelated)
        defer {
            for path in [inProgress, unrelated] { try? FileManager.default.removeItem(atPath: path) }
        }

        #expect(ExportArchive.removeLeftovers(olderThan: 3600, now: now) >= 1)
        #expect(!FileManager.default.fileExists(atPath: abandoned))
        #expect(FileManager.default.fileExists(atPath: inProgress + "/export.zip"))
        #expect(FileManager.default.fileExists(atPath: unrelated))
    }
}
