import AsyncHTTPClient
import Foundation
import NIOCore
import Privacy
import Services

/// A witness reached over HTTP: `POST <prefix>/add-checkpoint`, as C2SP tlog-witness specifies.
struct HTTPWitness: CheckpointWitness {
    let endpoint: WitnessEndpoint
    var key: NoteVerifierKey { endpoint.key }
    static let timeout: TimeAmount = .seconds(10)
    static let maximumResponse = 64 * 1024

    func submit(_ body: String) async throws -> WitnessReply {
        var request = HTTPClientRequest(url: endpoint.url.appendingPathComponent("add-checkpoint").absoluteString)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "text/plain; charset=utf-8")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: Self.timeout)
        let text = String(buffer: try await response.body.collect(upTo: Self.maximumResponse))
        switch response.status.code {
        case 200: return .cosignatures(text)
        case 409:
            guard let size = Int64(text.trimmingCharacters(in: .newlines)), size >= 0 else {
                return .refused("409 without a size")
            }
            return .conflict(latestSize: size)
        default: return .refused("\(response.status.code)")
        }
    }
}
