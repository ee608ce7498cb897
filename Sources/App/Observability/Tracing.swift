import HTTPTypes
import Hummingbird
import Instrumentation
import Logging
import OTel
import ServiceLifecycle
import Telemetry
import Tracing

/// OpenTelemetry tracing, off unless `QSPP_TRACING=otlp`. Spans go by OTLP/HTTP (protobuf) to the
/// collector that the standard variables name (`OTEL_EXPORTER_OTLP_ENDPOINT`, by default
/// `http://localhost:4318`, or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`); the other `OTEL_*` variables
/// of the specification (service name, sampler, batch delays, headers) apply too.
public enum TracingSetup {
    /// Installs the OTLP tracer as the process's tracer and returns the service that exports its
    /// spans, which must run for as long as the server does; nil when tracing is off.
    public static func start(_ configuration: AppConfiguration) throws -> (any Service)? {
        guard configuration.observability.tracing else { return nil }
        var otel = OTel.Configuration.default
        otel.serviceName = "qspp"
        otel.logs.enabled = false
        // Metrics stay with Prometheus on /metrics.
        otel.metrics.enabled = false
        otel.traces.enabled = true
        otel.traces.exporter = .otlp
        let (tracer, service) = try OTel.makeTracingBackend(configuration: otel)
        InstrumentationSystem.bootstrap(tracer)
        Traced.enable()
        return service
    }
}

/// One server span per request, continuing the caller's W3C `traceparent`, named by the route
/// template. Unlike Hummingbird's `TracingMiddleware` it records no path, query, client address or
/// user agent: those can be personal data, and a trace collector is outside what QSPP encrypts.
struct RequestTracingMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var parent = ServiceContext.current ?? .topLevel
        InstrumentationSystem.instrument.extract(request.headers, into: &parent, using: HeaderExtractor())
        let span = startSpan("\(request.method.rawValue)", context: parent, ofKind: .server)
        defer { span.end() }
        span.attributes["http.request.method"] = request.method.rawValue
        span.attributes["qspp.request_id"] = context.requestID
        do {
            let response = try await ServiceContext.$current.withValue(span.context) {
                try await next(request, context)
            }
            record(response.status, route: context.endpointPath, on: span, method: request.method)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
            record(status, route: context.endpointPath, on: span, method: request.method)
            throw error
        }
    }

    private func record(_ status: HTTPResponse.Status, route: String?, on span: any Span, method: HTTPRequest.Method) {
        if let route {
            span.operationName = "\(method.rawValue) \(route)"
            span.attributes["http.route"] = route
        }
        span.attributes["http.response.status_code"] = Int(status.code)
        if status.code >= 500 { span.setStatus(SpanStatus(code: .error)) }
    }
}

private struct HeaderExtractor: Extractor {
    func extract(key: String, from headers: HTTPFields) -> String? {
        HTTPField.Name(key).flatMap { headers[$0] }
    }
}
