import Foundation

/// The repository's root, for Tests/Interop.
public let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

public struct HelperFailure: Error, CustomStringConvertible {
    public let description: String
    public init(description: String) { self.description = description }
}

/// Runs a command (found on the PATH) to its end, and returns its exit status and standard output.
public func runToEnd(_ arguments: [String]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let output = Pipe()
    process.standardOutput = output
    process.standardError = FileHandle.standardError
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Runs a command to its end and returns its standard output; a non-zero exit is a failure that says
/// what to install.
@discardableResult
public func run(_ arguments: [String], needs: String) throws -> String {
    let result = try runToEnd(arguments)
    guard result.status == 0 else {
        throw HelperFailure(description: "\(arguments[0]) \(arguments.dropFirst().first ?? "") failed (needs \(needs))")
    }
    return result.output
}

/// What Python's email package (an independent MIME implementation) reads in a message.
/// Decoded with `.convertFromSnakeCase`, as the helpers write snake_case keys.
public struct ParsedMessage: Decodable {
    public let from: [[String]]
    public let to: [[String]]
    public let subject: String
    public let messageId: String
    public let date: Double
    public let contentType: String
    public let parts: [String: String]
    public let defects: [String]
    public let longestLine: Int
    public let bareLf: Bool
    public let eightBit: Bool
}

public func parsedByPython(_ message: String) throws -> ParsedMessage {
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
public struct TestCertificate: Sendable {
    public let directory: URL
    public var certificate: String { directory.appendingPathComponent("cert.pem").path }
    public var key: String { directory.appendingPathComponent("key.pem").path }

    public init() throws {
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

/// Tests/Interop/smtp_server.py (aiosmtpd) in one of its modes, on a port of its own. Unchecked:
/// nothing in it changes after `init`, and its process is touched again only by `deinit`.
public final class SMTPServerProcess: @unchecked Sendable {
    let process = Process()
    public let port: Int
    public let received: URL
    public let certificate: TestCertificate

    /// Listens on `port`, or on a free one.
    public init(mode: String, port: Int? = nil, certificate: TestCertificate? = nil) throws {
        self.certificate = try certificate ?? TestCertificate()
        received = self.certificate.directory.appendingPathComponent("received-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: received, withIntermediateDirectories: true)
        self.port = try startPythonServer(
            process, "smtp_server.py",
            [mode, self.certificate.certificate, self.certificate.key, received.path, String(port ?? 0)],
            needs: "aiosmtpd from PyPI")
    }

    /// The messages the server accepted, as it recorded them.
    public func messages() throws -> [ReceivedMessage] {
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

public struct ReceivedMessage: Decodable {
    public let mailFrom: String
    public let rcptTos: [String]
    public let tls: Bool
    public let login: String?
    public let data: String
}

/// Runs `Tests/Interop/<script>` with `arguments` in `process`, and returns the port it prints on its
/// first line once it listens; kills it and fails, naming what it `needs`, when it prints none.
public func startPythonServer(_ process: Process, _ script: String, _ arguments: [String], needs: String) throws -> Int
{
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", repositoryRoot.appendingPathComponent("Tests/Interop/" + script).path] + arguments
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
        throw HelperFailure(description: "\(script) did not start (needs \(needs))")
    }
    return port
}
