public import Foundation

/// What one `qspp serve` process does. `all` serves everything itself; the split roles let each part
/// scale on its own, with `gateway` as the only public entry point.
public enum ServerRole: String, Sendable, CaseIterable, CustomStringConvertible {
    case all, gateway, consent, auth, valuation

    /// The roles the gateway forwards to.
    public static let upstreams: [ServerRole] = [.consent, .auth, .valuation]

    public var description: String { rawValue }

    /// Ports from the seed's service map, used when an upstream's address is not configured.
    var defaultPort: Int {
        switch self {
        case .consent: 3000
        case .auth: 3001
        case .valuation: 3002
        case .all, .gateway: 8080
        }
    }
}

/// Where a gateway finds its upstream roles, and how long it waits for them.
public struct Upstreams: Sendable, Equatable {
    public var urls: [ServerRole: URL]
    /// Until an upstream's answer begins; its body then streams for as long as data keeps arriving (within
    /// the client's 60 s read timeout).
    public var timeout: Duration = .seconds(30)

    public init(urls: [ServerRole: URL] = [:]) {
        self.urls = urls
        for role in ServerRole.upstreams where self.urls[role] == nil {
            self.urls[role] = URL(string: "http://127.0.0.1:\(role.defaultPort)")!
        }
    }

    /// `http://host:port`, with no path, query or credentials: the gateway appends the request's own.
    static func isBaseURL(_ text: String) -> Bool {
        guard let url = URL(string: text), let scheme = url.scheme, ["http", "https"].contains(scheme),
            url.host != nil, url.path.isEmpty || url.path == "/", url.query == nil, url.user == nil
        else { return false }
        return true
    }
}
