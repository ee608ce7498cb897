import Foundation
import Hummingbird
import Kernel
import Logging
import PQCrypto
import Prometheus
import Services

/// Gives every request an id (the caller's `X-Request-Id` when it is well-formed), puts it on every
/// log line and on the response, logs one line per request and records its metrics.
struct RequestObservationMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let metrics: QSPPMetrics

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        var context = context
        let requestID = request.headers[.xRequestID].flatMap(Self.acceptable) ?? UUID.random().lowercasedString
        context.requestID = requestID
        context.logger[metadataKey: "request_id"] = .string(requestID)
        context.logger[metadataKey: "hb.request.id"] = nil
        let start = ContinuousClock.now
        var response = try await next(request, context)
        response.headers[.xRequestID] = requestID
        // Routes are logged as templates: a raw path can hold a subject id, which is personal data.
        let route = context.endpointPath ?? "unmatched"
        let elapsed = start.duration(to: .now)
        metrics.record(route: route, method: request.method.rawValue, status: response.status.code, duration: elapsed)
        context.logger.info(
            "request",
            metadata: [
                "http.method": .string(request.method.rawValue), "http.route": .string(route),
                "http.status": .stringConvertible(response.status.code),
                "duration_ms": .stringConvertible(elapsed / .microseconds(1) / 1000),
            ])
        return response
    }

    private static func acceptable(_ value: String) -> String? {
        let utf8 = value.utf8
        guard (1...128).contains(utf8.count),
            utf8.allSatisfy({ byte in
                byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".")
                    || (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            })
        else { return nil }
        return value
    }
}
