public import Hummingbird
public import Logging
import NIOCore
public import Privacy

/// `qspp ledger witness`: a C2SP tlog-witness on its own listener, with nothing else on it.
public func buildWitnessApplication(
    witness: Witness, host: String, port: Int, logger: Logger
) -> some ApplicationProtocol {
    let router = Router(context: BasicRequestContext.self)
    router.post("/add-checkpoint") { request, context -> Response in
        let body = try await request.body.collect(upTo: Witness.maximumRequestSize)
        let outcome = try await witness.addCheckpoint(String(buffer: body))
        func text(
            _ status: HTTPResponse.Status, _ text: String, type: String = "text/plain; charset=utf-8"
        )
            -> Response
        {
            Response(
                status: status, headers: [.contentType: type], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        switch outcome {
        case .cosigned(let lines):
            logger.info("cosigned a checkpoint")
            return text(.ok, lines)
        case .malformed(let why): return text(.badRequest, why + "\n")
        case .unknownLog: return text(.notFound, "unknown log\n")
        case .notSignedByTheLog: return text(.forbidden, "no signature by a key this witness trusts for the log\n")
        case .conflict(let size):
            logger.warning("refused a checkpoint that does not follow the one cosigned", metadata: ["size": "\(size)"])
            return text(.conflict, "\(size)\n", type: "text/x.tlog.size")
        case .inconsistent:
            logger.warning("refused a checkpoint whose consistency proof does not verify: a possible split view")
            return text(.unprocessableContent, "the consistency proof does not verify\n")
        }
    }
    return Application(
        router: router, configuration: .init(address: .hostname(host, port: port), serverName: nil), logger: logger)
}
