import Foundation
import PQCrypto
import QSPPTestSupport
import Testing

/// The key and account commands as an operator runs them: the real `qspp` binary on a fresh embedded
/// store, with only the environment it is given.
@Suite("Command line")
struct CommandLineTests {
    struct Run {
        let status: Int32
        let output: String
    }

    /// Runs `qspp arguments…` with `environment` alone (no inherited `QSPP_` variable) and waits for it.
    static func qspp(_ arguments: [String], _ environment: [String: String] = [:]) async throws -> Run {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ServerProcess.binary)
        process.arguments = arguments
        var inherited = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("QSPP_") }
        inherited["QSPP_LOG_LEVEL"] = "error"
        process.environment = inherited.merging(environment) { _, new in new }
        let outputPath = temporaryPath("qspp-cli", extension: "log")
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(120)
        while process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning {
            process.terminate()
            Issue.record("qspp \(arguments.joined(separator: " ")) did not finish")
        }
        try output.close()
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        return Run(
            status: process.terminationStatus,
            output: (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "")
    }

    static func freshDirectory() throws -> URL {
        let directory = URL(fileURLWithPath: temporaryPath("qspp-cli", extension: "d"))
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    /// With no key configured, the embedded store keeps one beside its database, private to its owner,
    /// and uses the same one on every later start.
    @Test func theEmbeddedStoreKeepsItsOwnMasterKeyBesideTheDatabase() async throws {
        let directory = try Self.freshDirectory()
        let database = "sqlite:" + directory.appendingPathComponent("nested/qspp.sqlite").path
        let first = try await Self.qspp(["keys", "list", "--database-url", database])
        #expect(first.status == 0, "\(first.output)")
        let keyPath = directory.appendingPathComponent("nested/master.key").path
        let key = try String(contentsOfFile: keyPath, encoding: .utf8)
        #expect((try? MasterKey(base64Seed: key)) != nil)
        let mode = try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)

        let second = try await Self.qspp(["keys", "list", "--database-url", database])
        #expect(second.status == 0, "\(second.output)")
        #expect(try String(contentsOfFile: keyPath, encoding: .utf8) == key, "the key is reused, not replaced")
    }

    /// A key file that is missing or wrong stops the command, naming the file and never its content;
    /// PostgreSQL never gets a key made up for it, and is refused before any connection is tried.
    @Test func aBadMasterKeyFileOrAMissingPostgreSQLKeyIsRefused() async throws {
        let directory = try Self.freshDirectory()
        let database = "sqlite:" + directory.appendingPathComponent("qspp.sqlite").path
        let missing = directory.appendingPathComponent("absent.key").path
        let absent = try await Self.qspp(
            ["keys", "list", "--database-url", database], ["QSPP_MASTER_KEY_FILE": missing])
        #expect(absent.status != 0)
        #expect(absent.output.contains("master key file '\(missing)': cannot be read"), "\(absent.output)")

        let wrong = directory.appendingPathComponent("wrong.key").path
        let secretLooking = "not-a-key-but-a-secret-\(UUID().uuidString)"
        try Data(secretLooking.utf8).write(to: URL(fileURLWithPath: wrong))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: wrong)
        let bad = try await Self.qspp(["keys", "list", "--database-url", database], ["QSPP_MASTER_KEY_FILE": wrong])
        #expect(bad.status != 0)
        #expect(bad.output.contains("master key file '\(wrong)'"), "\(bad.output)")
        #expect(!bad.output.contains(secretLooking))
        #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("master.key").path))

        #expect(
            bad.output.contains("must be the base64 text"), "the file is private, so its content is what is refused")

        // Where no file can be made, the start stops and says where.
        let unwritable = try await Self.qspp(["keys", "list", "--database-url", "sqlite:/proc/qspp.sqlite"])
        #expect(unwritable.status != 0)
        #expect(
            unwritable.output.contains("master key file '/proc/master.key': cannot be created"), "\(unwritable.output)")

        let postgres = try await Self.qspp(["keys", "list", "--database-url", "postgres://qspp@127.0.0.1:1/qspp"])
        #expect(postgres.status != 0)
        #expect(postgres.output.contains("PostgreSQL deployments must set QSPP_MASTER_KEY"), "\(postgres.output)")
    }

    /// The operator's key commands end to end: a signing-key rotation, an administrator and their roles,
    /// then a master-key rotation after which the old key is no longer needed, and is no longer enough.
    @Test func signingAndMasterKeysRotateAndAccountsAreManagedFromTheCommandLine() async throws {
        let directory = try Self.freshDirectory()
        let database = "sqlite:" + directory.appendingPathComponent("qspp.sqlite").path
        let old = try await Self.qspp(["keys", "new-master-key"])
        #expect(old.status == 0)
        let oldKey = old.output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect((try? MasterKey(base64Seed: oldKey)) != nil, "\(old.output)")
        let onOld = ["QSPP_MASTER_KEY": oldKey]

        let rotate = try await Self.qspp(["keys", "rotate", "--database-url", database], onOld)
        #expect(rotate.status == 0, "\(rotate.output)")
        #expect(rotate.output.contains("new signing key"))
        let listed = try await Self.qspp(["keys", "list", "--database-url", database], onOld)
        let keyLines = listed.output.split(separator: "\n").dropFirst()
        #expect(keyLines.count == 2, "\(listed.output)")
        #expect(keyLines.filter { $0.hasSuffix("signing") }.count == 1)
        #expect(keyLines.filter { $0.contains("retired") }.count == 1)

        let email = "cli-admin-\(UUID().uuidString.lowercased())@example.com"
        var admin = onOld
        admin["QSPP_ADMIN_PASSWORD"] = testPassword
        let created = try await Self.qspp(
            ["users", "create-admin", "--email", email, "--database-url", database], admin)
        #expect(created.status == 0, "\(created.output)")
        #expect(created.output.contains("administrator \(email) created"))
        let again = try await Self.qspp(["users", "create-admin", "--email", email, "--database-url", database], admin)
        #expect(again.status != 0, "an email is an account only once")
        let roles = try await Self.qspp(
            ["users", "set-roles", "--email", email, "--roles", "user,dpo", "--database-url", database], onOld)
        #expect(roles.status == 0, "\(roles.output)")
        let badRoles = try await Self.qspp(
            ["users", "set-roles", "--email", email, "--roles", "user,emperor", "--database-url", database], onOld)
        #expect(badRoles.status != 0)

        let newKey = try await Self.qspp(["keys", "new-master-key"]).output.trimmingCharacters(
            in: .whitespacesAndNewlines)
        #expect(newKey != oldKey)
        let rotating = ["QSPP_MASTER_KEY": newKey, "QSPP_PREVIOUS_MASTER_KEYS": oldKey]
        let rewrapped = try await Self.qspp(["keys", "rotate-kek", "--database-url", database], rotating)
        #expect(rewrapped.status == 0, "\(rewrapped.output)")
        #expect(rewrapped.output.contains("2 signing keys"), "\(rewrapped.output)")
        #expect(rewrapped.output.contains("every server may now drop QSPP_PREVIOUS_MASTER_KEYS"))

        let onNew = try await Self.qspp(["keys", "list", "--database-url", database], ["QSPP_MASTER_KEY": newKey])
        #expect(onNew.status == 0, "\(onNew.output)")
        #expect(onNew.output.split(separator: "\n").count == 3)
        let onOldAlone = try await Self.qspp(["keys", "list", "--database-url", database], onOld)
        #expect(onOldAlone.status != 0, "after the rotation the old key opens nothing")
    }

    /// A valid key that its group or others may read is refused, since whoever reads it reads every
    /// sealed field.
    @Test func aMasterKeyFileOthersCanReadIsRefused() async throws {
        let directory = try Self.freshDirectory()
        let database = "sqlite:" + directory.appendingPathComponent("qspp.sqlite").path
        let keyPath = directory.appendingPathComponent("shared.key").path
        try Data((MasterKey.generateSeedText() + "\n").utf8).write(to: URL(fileURLWithPath: keyPath))
        for mode in [0o644, 0o640, 0o604] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: keyPath)
            let run = try await Self.qspp(
                ["keys", "list", "--database-url", database], ["QSPP_MASTER_KEY_FILE": keyPath])
            #expect(run.status != 0)
            #expect(
                run.output.contains("must be readable by its owner only"),
                "mode \(String(mode, radix: 8)): \(run.output)")
        }
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyPath)
        let run = try await Self.qspp(["keys", "list", "--database-url", database], ["QSPP_MASTER_KEY_FILE": keyPath])
        #expect(run.status == 0, "\(run.output)")
    }

    /// The export key and the development TLS key are made private and never written over a file that
    /// is already there, which may be the only copy of a key.
    @Test func keyFilesAreCreatedPrivateAndNeverOverwritten() async throws {
        let directory = try Self.freshDirectory()
        let seedPath = directory.appendingPathComponent("me.seed").path
        let made = try await Self.qspp(["export", "keygen", "--private-key", seedPath])
        #expect(made.status == 0, "\(made.output)")
        let seed = try Data(contentsOf: URL(fileURLWithPath: seedPath))
        let mode = try FileManager.default.attributesOfItem(atPath: seedPath)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        let again = try await Self.qspp(["export", "keygen", "--private-key", seedPath])
        #expect(again.status != 0)
        #expect(again.output.contains("already exists"), "\(again.output)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: seedPath)) == seed)

        let tls = directory.appendingPathComponent("tls").path
        #expect(try await Self.qspp(["dev-cert", "--output", tls]).status == 0)
        let keyPath = tls + "/key.pem"
        let key = try Data(contentsOf: URL(fileURLWithPath: keyPath))
        let keyMode = try FileManager.default.attributesOfItem(atPath: keyPath)[.posixPermissions] as? NSNumber
        #expect(keyMode?.intValue == 0o600)
        let second = try await Self.qspp(["dev-cert", "--output", tls])
        #expect(second.status != 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: keyPath)) == key)
        #expect(try FileManager.default.contentsOfDirectory(atPath: tls).sorted() == ["cert.pem", "key.pem"])
    }
}
