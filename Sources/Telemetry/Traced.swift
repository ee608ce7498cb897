import Tracing

/// Spans around the work worth seeing in a trace: database statements and cryptographic operations.
/// They are children of the request's span. With no tracer bootstrapped (the default), a span is a
/// no-op and costs a task-local read.
///
/// Attributes name what was done, never whom it was done for: no subject, address, user agent or
/// bound value reaches a span (SQL text is parameterised, so it carries none).
public enum Traced {
    public static func run<T, Failure: Error>(
        _ name: String, kind: SpanKind = .internal, _ attributes: KeyValuePairs<String, String> = [:],
        _ body: () async throws(Failure) -> T
    ) async throws(Failure) -> T {
        let span = start(name, kind: kind, attributes)
        defer { span.end() }
        do {
            return try await body()
        } catch {
            fail(span, error)
            throw error
        }
    }

    public static func run<T, Failure: Error>(
        _ name: String, kind: SpanKind = .internal, _ attributes: KeyValuePairs<String, String> = [:],
        _ body: () throws(Failure) -> T
    ) throws(Failure) -> T {
        let span = start(name, kind: kind, attributes)
        defer { span.end() }
        do {
            return try body()
        } catch {
            fail(span, error)
            throw error
        }
    }

    private static func start(
        _ name: String, kind: SpanKind, _ attributes: KeyValuePairs<String, String>
    ) -> any Span {
        let span = startSpan(name, ofKind: kind)
        if !attributes.isEmpty {
            span.updateAttributes { spanAttributes in
                for (key, value) in attributes { spanAttributes[key] = value }
            }
        }
        return span
    }

    /// Only the error's type: its description may quote data.
    private static func fail(_ span: any Span, _ error: any Error) {
        span.setStatus(SpanStatus(code: .error, message: String(describing: type(of: error))))
    }
}
