import Foundation
import Kernel

/// The embedded default: each message becomes an `.eml` file in a folder, readable by any mail
/// program, so a portal without an SMTP server still works end to end. Files are private (0600),
/// appear whole or not at all, and reach the disk before `send` returns.
public struct MailDirectory: MailTransport {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    public func send(_ message: MailMessage) async throws(MailError) {
        var isDirectory: ObjCBool = false
        if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
            do {
                try FileManager.default.createDirectory(
                    atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw MailError(.storageFailed)
            }
        } else if !isDirectory.boolValue {
            throw MailError(.storageFailed)
        }
        let stamp = Int64(message.date.timeIntervalSince1970 * 1_000_000)
        let name = "\(stamp)-\(UUID().uuidString.lowercased()).eml"
        do {
            try SecretFile.create(atPath: path + "/" + name, contents: Data(message.rendered().utf8))
        } catch {
            throw MailError(.storageFailed)
        }
    }
}
