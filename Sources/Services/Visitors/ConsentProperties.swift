public import Consent
public import Foundation
public import Identity
import Kernel
public import Privacy

/// Consent collected on an organisation's websites: administrators register each site as a property
/// (its origins and the purposes its banner asks about); the SDK on its pages reads the banner, gives
/// each visitor a pseudonymous id in a signed token, and records their decisions, which are kept like
/// anyone's, with receipts and ledger entries. Only a live property's own origins may do so.
public struct ConsentProperties: Sendable {
    let repository: any ConsentPropertyRepository
    let consents: ConsentService
    let writing: ConsentWriting
    let identity: IdentityService
    let tokens: VisitorTokens
    let erasures: any ErasureRepository
    let now: @Sendable () -> Date

    public static let maximumNameLength = 100
    public static let maximumOrigins = 20
    public static let maximumPurposes = 30

    public init(
        repository: any ConsentPropertyRepository, consents: ConsentService, writing: ConsentWriting,
        identity: IdentityService, tokens: VisitorTokens, erasures: any ErasureRepository,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.repository = repository
        self.consents = consents
        self.writing = writing
        self.identity = identity
        self.tokens = tokens
        self.erasures = erasures
        self.now = now
    }

    // MARK: Administration

    public func register(
        name: String, origins: [String], purposes: [String], by admin: AuthenticatedUser, client: ClientInfo
    ) async throws -> ConsentProperty {
        guard admin.isAdmin else { throw IdentityError.forbidden }
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= Self.maximumNameLength, !name.containsNUL else {
            throw ServiceError.invalidProperty("name: 1 to \(Self.maximumNameLength) characters")
        }
        guard (1...Self.maximumOrigins).contains(origins.count) else {
            throw ServiceError.invalidProperty("origins: 1 to \(Self.maximumOrigins)")
        }
        var allowed: [String] = []
        for text in origins {
            guard text.utf8.count <= 300, let origin = ConsentProperty.origin(text) else {
                throw ServiceError.invalidProperty(
                    "origins: '\(text.prefix(64))' is not an origin (https://host, with a port if not the default)")
            }
            if !allowed.contains(origin) { allowed.append(origin) }
        }
        guard (1...Self.maximumPurposes).contains(purposes.count) else {
            throw ServiceError.invalidProperty("purposes: 1 to \(Self.maximumPurposes)")
        }
        let catalog = Set(try await consents.purposes().map(\.id.rawValue))
        var chosen: [PurposeID] = []
        for text in purposes {
            guard catalog.contains(text), let purpose = try? PurposeID(validating: text) else {
                throw ServiceError.invalidProperty("purposes: no purpose named '\(text.prefix(64))'")
            }
            if !chosen.contains(purpose) { chosen.append(purpose) }
        }
        let property = ConsentProperty(
            id: UUID(), name: name, origins: allowed.sorted(), purposes: chosen, createdBy: admin.userID,
            createdAt: now().roundedToMicroseconds)
        try await repository.insertProperty(property)
        try await identity.recordStaffAction(
            .propertyRegistered, by: admin,
            details: ["property": property.id.lowercasedString, "origins": property.origins.joined(separator: " ")],
            client: client)
        return property
    }

    public func properties(by admin: AuthenticatedUser) async throws -> [ConsentProperty] {
        guard admin.isAdmin else { throw IdentityError.forbidden }
        return try await repository.properties()
    }

    /// Retires a property: its pages may no longer record; what they recorded stays.
    public func retire(_ id: UUID, by admin: AuthenticatedUser, client: ClientInfo) async throws {
        guard admin.isAdmin else { throw IdentityError.forbidden }
        guard try await repository.retireProperty(id: id, at: now().roundedToMicroseconds) else {
            throw ServiceError.propertyNotFound
        }
        try await identity.recordStaffAction(
            .propertyRetired, by: admin, details: ["property": id.lowercasedString], client: client)
    }

    // MARK: Visitors

    /// The live property `id`, if a page at `origin` may use it: 404 for none, 403 for another origin.
    public func property(_ id: UUID, for origin: String?) async throws -> ConsentProperty {
        guard let property = try await repository.property(id: id), property.retiredAt == nil else {
            throw ServiceError.propertyNotFound
        }
        guard let origin, property.allows(origin: origin) else { throw ServiceError.originNotAllowed }
        return property
    }

    /// What the banner shows: the property's purposes with the notice in effect for each.
    public func banner(of property: ConsentProperty) async throws -> [Purpose] {
        let catalog = Dictionary(try await consents.purposes().map { ($0.id, $0) }) { first, _ in first }
        return property.purposes.compactMap { catalog[$0] }
    }

    public func startVisit() -> (visitor: UUID, token: String, expiresAt: Date) {
        tokens.issue(at: now())
    }

    /// The visitor a token names, unless they erased their history: then the token is spent.
    public func visitor(_ token: String?) async throws -> UUID {
        guard let token else { throw ServiceError.visitorNotAuthentic }
        let visitor = try tokens.visitor(token, at: now())
        if let erasedAt = try await erasures.erasure(of: VisitorLink.subject(visitor)) {
            throw ServiceError.erased(at: erasedAt)
        }
        return visitor
    }

    /// The visitor's standing on the property's purposes.
    public func state(of visitor: UUID, on property: ConsentProperty) async throws -> [PurposeState] {
        let subject = try SubjectID(validating: VisitorLink.subject(visitor))
        let wanted = Set(property.purposes)
        return try await consents.currentState(of: subject).filter { wanted.contains($0.purposeID) }
    }

    /// Records a visitor's decisions on the property's purposes. With Global Privacy Control on, the
    /// sale-or-sharing purposes the visitor did not decide are withdrawn with method `gpc`.
    public func record(
        _ decisions: [DecisionRequest], by visitor: UUID, on property: ConsentProperty, origin: RequestOrigin
    ) async throws -> [ConsentEvent] {
        let offered = Set(property.purposes)
        if let other = decisions.first(where: { !offered.contains($0.purposeID) }) {
            throw ServiceError.invalidProperty("purpose: this site does not ask about '\(other.purposeID.rawValue)'")
        }
        let subject = try SubjectID(validating: VisitorLink.subject(visitor))
        return try await writing.record(
            decisions, for: subject, actor: subject.rawValue, origin: origin, claim: nil
        ).events
    }
}
