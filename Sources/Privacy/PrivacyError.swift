/// What can go wrong with data-subject requests. Descriptions never contain personal data.
public struct PrivacyError: Error, Equatable, CustomStringConvertible, Sendable {
    public enum Kind: String, Sendable {
        case invalidInput, notFound, conflict, forbidden
    }

    private enum Base: Equatable, Sendable {
        case requestNotFound
        case invalid(String)
        case transitionRefused(from: RequestStatus, to: RequestStatus)
        case alreadyExtended
        case alreadyFinal
        case duplicate
        case secondPersonRequired
    }

    private let base: Base

    private init(_ base: Base) { self.base = base }

    public static let requestNotFound = Self(.requestNotFound)
    public static func invalid(_ why: String) -> Self { Self(.invalid(why)) }
    public static func transitionRefused(from: RequestStatus, to: RequestStatus) -> Self {
        Self(.transitionRefused(from: from, to: to))
    }
    public static let alreadyExtended = Self(.alreadyExtended)
    public static let alreadyFinal = Self(.alreadyFinal)
    /// An open request of the same kind exists; file again once it is answered.
    public static let duplicate = Self(.duplicate)
    /// Whoever filed a request that changes or destroys a person's data may not also verify it.
    public static let secondPersonRequired = Self(.secondPersonRequired)

    public var kind: Kind {
        switch base {
        case .invalid: .invalidInput
        case .requestNotFound: .notFound
        case .transitionRefused, .alreadyExtended, .alreadyFinal, .duplicate: .conflict
        case .secondPersonRequired: .forbidden
        }
    }

    public var description: String {
        switch base {
        case .requestNotFound: "No such request."
        case .invalid(let why): why
        case .transitionRefused(let from, let to): "a request that is \(from.rawValue) cannot become \(to.rawValue)"
        case .alreadyExtended: "the deadline has already been extended once"
        case .alreadyFinal: "the request is already completed or rejected"
        case .duplicate: "an open request of this kind already exists"
        case .secondPersonRequired:
            "a request to erase, rectify or restrict is verified by someone other than whoever filed it"
        }
    }
}
