import Foundation
import Kernel
import Testing

@Suite("Secret files")
struct SecretFileTests {
    static func freshDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("secret-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
        return path
    }

    @Test func aNewFileIsPrivateWholeAndAlone() throws {
        let directory = try Self.freshDirectory()
        let path = directory + "/key"
        let contents = Data((0..<70_000).map { UInt8(truncatingIfNeeded: $0) })
        try SecretFile.create(atPath: path, contents: contents)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == contents)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        #expect(SecretFile.isSharedWithOthers(path) == false)
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["key"], "no temporary file is left")
    }

    @Test func anExistingFileIsNeverOverwritten() throws {
        let directory = try Self.freshDirectory()
        let path = directory + "/key"
        try SecretFile.create(atPath: path, contents: Data("first".utf8))
        #expect(throws: SecretFile.Failure(path: path, reason: SecretFile.exists)) {
            try SecretFile.create(atPath: path, contents: Data("second".utf8))
        }
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "first")
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory) == ["key"])
    }

    @Test func aMissingFolderIsAFailureNotACrash() {
        let path = "/nonexistent-\(UUID().uuidString)/key"
        #expect(throws: SecretFile.Failure.self) { try SecretFile.create(atPath: path, contents: Data("x".utf8)) }
        #expect(SecretFile.isSharedWithOthers(path) == nil)
    }

    @Test func groupOrOtherAccessIsSeen() throws {
        let directory = try Self.freshDirectory()
        let path = directory + "/key"
        try SecretFile.create(atPath: path, contents: Data("k".utf8))
        for mode in [0o640, 0o604, 0o610, 0o601, 0o644] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
            #expect(SecretFile.isSharedWithOthers(path) == true, "mode \(String(mode, radix: 8))")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o400], ofItemAtPath: path)
        #expect(SecretFile.isSharedWithOthers(path) == false)
    }
}
