import Crypto
import Foundation
import Identity
import Outbox
import Privacy
import QSPPTestSupport
import Testing

@testable import Services

/// The fan-out's rules over the in-memory repositories: a request fans out once, to the systems live
/// then; QSPP's own part is done at once and the request completes with the last settled task; and
/// what an answer's body may say.
@Suite("Request fan-out rules")
struct RequestFanOutTests {
    let staff = UUID()

    func system(_ name: String, in services: InMemoryServices) async throws -> (DownstreamSystem, SymmetricKey) {
        let system = DownstreamSystem(
            id: UUID(), name: name, endpointID: UUID(), createdBy: staff, createdAt: Date())
        let key = SymmetricKey(size: .bits256)
        services.endpointKeys.keys.withLock { $0[system.endpointID] = key }
        #expect(try await services.taskRepository.insertSystem(system))
        return (system, key)
    }

    func answer(_ task: RequestTask, _ body: String, key: SymmetricKey) -> RequestFanOut.Answer {
        let timestamp = Int64(Date().timeIntervalSince1970)
        let bytes = Data(body.utf8)
        return RequestFanOut.Answer(
            messageID: "msg_1", timestamp: String(timestamp),
            signature: StandardWebhookSignature.header(key: key, id: "msg_1", timestamp: timestamp, body: bytes),
            body: bytes)
    }

    @Test func anOptOutCompletesWithTheLastSettledTask() async throws {
        let services = try InMemoryServices()
        let (_, warehouseKey) = try await system("Warehouse", in: services)
        _ = try await system("CRM", in: services)
        let person = UUID()
        let request = try await services.privacy.file(
            .optOut, for: person, by: staff, identityVerification: "customer number checked")
        #expect(request.status == .verified)

        #expect(try await services.fanOut.runDue() == 1)
        #expect(try await services.fanOut.runDue() == 0, "a request fans out once")
        // A system registered later does not join a request already fanned out.
        _ = try await system("Late", in: services)
        let tasks = try await services.fanOut.tasks(of: request.id)
        #expect(Set(tasks.map(\.system)) == ["Warehouse", "CRM"])
        #expect(tasks.allSatisfy { $0.task.action == .optOut && $0.task.state == .open })

        let done = try await services.rights.fulfil(request.id, by: staff, client: ClientInfo()) {
            RightsFulfilment.Correction(email: nil, displayName: nil)
        }
        #expect(done.request.status == .inProgress, "QSPP's part is done; the systems' is not")

        let warehouse = try #require(tasks.first { $0.system == "Warehouse" }?.task)
        let crm = try #require(tasks.first { $0.system == "CRM" }?.task)
        _ = try await services.fanOut.answer(
            warehouse.id,
            answer(warehouse, #"{"taskId":"\#(warehouse.id.uuidString)","outcome":"done"}"#, key: warehouseKey))
        #expect(try await services.privacy.request(request.id).status == .inProgress)
        await #expect(throws: ServiceError.taskSettled) {
            _ = try await services.fanOut.answer(
                warehouse.id,
                answer(warehouse, #"{"taskId":"\#(warehouse.id.uuidString)","outcome":"done"}"#, key: warehouseKey))
        }

        _ = try await services.fanOut.recordException(crm.id, of: request.id, reason: "no such flags", by: staff)
        let completed = try await services.privacy.request(request.id)
        #expect(completed.status == .completed)
        let reasons = try await services.privacy.events(of: request.id).compactMap(\.reason)
        #expect(reasons.contains("exception for CRM: no such flags"))
        #expect(reasons.last == "withdrawn; every downstream system settled")
    }

    @Test func anAccessRequestCannotCompleteWhileASystemOwesItsData() async throws {
        let services = try InMemoryServices()
        let (_, key) = try await system("Warehouse", in: services)
        let person = UUID()
        let request = try await services.privacy.file(
            .access, for: person, by: staff, identityVerification: "customer number checked")
        await #expect(throws: ServiceError.awaitingSystems(1)) {
            _ = try await services.rights.completeDelivery(request.id, by: staff)
        }
        let task = try #require(try await services.fanOut.tasks(of: request.id).first?.task)
        let body = #"{"taskId":"\#(task.id.uuidString.lowercased())","outcome":"done","data":{"orders":[7]}}"#
        let settled = try await services.fanOut.answer(task.id, answer(task, body, key: key))
        #expect(settled.task.hasData && settled.task.outcome == "done")
        let returned = try await services.taskRepository.downstreamData(subject: person.uuidString.lowercased())
        #expect(returned.map(\.system) == ["Warehouse"])
        #expect(String(decoding: returned[0].json, as: UTF8.self) == #"{"orders":[7]}"#)
        #expect(try await services.rights.completeDelivery(request.id, by: staff).status == .completed)
    }

    @Test(arguments: [
        (#"{"taskId":"T","outcome":"done","data":{"a":1}}"#, TaskAction.erase),
        (#"{"taskId":"T","outcome":"no_data","data":{"a":1}}"#, .export),
        (#"{"taskId":"T","outcome":"done","data":"text"}"#, .export),
        (#"{"taskId":"T","outcome":"later"}"#, .export),
        (#"{"taskId":"T","outcome":"done","more":true}"#, .export),
        (#"{"taskId":"00000000-0000-0000-0000-000000000000","outcome":"done"}"#, .export),
        (#"{"outcome":"done"}"#, .export),
        ("[]", .export),
    ])
    func malformedAnswersAreRefused(body: String, action: TaskAction) throws {
        let task = UUID()
        let text = body.replacingOccurrences(of: #""T""#, with: "\"\(task.uuidString)\"")
        #expect(throws: ServiceError.self) {
            _ = try RequestFanOut.parse(Data(text.utf8), taskID: task, action: action)
        }
    }

    @Test func anExportsDataIsKeptAsSortedJSONUpToItsLimit() throws {
        let task = UUID()
        let (outcome, data) = try RequestFanOut.parse(
            Data(#"{"outcome":"done","taskId":"\#(task.uuidString)","data":{"b":1,"a":"x/y"}}"#.utf8), taskID: task,
            action: .export)
        #expect(outcome == "done" && data.map { String(decoding: $0, as: UTF8.self) } == #"{"a":"x/y","b":1}"#)
        let big = String(repeating: "x", count: RequestFanOut.maximumDataBytes)
        #expect(throws: ServiceError.self) {
            _ = try RequestFanOut.parse(
                Data(#"{"outcome":"done","taskId":"\#(task.uuidString)","data":{"a":"\#(big)"}}"#.utf8),
                taskID: task, action: .export)
        }
    }
}
