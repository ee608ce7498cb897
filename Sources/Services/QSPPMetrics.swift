public import Identity
public import Prometheus
import Synchronization

/// QSPP's Prometheus metrics (HTTP, consent, auth, requests, TLS), on a registry of its own so that each application
/// instance (and each test) counts separately.
public final class QSPPMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    private let consentEvents: Counter
    private static let buckets: [Duration] = [
        .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
        .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2.5), .seconds(5),
    ]
    private struct Series: Hashable {
        var route: String
        var method: String
        var status: Int
    }
    private let series = Mutex<[Series: (Counter, DurationHistogram)]>([:])

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        self.consentEvents = registry.makeCounter(
            descriptor: .init(
                metricName: "qspp_consent_events_written", unitName: "total", helpText: "Consent events durably written"
            ),
            labels: [])
        self.overdue = registry.makeGauge(
            descriptor: .init(
                metricName: "qspp_dsr_overdue", unitName: "requests",
                helpText: "Open data-subject requests past their due date"),
            labels: [])
        self.overdueTasks = registry.makeGauge(
            descriptor: .init(
                metricName: "qspp_dsr_tasks_overdue", unitName: "tasks",
                helpText: "Downstream systems' tasks of open data-subject requests past their due date"),
            labels: [])
        self.webhookLag = registry.makeDurationHistogram(
            descriptor: .init(
                metricName: "qspp_webhook_delivery_lag", unitName: "seconds",
                helpText: "Time from a change being recorded to its webhook being received"),
            labels: [],
            buckets: [
                .milliseconds(10), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                .seconds(1), .seconds(5), .seconds(30), .seconds(300), .seconds(3600),
            ])
        self.ledgerIntegrityFailures = registry.makeCounter(
            descriptor: .init(
                metricName: "qspp_ledger_integrity_failures", unitName: "total",
                helpText: "Times the log refused to integrate or sign entries that did not continue the verified chain"),
            labels: [])
    }

    private let ledgerIntegrityFailures: Counter

    /// The log found the chain broken where it was about to vouch for it, and signed nothing.
    public func ledgerIntegrityFailure() {
        ledgerIntegrityFailures.increment()
    }

    public func record(route: String, method: String, status: Int, duration: Duration) {
        let key = Series(route: route, method: method, status: status)
        let (counter, histogram) = series.withLock { series in
            if let existing = series[key] { return existing }
            let labels = [("route", route), ("method", method), ("status", String(status))]
            let created = (
                registry.makeCounter(
                    descriptor: .init(
                        metricName: "http_requests", unitName: "total", helpText: "HTTP requests answered"),
                    labels: labels),
                registry.makeDurationHistogram(
                    descriptor: .init(
                        metricName: "http_request_duration", unitName: "seconds",
                        helpText: "Time to answer HTTP requests"),
                    labels: labels, buckets: Self.buckets)
            )
            series[key] = created
            return created
        }
        counter.increment()
        histogram.record(duration)
    }

    private let tlsGroups = Mutex<[String: Counter]>([:])
    let webhookOutcomes = Mutex<[String: Counter]>([:])
    let webhookLag: DurationHistogram
    private let authEvents = Mutex<[String: Counter]>([:])
    private let overdue: Gauge
    private let overdueTasks: Gauge

    /// Open data-subject requests past their statutory due date, as last counted.
    public func overdueRequests(_ count: Int) {
        overdue.set(to: Double(count))
    }

    /// Open downstream tasks of open requests past their due date, as last counted.
    public func overdueRequestTasks(_ count: Int) {
        overdueTasks.set(to: Double(count))
    }

    @Sendable public func authEvent(_ kind: AuthEvent.Kind) {
        labelled(authEvents, "qspp_auth_events", "Recorded auth events by kind", ("kind", kind.rawValue)).increment()
    }

    /// The counter of `name` for one label value, made on first use.
    func labelled(
        _ counters: borrowing Mutex<[String: Counter]>, _ name: String, _ help: String, _ label: (String, String)
    ) -> Counter {
        counters.withLock { counters in
            if let counter = counters[label.1] { return counter }
            let counter = registry.makeCounter(
                descriptor: .init(metricName: name, unitName: "total", helpText: help), labels: [label])
            counters[label.1] = counter
            return counter
        }
    }

    public func tlsHandshake(group: String) {
        labelled(
            tlsGroups, "qspp_tls_handshakes", "Completed TLS handshakes by negotiated key-exchange group",
            ("group", group)
        ).increment()
    }

    public func consentEventsWritten(_ count: Int) {
        guard count > 0 else { return }
        consentEvents.increment(by: Int64(count))
    }
}
