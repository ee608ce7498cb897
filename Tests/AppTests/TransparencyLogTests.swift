import Foundation
import Privacy
import QSPPTestSupport
import Testing

/// The log as an outsider checks it: checkpoints, inclusion and consistency proofs fetched over HTTP
/// without an account, checked by Go's checksum-database code and by dilithium-py, not by QSPP's.
@Suite("Transparency log")
struct TransparencyLogTests {
    @Test(arguments: Backend.all)
    func outsidersCheckTheLogWithCodeThatIsNotOurs(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser()
            func decide(_ count: Int) async throws {
                for index in 0..<count {
                    try await api.send(
                        .post, "/v1/subjects/\(user.id)/consents",
                        json: #"{"purpose":"analytics","decision":"\#(index % 2 == 0 ? "granted" : "withdrawn")"}"#,
                        token: user.accessToken)
                }
            }
            try await decide(3)
            // The checkpoints as signed; on the shared PostgreSQL another test may sign a later one at once.
            let firstCheckpoint = try await api.send(.post, "/v1/admin/ledger/checkpoints").object()
            let first = try #require(firstCheckpoint["size"] as? Int)
            let firstNote = try #require(firstCheckpoint["note"] as? String)
            try await decide(5)
            let secondCheckpoint = try await api.send(.post, "/v1/admin/ledger/checkpoints").object()
            let second = try #require(secondCheckpoint["size"] as? Int)
            let secondNote = try #require(secondCheckpoint["note"] as? String)
            #expect(second > first)
            let published = try await api.send(.get, "/v1/ledger/checkpoint/note", token: nil)
            #expect(published.headers[.contentType] == "text/plain; charset=utf-8")
            let latest = try #require(SignedNote(parsing: String(buffer: published.body)))
            #expect((TreeCheckpoint(text: latest.text)?.size ?? 0) >= Int64(second))

            let keys = try await api.send(.get, "/v1/ledger/keys", token: nil).object()
            let listed = try #require(keys["keys"] as? [[String: String]])
            let ed25519 = try #require(listed.first { $0["algorithm"] == "Ed25519" }?["verifierKey"])
            let mldsa = try #require(listed.first { $0["algorithm"] == "ML-DSA-65" }?["verifierKey"])

            // The first entry and this test's own: the shared database may hold thousands before them.
            let entries =
                try await api.services.store.ledger.ledgerEntries(after: 0, limit: 1)
                + api.services.store.ledger.ledgerEntries(after: Int64(max(second - 10, 1)), limit: 10)
            var inclusion: [[String: Any]] = []
            for entry in entries {
                let proof = try await api.send(
                    .get, "/v1/ledger/inclusion?seq=\(entry.sequence)&size=\(second)", token: nil
                ).object()
                inclusion.append([
                    "index": entry.sequence - 1, "leaf": entry.leaf.base64EncodedString(),
                    "proof": try #require(proof["proof"] as? [String]),
                ])
            }
            let consistency = try await api.send(.get, "/v1/ledger/consistency?from=\(first)&to=\(second)", token: nil)
                .object()
            let parsedFirst = try #require(SignedNote(parsing: firstNote))
            let firstRoot = try #require(TreeCheckpoint(text: parsedFirst.text)).root
            let request: [String: Any] = [
                "vkey": ed25519, "note": secondNote, "inclusion": inclusion,
                "consistency": [
                    [
                        "size": first, "root": firstRoot.base64EncodedString(),
                        "proof": try #require(consistency["proof"] as? [String]),
                    ]
                ],
            ]
            let genuine = try checkLog(request)
            #expect(genuine.status == 0 && genuine.output == "VALID", "\(genuine)")

            // Each lie is refused as a verdict (exit 1), never as a crash.
            var wrongLeaf = request
            var changed = inclusion
            changed[0]["leaf"] = Data("consent:forged\n{}".utf8).base64EncodedString()
            wrongLeaf["inclusion"] = changed
            var wrongRoot = request
            wrongRoot["consistency"] = [
                ["size": first, "root": Data(count: 32).base64EncodedString(), "proof": consistency["proof"]!]
            ]
            var forgedNote = request
            forgedNote["note"] = secondNote.replacingOccurrences(of: "\n\(second)\n", with: "\n\(second + 1)\n")
            for (name, lie) in [
                ("a changed leaf", wrongLeaf), ("a wrong old root", wrongRoot), ("a forged note", forgedNote),
            ] {
                let refused = try checkLog(lie)
                #expect(refused.status == 1 && refused.output.hasPrefix("INVALID: "), "\(name): \(refused)")
            }

            // The ML-DSA-65 line, by dilithium-py, which recomputes the documented key id itself.
            let key = try #require(NoteVerifierKey(text: mldsa))
            let file = temporaryPath("qspp-note", extension: "txt")
            defer { try? FileManager.default.removeItem(atPath: file) }
            try secondNote.write(toFile: file, atomically: true, encoding: .utf8)
            let pq = try python("mldsa_note.py", [file, key.name, key.publicKey.base64EncodedString()])
            #expect(pq.status == 0 && pq.output == "VALID", "\(pq)")
            try forgedNote["note"].map { try ($0 as! String).write(toFile: file, atomically: true, encoding: .utf8) }
            let refused = try python("mldsa_note.py", [file, key.name, key.publicKey.base64EncodedString()])
            #expect(refused.status == 1 && refused.output == "INVALID: signature does not verify", "\(refused)")
        }
    }

    @Test(arguments: Backend.all)
    func badProofRequestsAreRefusedClearly(backend: Backend) async throws {
        try await withApp(backend) { api in
            if backend == .sqlite {
                // A store of its own, with no checkpoint yet (the PostgreSQL database is shared).
                try await api.send(.get, "/v1/ledger/inclusion?seq=1", token: nil).expectProblem(.notFound)
            }
            let user = try await api.newUser()
            try await api.send(
                .post, "/v1/subjects/\(user.id)/consents", json: #"{"purpose":"analytics","decision":"granted"}"#,
                token: user.accessToken)
            let size = try #require(try await api.send(.post, "/v1/admin/ledger/checkpoints").object()["size"] as? Int)
            for query in ["", "seq=x", "seq=0", "seq=-3", "seq=1&size=0", "seq=\(size + 1)&size=\(size)"] {
                try await api.send(.get, "/v1/ledger/inclusion?\(query)", token: nil).expectProblem(.badRequest)
            }
            try await api.send(.get, "/v1/ledger/inclusion?seq=1&size=\(size + 1000)", token: nil)
                .expectProblem(.notFound)
            for query in ["", "from=x", "from=-1", "from=\(size + 1)&to=\(size)", "from=0&to=0"] {
                try await api.send(.get, "/v1/ledger/consistency?\(query)", token: nil).expectProblem(.badRequest)
            }
            let same = try await api.send(.get, "/v1/ledger/consistency?from=\(size)&to=\(size)", token: nil).object()
            #expect(same["proof"] as? [String] == [])
            // Without a size, the latest checkpoint's: this one's, or a later one another test signed.
            let inclusion = try await api.send(.get, "/v1/ledger/inclusion?seq=1", token: nil).object()
            #expect(inclusion["size"] as? Int ?? 0 >= size)
            let consistency = try await api.send(.get, "/v1/ledger/consistency?from=\(size)", token: nil).object()
            #expect(consistency["size"] as? Int ?? 0 >= size)
        }
    }
}

/// Runs Tests/Interop/tlog/checklog.go, built once with Debian's Go against Debian's x/mod, offline.
func checkLog(_ request: [String: Any]) throws -> (status: Int32, output: String) {
    let binary = try checkLogBinary.get()
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    let input = Pipe()
    let output = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = FileHandle.standardError
    try process.run()
    input.fileHandleForWriting.write(try JSONSerialization.data(withJSONObject: request))
    try input.fileHandleForWriting.close()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (
        process.terminationStatus, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    )
}

struct GoBuildFailed: Error, CustomStringConvertible {
    let description: String
}

/// Fails loudly when Go or golang-golang-x-mod-dev is missing: scripts/test.sh installs both.
private let checkLogBinary: Result<String, any Error> = Result {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    let output = temporaryPath("checklog", extension: "bin")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [
        "GO111MODULE=off", "GOPATH=/usr/share/gocode", "GOCACHE=\(NSTemporaryDirectory())qspp-gocache",
        "go", "build", "-o", output, root.appendingPathComponent("Tests/Interop/tlog/checklog.go").path,
    ]
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw GoBuildFailed(
            description: "go build of checklog.go failed (needs golang-go and golang-golang-x-mod-dev from apt)")
    }
    return output
}
