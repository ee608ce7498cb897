import Consent
import Foundation
import HTTPTypes
import Kernel
import PQCrypto
import QSPPTestSupport
import Testing
import ZIPFoundation

@Suite("Export: right of access and portability")
struct ExportAPITests {
    @Test(arguments: Backend.all)
    func theArchiveHoldsEverythingAboutThePersonAndNothingAboutOthers(backend: Backend) async throws {
        try await withApp(backend) { api in
            let user = try await api.newUser(confirmed: true)
            let other = try await api.newUser(confirmed: true)
            for decision in ["granted", "withdrawn", "granted"] {
                try await api.send(
                    .post, "/v1/subjects/\(user.id)/consents",
                    json: #"{"purpose":"analytics","decision":"\#(decision)"}"#,
                    token: user.accessToken, headers: [.userAgent: "Export, \"quoted\" agent"])
            }
            try await api.send(
                .post, "/v1/subjects/\(other.id)/consents", json: #"{"purpose":"analytics","decision":"granted"}"#,
                token: other.accessToken)
            try await api.send(.post, "/v1/me/requests", json: #"{"kind":"portability"}"#, token: user.accessToken)

            let response = try await api.send(.get, "/v1/me/export", token: user.accessToken)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/zip")
            let files = try Self.unzip(Data(response.body.readableBytesView))
            #expect(
                Set(files.keys) == [
                    "manifest.json", "profile.json", "consent-events.csv", "consent-events.jsonl", "sessions.csv",
                    "sessions.jsonl", "passkeys.csv", "passkeys.jsonl", "auth-events.csv", "auth-events.jsonl",
                    "requests.csv", "requests.jsonl",
                    "staff-access.csv", "staff-access.jsonl", "data-records.csv", "data-records.jsonl",
                    "valuations.csv", "valuations.jsonl", "downstream-systems.csv", "downstream-systems.jsonl",
                    "website-consent-events.csv", "website-consent-events.jsonl",
                ])
            let profile = try #require(try JSONSerialization.jsonObject(with: files["profile.json"]!) as? [String: Any])
            #expect(profile["email"] as? String == user.email)
            let events = String(decoding: files["consent-events.jsonl"]!, as: UTF8.self).split(separator: "\n")
            #expect(events.count == 3)
            let first = try #require(try JSONSerialization.jsonObject(with: Data(events[0].utf8)) as? [String: String])
            #expect(first["userAgent"] == "Export, \"quoted\" agent")
            #expect(first["ledgerSequence"] != nil)
            let recordedAt = try #require(first["recordedAt"])
            #expect(recordedAt.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z/) != nil)
            let history = try await api.history(user.id)
            let apiTime = try #require(history.first?["recordedAt"] as? String)
            #expect(
                RFC3339.date(from: recordedAt) != nil && RFC3339.date(from: recordedAt) == RFC3339.date(from: apiTime))
            let csv = String(decoding: files["consent-events.csv"]!, as: UTF8.self)
            #expect(csv.contains("\"Export, \"\"quoted\"\" agent\""))
            #expect(csv.split(separator: "\r\n").count == 4)
            #expect(String(decoding: files["auth-events.csv"]!, as: UTF8.self).contains("login.success"))
            #expect(String(decoding: files["requests.csv"]!, as: UTF8.self).contains("portability"))
            for (_, content) in files { #expect(!String(decoding: content, as: UTF8.self).contains(other.id)) }

            // Staff may export for a person; a person may not export someone else.
            #expect(try await api.send(.get, "/v1/subjects/\(user.id)/export").status == .ok)
            try await api.send(.get, "/v1/subjects/\(user.id)/export", token: other.accessToken).expectProblem(
                .forbidden)
            try await api.send(.get, "/v1/subjects/\(UUID())/export").expectProblem(.notFound)
            try await api.send(.get, "/v1/me/export", token: nil).expectProblem(.unauthorized)
        }
    }

    @Test(arguments: ExportEnvelope.Recipient.allCases)
    func anEncryptedExportOpensOnlyWithTheSubjectsKey(recipient: ExportEnvelope.Recipient) async throws {
        try await withApp(.sqlite) { api in
            let user = try await api.newUser(confirmed: true)
            let (seed, publicKey) = try ExportEnvelope.generateKeyPair(recipient)
            let response = try await api.send(
                .post, "/v1/me/export",
                json: #"{"recipient":{"kem":"\#(recipient.rawValue)","publicKey":"\#(Base64URL.encode(publicKey))"}}"#,
                token: user.accessToken)
            #expect(response.status == .ok)
            let sealed = Data(response.body.readableBytesView)
            #expect(sealed.prefix(6) == Data("QSPPX1".utf8))

            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let input = directory.appendingPathComponent("export.zip.qspp")
            try sealed.write(to: input)
            let output = directory.appendingPathComponent("export.zip")
            try ExportEnvelope.decrypt(input, to: output, privateSeed: seed)
            let files = try Self.unzip(try Data(contentsOf: output))
            let profile = try JSONSerialization.jsonObject(with: files["profile.json"]!) as? [String: Any]
            #expect(profile?["email"] as? String == user.email)

            // Another key, a changed byte or a cut-off file: nothing decrypts.
            let (otherSeed, _) = try ExportEnvelope.generateKeyPair(recipient)
            #expect(throws: ExportEnvelope.Failure.cannotDecrypt) {
                try ExportEnvelope.decrypt(input, to: output, privateSeed: otherSeed)
            }
            var altered = sealed
            altered[altered.count - 20] ^= 1
            try altered.write(to: input)
            #expect(throws: ExportEnvelope.Failure.cannotDecrypt) {
                try ExportEnvelope.decrypt(input, to: output, privateSeed: seed)
            }
            try sealed.prefix(sealed.count - 40).write(to: input)
            #expect(throws: ExportEnvelope.Failure.cannotDecrypt) {
                try ExportEnvelope.decrypt(input, to: output, privateSeed: seed)
            }

            try await api.send(
                .post, "/v1/me/export", json: #"{"recipient":{"kem":"RSA","publicKey":"AAAA"}}"#,
                token: user.accessToken
            ).expectProblem(.badRequest)
            try await api.send(
                .post, "/v1/me/export", json: #"{"recipient":{"kem":"X-Wing","publicKey":"AAAA"}}"#,
                token: user.accessToken
            ).expectProblem(.badRequest)
        }
    }

    @Test func anErasedPersonsExportSaysErased() async throws {
        try await withApp(.sqlite) { api in
            let user = try await api.newUser(confirmed: true)
            let filed = try await api.send(
                .post, "/v1/me/requests", json: #"{"kind":"erasure"}"#, token: user.accessToken
            )
            .object()
            let id = try #require(filed["id"] as? String)
            try await api.send(.post, "/v1/requests/\(id)/transitions", json: #"{"status":"verified"}"#)
            #expect(try await api.send(.post, "/v1/requests/\(id)/erasure").status == .ok)
            let detail = try await api.send(.get, "/v1/subjects/\(user.id)/export").expectProblem(.gone)
            #expect(detail.contains("erased"))
        }
    }

    static func unzip(_ data: Data) throws -> [String: Data] {
        let archive = try Archive(data: data, accessMode: .read)
        var files: [String: Data] = [:]
        for entry in archive {
            var content = Data()
            _ = try archive.extract(entry) { content.append($0) }
            files[entry.path] = content
        }
        return files
    }
}
