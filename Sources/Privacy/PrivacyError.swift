/// What can go wrong with data-subject requests. Descriptions never contain personal data.
public struct PrivacyError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        case invalidInput, notFound, conflict
    }
    public let kind: Kind
    public let description: String

    private init(_ kind: Kind, _ description: String) {
        self.kind = kind
        self.description = description
    }

    public static let requestNotFound = Self(.notFound, "No such request.")
    public static func invalid(_ why: String) -> Self { Self(.invalidInput, why) }
    public static func transitionRefused(from: RequestStatus, to: RequestStatus) -> Self {
        Self(.conflict, "a request that is \(from.rawValue) cannot become \(to.rawValue)")
    }
    public static let alreadyExtended = Self(.conflict, "the deadline has already been extended once")
    public static let alreadyFinal = Self(.conflict, "the request is already completed or rejected")
    /// An open request of the same kind exists; file again once it is answered.
    public static let duplicate = Self(.conflict, "an open request of this kind already exists")
}
