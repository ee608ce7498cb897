public import Foundation
import Kernel

/// A website or app where visitors give consent through QSPP's SDK: the origins its pages are served
/// from, and the purposes its banner asks about. Only a live property's own origins may record
/// through it.
public struct ConsentProperty: Sendable, Equatable {
    public let id: UUID
    public var name: String
    /// Exact web origins (`https://shop.example`, `http://localhost:8080`), lower-case, default ports
    /// left out, as a browser's `Origin` header states them.
    public var origins: [String]
    public var purposes: [PurposeID]
    public var createdBy: UUID
    public var createdAt: Date
    public var retiredAt: Date?

    public init(
        id: UUID, name: String, origins: [String], purposes: [PurposeID], createdBy: UUID, createdAt: Date,
        retiredAt: Date? = nil
    ) {
        self.id = id
        self.name = name
        self.origins = origins
        self.purposes = purposes
        self.createdBy = createdBy
        self.createdAt = createdAt
        self.retiredAt = retiredAt
    }

    /// Whether a page at `origin` may record through this property.
    public func allows(origin: String) -> Bool { retiredAt == nil && origins.contains(origin) }

    /// The origin a browser would send for `text`, or nil when `text` is not an origin: an `http` or
    /// `https` URL with a host and nothing after it but an optional `/`.
    public static func origin(_ text: String) -> String? {
        guard let components = URLComponents(string: text.trimmingCharacters(in: .whitespaces)),
            let scheme = components.scheme?.lowercased(), scheme == "https" || scheme == "http",
            let host = components.host?.lowercased(), !host.isEmpty, components.user == nil,
            components.password == nil, components.query == nil, components.fragment == nil,
            components.path.isEmpty || components.path == "/"
        else { return nil }
        // A name in letters, digits, dots and hyphens (punycode for the rest, as browsers send it), or
        // an IPv6 literal: nothing a decoded escape could have smuggled in.
        let isName = host.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
        }
        let isIPv6 =
            host.contains(":")
            && host.utf8.allSatisfy { byte in
                (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
                    || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                    || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "[") || byte == UInt8(ascii: "]")
            }
        guard isName || isIPv6 else { return nil }
        let defaultPort = scheme == "https" ? 443 : 80
        let port = components.port.flatMap { $0 == defaultPort ? nil : $0 }
        let shownHost = host.contains(":") && !host.hasPrefix("[") ? "[\(host)]" : host
        return "\(scheme)://\(shownHost)" + (port.map { ":\($0)" } ?? "")
    }
}

/// Durable storage of consent properties.
public protocol ConsentPropertyRepository: Sendable {
    func insertProperty(_ property: ConsentProperty) async throws
    /// Every property, live and retired, oldest first.
    func properties() async throws -> [ConsentProperty]
    func property(id: UUID) async throws -> ConsentProperty?
    /// False when there is no live property with that id.
    func retireProperty(id: UUID, at date: Date) async throws -> Bool
    /// Links a visitor's history to an account, with the ledger entry that reports it, in one
    /// transaction. A visitor is linked once: the link already made, to this account or another, is
    /// returned instead, and nothing is written.
    func link(_ link: VisitorLink) async throws -> VisitorLink
    /// The visitors linked to an account, oldest link first.
    func visitors(linkedTo account: UUID) async throws -> [VisitorLink]
}

/// A visitor's history taken over by an account: the visitor's decisions stay as they were recorded,
/// under the visitor's pseudonym, and are the account holder's from then on.
public struct VisitorLink: Sendable, Equatable {
    public let visitor: UUID
    public let account: UUID
    public let linkedAt: Date

    public init(visitor: UUID, account: UUID, linkedAt: Date) {
        self.visitor = visitor
        self.account = account
        self.linkedAt = linkedAt
    }

    /// The subject a visitor's decisions are recorded under.
    public static func subject(_ visitor: UUID) -> String { "visitor:" + visitor.lowercasedString }
}
