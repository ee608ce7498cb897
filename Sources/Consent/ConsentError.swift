/// Why the consent domain refused a request.
///
/// The description is safe to show to the caller: it names purposes and limits, never a
/// subject id or any other personal data.
public struct ConsentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The broad class of a failure, which the HTTP layer maps to a status code in one place.
    public enum Kind: Sendable, Equatable {
        case invalidInput
        case notFound
        case conflict
        case unprocessable
    }

    private enum Base: Sendable, Equatable {
        case invalidSubjectID
        case invalidPurposeID
        case unknownPurpose(String)
        case unknownNoticeVersion(purpose: String, version: Int)
        case purposeExists(String)
        case noticeNeedsTextOrURL
        case idempotencyKeyReused
        case emptyBatch
        case batchTooLarge(limit: Int)
        case invalidField(name: String, reason: String)
    }

    private let base: Base

    private init(_ base: Base) { self.base = base }

    public static let invalidSubjectID = Self(.invalidSubjectID)
    public static let invalidPurposeID = Self(.invalidPurposeID)
    public static let noticeNeedsTextOrURL = Self(.noticeNeedsTextOrURL)
    public static let idempotencyKeyReused = Self(.idempotencyKeyReused)
    public static let emptyBatch = Self(.emptyBatch)
    public static func unknownPurpose(_ id: PurposeID) -> Self { Self(.unknownPurpose(id.rawValue)) }
    public static func unknownNoticeVersion(_ id: PurposeID, version: Int) -> Self {
        Self(.unknownNoticeVersion(purpose: id.rawValue, version: version))
    }
    public static func purposeExists(_ id: PurposeID) -> Self { Self(.purposeExists(id.rawValue)) }
    public static func batchTooLarge(limit: Int) -> Self { Self(.batchTooLarge(limit: limit)) }
    public static func invalidField(_ name: String, _ reason: String) -> Self {
        Self(.invalidField(name: name, reason: reason))
    }

    public var kind: Kind {
        switch base {
        case .invalidSubjectID, .invalidPurposeID, .noticeNeedsTextOrURL, .emptyBatch, .batchTooLarge, .invalidField:
            .invalidInput
        case .unknownPurpose: .notFound
        case .purposeExists: .conflict
        case .unknownNoticeVersion, .idempotencyKeyReused: .unprocessable
        }
    }

    public var description: String {
        switch base {
        case .invalidSubjectID:
            "subject id must be 1 to \(SubjectID.maximumLength) characters of A-Z a-z 0-9 - _ . @ :"
        case .invalidPurposeID:
            "purpose id must be 1 to \(PurposeID.maximumLength) characters of a-z 0-9 _, starting with a letter"
        case .unknownPurpose(let id): "no purpose named '\(id)'"
        case .unknownNoticeVersion(let id, let version): "purpose '\(id)' has no notice version \(version)"
        case .purposeExists(let id): "a purpose named '\(id)' already exists"
        case .noticeNeedsTextOrURL: "a notice needs a text or a URL"
        case .idempotencyKeyReused: "this Idempotency-Key was already used for a different request"
        case .emptyBatch: "a batch needs at least one decision"
        case .batchTooLarge(let limit): "a batch holds at most \(limit) decisions"
        case .invalidField(let name, let reason): "\(name): \(reason)"
        }
    }
}
