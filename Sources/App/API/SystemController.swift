import Consent
import Foundation
import Hummingbird
import NIOCore
import Services

/// Liveness, readiness, metrics, the OpenAPI document and the GPC well-known file.
struct SystemController {
    let service: ConsentService
    let metrics: QSPPMetrics
    /// Who may read `/metrics` on the public listener (``ServerSettings/metricsNetworks``).
    var metricsNetworks: [IPNetwork]

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("/health") { _, _ in Status(status: "ok") }
        routes.get("/ready", use: ready)
        routes.get("/metrics") { request, context in
            guard let address = IPNetwork.parse(context.clientAddress),
                metricsNetworks.contains(where: { $0.contains(address) })
            else {
                throw Problem(
                    .forbidden, "forbidden", "Not allowed",
                    detail: "metrics are served to the networks in QSPP_METRICS_NETWORKS, and on QSPP_MANAGEMENT_PORT")
            }
            return renderMetrics(request, context: context)
        }
        routes.get("/openapi.json", use: openAPI)
        routes.get("/.well-known/gpc.json", use: gpc)
        return routes
    }

    /// The management listener's routes: probes and metrics, for whoever can reach its port.
    var managementEndpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.get("/health") { _, _ in Status(status: "ok") }
        routes.get("/ready", use: ready)
        routes.get("/metrics", use: renderMetrics)
        return routes
    }

    struct Status: ResponseCodable {
        var status: String
    }

    @Sendable func ready(_ request: Request, context: AppRequestContext) async throws -> Status {
        try await service.ping()
        return Status(status: "ready")
    }

    @Sendable func renderMetrics(_ request: Request, context: AppRequestContext) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(bytes: metrics.registry.emitToBuffer())))
    }

    @Sendable func openAPI(_ request: Request, context: AppRequestContext) throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=300"],
            body: .init(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.bytes)))
    }

    /// https://privacycg.github.io/gpc-spec/#gpc-support-resource
    @Sendable func gpc(_ request: Request, context: AppRequestContext) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "public, max-age=86400"],
            body: .init(byteBuffer: ByteBuffer(string: #"{"gpc":true,"lastUpdate":"2026-11-25"}"#)))
    }
}

enum OpenAPIDocument {
    static let bytes: [UInt8] = {
        guard let url = Bundle.module.url(forResource: "openapi", withExtension: "json"),
            let data = try? Data(contentsOf: url)
        else { preconditionFailure("openapi.json is missing from the App bundle") }
        return Array(data)
    }()
}
