import Synchronization
import Tracing

/// Spans around the work worth seeing in a trace: database statements and cryptographic operations.
/// They are children of the request's span. Until ``enable()`` (tracing is off by default) no span is
/// made at all: even a no-op span cost the instrumentation system's lock, an existential and its
/// attributes, about 2.5% of a consent write's CPU.
///
/// Attributes name what was done, never whom it was done for: no subject, address, user agent or
/// bound value reaches a span (SQL text is parameterised, so it carries none).
public enum Traced {
    private static let enabled = Atomic(false)

    /// Spans are made from now on; call it once a tracer is bootstrapped.
    public static func enable() { enabled.store(true, ordering: .releasing) }

    /// Inlinable, so that with tracing off a call costs its callers one atomic load and no generic
    /// metadata look-ups.
    @inlinable
    public static func run<T, Failure: Error>(
        _ name: String, kind: SpanKind = .internal, _ attributes: KeyValuePairs<String, String> = [:],
        _ body: () async throws(Failure) -> T
    ) async throws(Failure) -> T {
        guard isEnabled else { return try await body() }
        return try await traced(name, kind: kind, attributes, body)
    }

    @inlinable
    public static func run<T, Failure: Error>(
        _ name: String, kind: SpanKind = .internal, _ attributes: KeyValuePairs<String, String> = [:],
        _ body: () throws(Failure) -> T
    ) throws(Failure) -> T {
        guard isEnabled else { return try body() }
        return try traced(name, kind: kind, attributes, body)
    }

    @usableFromInline static var isEnabled: Bool { enabled.load(ordering: .acquiring) }

    @usableFromInline
    static func traced<T, Failure: Error>(
        _ name: String, kind: SpanKind, _ attributes: KeyValuePairs<String, String>,
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

    @usableFromInline
    static func traced<T, Failure: Error>(
        _ name: String, kind: SpanKind, _ attributes: KeyValuePairs<String, String>, _ body: () throws(Failure) -> T
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
