import Foundation

/// A subject's standing on one purpose, derived from the newest event in the log.
public struct PurposeState: Sendable, Equatable {
    public var purposeID: PurposeID
    /// `nil` when the subject has never answered for this purpose.
    public var latest: ConsentEvent?
    public var currentNoticeVersion: Int

    /// A grant given under an older notice than the one now in effect must be asked for again.
    public var needsReconsent: Bool {
        guard let latest, latest.decision == .granted else { return false }
        return latest.noticeVersion < currentNoticeVersion
    }

    public var isGranted: Bool { latest?.decision == .granted }
}
