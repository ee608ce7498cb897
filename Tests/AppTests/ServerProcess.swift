import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import QSPPTestSupport
import Synchronization
import Testing

/// A real `qspp serve` process, for what only a process can show: crashes, signals and outages.
final class ServerProcess: Sendable {
    let process: Process
    let port: Int
    let logPath: String
    let databaseURL: String
    private let token = Mutex<String?>(nil)
    /// An administrator's access token, created through the CLI and a real login once the server listens.
    var adminAccessToken: String { token.withLock { $0 ?? "" } }

    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["QSPP_BINARY"], !path.isEmpty { return path }
        // Tests/AppTests/ServerProcess.swift -> package root -> .build/debug/qspp
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        return root.appendingPathComponent(".build/debug/qspp").path
    }

    init(databaseURL: String, port: Int? = nil, environment extra: [String: String] = [:]) throws {
        self.port = try port ?? freePort()
        self.logPath = temporaryPath("qspp-server", extension: "log")
        _ = FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
        process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        self.databaseURL = databaseURL
        process.arguments = ["serve", "--port", String(self.port), "--database-url", databaseURL]
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("QSPP_") }
        environment["QSPP_MASTER_KEY"] = testMasterKey
        environment["QSPP_LOG_LEVEL"] = "warning"
        for limit in ["GLOBAL", "CONSENT", "COSTLY"] { environment["QSPP_RATE_LIMIT_\(limit)"] = "100000000" }
        environment.merge(extra) { _, new in new }
        process.environment = environment
        process.standardOutput = log
        process.standardError = log
        try process.run()
    }

    /// Polls `/health` until the server answers, or fails after `timeout`.
    func waitUntilListening(timeout: Duration = .seconds(60)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            guard process.isRunning else { break }
            if let response = try? await request(.get, "/health"), response.status == .ok {
                try await signInAsAdministrator()
                return
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("server did not start; its log:\n\(log)")
        throw CancellationError()
    }

    /// `qspp users create-admin` against the same database, then `POST /v1/auth/login`.
    private func signInAsAdministrator() async throws {
        guard token.withLock({ $0 == nil }) else { return }
        let email = "admin-\(UUID().uuidString.lowercased())@qspp.test"
        try await shell(
            "QSPP_MASTER_KEY='\(testMasterKey)' QSPP_ADMIN_PASSWORD='\(testPassword)' QSPP_LOG_LEVEL=error "
                + "'\(Self.binary)' users create-admin --email \(email) --database-url '\(databaseURL)'")
        let login = try await request(
            .post, "/v1/auth/login", json: #"{"email":"\#(email)","password":"\#(testPassword)"}"#, authorized: false)
        let bytes = login.body.map { Data($0.readableBytesView) } ?? Data()
        let body = try JSONSerialization.jsonObject(with: bytes) as? [String: Any]
        guard let accessToken = body?["accessToken"] as? String else {
            Issue.record("admin login failed: \(login.status)")
            throw CancellationError()
        }
        token.withLock { $0 = accessToken }
    }

    var log: String { (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "" }

    func request(
        _ method: HTTPRequest.Method, _ uri: String, json: String? = nil, headers: HTTPFields = [:],
        authorized: Bool = true
    )
        async throws -> TestClient.Response
    {
        let token = authorized ? token.withLock { $0 } : nil
        return try await TestClient.withClient(
            host: "127.0.0.1", port: port, configuration: .init(timeout: .seconds(20))
        ) {
            try await $0.send(method, uri, json: json, headers: headers, token: token)
        }
    }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the process to end and returns its exit status, or nil if it is still running after `timeout`.
    func waitForExit(timeout: Duration = .seconds(20)) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

extension TestClient {
    func send(
        _ method: HTTPRequest.Method, _ uri: String, json: String? = nil, headers: HTTPFields = [:], token: String?
    )
        async throws -> TestClient.Response
    {
        var headers = headers
        if let token { headers[.authorization] = "Bearer \(token)" }
        if json != nil { headers[.contentType] = "application/json" }
        return try await execute(
            .init(uri, method: method, headers: headers, body: json.map { ByteBuffer(string: $0) }))
    }
}

/// A port nothing listens on right now, from the kernel's ephemeral range.
func freePort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
    }
    guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// Runs a shell command to completion. Foundation's `Process` would wait for every descendant
/// that inherits its status pipe, and `pg_ctl start` leaves a daemon behind, so this spawns directly.
func shell(_ command: String) async throws {
    var pid: pid_t = 0
    let arguments = ["/bin/bash", "-c", command + " </dev/null >/dev/null 2>&1"]
    var argv = arguments.map { strdup($0) } + [nil]
    defer { for argument in argv { free(argument) } }
    guard posix_spawn(&pid, "/bin/bash", nil, nil, &argv, environ) == 0 else { throw POSIXError(.ECHILD) }
    let child = pid
    let status = await withCheckedContinuation { continuation in
        DispatchQueue.global().async {
            var status: Int32 = 0
            while waitpid(child, &status, 0) == -1 && errno == EINTR {}
            continuation.resume(returning: status)
        }
    }
    guard status == 0 else { throw POSIXError(.EIO) }
}
