import Foundation
public import Services

/// Where `serve` listens and how: the address, TLS, and whom it believes about a client's address and
/// origin.
public struct ServerSettings: Sendable {
    public var host = "127.0.0.1"
    public var port = 8080
    /// PEM files; with both set, `serve` speaks TLS 1.3 only, offering X25519MLKEM768 first.
    public var tlsCertificateFile: String?
    public var tlsPrivateKeyFile: String?
    /// Reverse proxies whose `X-Forwarded-For` is believed.
    var trustedProxies: [IPNetwork] = []
    /// Origins that may call the API from a browser (`*` for any, without credentials).
    public var corsOrigins: [String] = []
    /// Client networks that may read `/metrics` on this listener; loopback unless configured, and none
    /// with `none`. Counts of routes and failures help whoever probes the service, so they are not public.
    var metricsNetworks = [IPNetwork("127.0.0.0/8")!, IPNetwork("::1")!]
    /// A second listener, on the same host, that serves `/health`, `/ready` and `/metrics` to whoever
    /// reaches it and nothing else: the port a scraper or probe uses, kept off the public one.
    public var managementPort: Int?

    public init() {}

    public init(reader: SettingsReader) throws(InvalidSetting) {
        let qspp = reader.scoped(to: "qspp")
        host = qspp.string("host") ?? host
        port = try qspp.integer("port", atLeast: 1, atMost: 65535, default: port)
        let tls = qspp.scoped(to: "tls")
        tlsCertificateFile = tls.string("cert.file")
        tlsPrivateKeyFile = tls.string("key.file")
        guard (tlsCertificateFile == nil) == (tlsPrivateKeyFile == nil) else {
            throw tls.invalid(
                "cert.file", "set both \(tls.name(of: "cert.file")) and \(tls.name(of: "key.file")), or neither")
        }
        trustedProxies =
            try qspp.list(
                "trusted.proxies", refusal: "must be comma-separated addresses or networks such as 10.0.0.0/8"
            ) { IPNetwork($0) } ?? []
        if qspp.string("metrics.networks")?.lowercased() == "none" {
            metricsNetworks = []
        } else {
            metricsNetworks =
                try qspp.list(
                    "metrics.networks",
                    refusal: "must be comma-separated addresses or networks such as 10.0.0.0/8, or none"
                ) { IPNetwork($0) } ?? metricsNetworks
        }
        managementPort = try qspp.string("management.port").map { _ throws(InvalidSetting) in
            try qspp.integer("management.port", atLeast: 1, atMost: 65535, default: 0)
        }
        guard managementPort == nil || managementPort != port else {
            throw qspp.invalid("management.port", "must differ from \(qspp.name(of: "port"))")
        }
        corsOrigins =
            try qspp.list(
                "cors.origins", refusal: "must be comma-separated origins such as https://app.example.com, or *"
            ) { $0 == "*" || Self.isOrigin($0) ? $0 : nil } ?? []
    }

    /// The server's own URL, which tokens name as their issuer unless one is configured.
    var url: String { "\(tlsCertificateFile == nil ? "http" : "https")://\(host):\(port)" }

    /// `scheme://host[:port]`, nothing more, as browsers send it in `Origin`.
    static func isOrigin(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme),
            url.host != nil, url.path.isEmpty, url.query == nil, url.fragment == nil, url.user == nil
        else { return false }
        return !text.hasSuffix("/")
    }
}
