import Foundation
import Testing

/// The repository's root, for Tests/Interop.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

struct HelperFailure: Error, CustomStringConvertible {
    let description: String
}

/// Runs a command to its end and returns its standard output; a non-zero exit is a failure that says
/// what to install.
@discardableResult
func run(_ arguments: [String], needs: String) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.standardError
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw HelperFailure(description: "\(arguments[0]) \(arguments.dropFirst().first ?? "") failed (needs \(needs))")
    }
    return String(decoding: data, as: UTF8.self)
}

/// What Python's email package (an independent MIME implementation) reads in a message.
/// Decoded with `.convertFromSnakeCase`, as the helpers write snake_case keys.
struct ParsedMessage: Decodable {
    let from: [[String]]
    let to: [[String]]
    let subject: String
    let messageId: String
    let date: Double
    let contentType: String
    let parts: [String: String]
    let defects: [String]
    let longestLine: Int
    let bareLf: Bool
    let eightBit: Bool
}

func parsedByPython(_ message: String) throws -> ParsedMessage {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("qspp-mail-\(UUID().uuidString).eml")
    try Data(message.utf8).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let output = try run(
        ["python3", repositoryRoot.appendingPathComponent("Tests/Interop/mail_parse.py").path, file.path],
        needs: "python3")
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    return try decoder.decode(ParsedMessage.self, from: Data(output.utf8))
}

/// A self-signed certificate for `localhost` (and no address), made with Debian's openssl.
struct TestCertificate {
    let directory: URL
    var certificate: String { directory.appendingPathComponent("cert.pem").path }
    var key: String { directory.appendingPathComponent("key.pem").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("qspp-smtp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try run(
            [
                "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost",
                "-keyout", key, "-out", certificate,
            ], needs: "openssl")
    }
}

/// Tests/Interop/smtp_server.py (aiosmtpd) in one of its modes, on a port of its own.
final class SMTPServerProcess {
    let process = Process()
    let port: Int
    let received: URL
    let certificate: TestCertificate

    init(mode: String) throws {
        certificate = try TestCertificate()
        received = certificate.directory.appendingPathComponent("received")
        try FileManager.default.createDirectory(at: received, withIntermediateDirectories: true)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", repositoryRoot.appendingPathComponent("Tests/Interop/smtp_server.py").path, mode,
            certificate.certificate, certificate.key, received.path,
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        var line = Data()
        while let byte = try output.fileHandleForReading.read(upToCount: 1), let first = byte.first, first != 10 {
            line.append(first)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else {
            kill(process.processIdentifier, SIGKILL)
            throw HelperFailure(description: "smtp_server.py did not start (needs aiosmtpd from PyPI)")
        }
        self.port = port
    }

    /// The messages the server accepted, as it recorded them.
    func messages() throws -> [ReceivedMessage] {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try FileManager.default.contentsOfDirectory(atPath: received.path).filter { $0.hasSuffix(".json") }.map {
            try decoder.decode(
                ReceivedMessage.self, from: Data(contentsOf: received.appendingPathComponent($0)))
        }
    }

    /// SIGKILL without waiting: under the test runner a SIGTERM left Python's asyncio serving.
    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: certificate.directory)
    }
}

struct ReceivedMessage: Decodable {
    let mailFrom: String
    let rcptTos: [String]
    let tls: Bool
    let login: String?
    let data: String
}
