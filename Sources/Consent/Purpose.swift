import Foundation
import Kernel

/// The text a person was shown when asked for consent. Each change is a new version; old versions stay.
public struct Notice: Sendable, Equatable {
    public var version: Int
    public var text: String?
    public var url: String?
    public var effectiveAt: Date

    public init(version: Int, text: String?, url: String?, effectiveAt: Date) {
        self.version = version
        self.text = text
        self.url = url
        self.effectiveAt = effectiveAt.roundedToMicroseconds
    }
}

/// Why processing for a purpose is lawful (GDPR Art. 6(1)). An objection (Art. 21) withdraws every
/// purpose based on legitimate interests.
public enum LawfulBasis: String, Sendable, CaseIterable {
    case consent
    case contract
    case legalObligation = "legal_obligation"
    case vitalInterests = "vital_interests"
    case publicTask = "public_task"
    case legitimateInterests = "legitimate_interests"
}

/// Something personal data is used for, and that a person can agree to or refuse.
public struct Purpose: Sendable, Equatable {
    public var id: PurposeID
    public var title: String
    public var description: String
    /// Sale or sharing of personal data: a Global Privacy Control signal withdraws these.
    public var isSaleOrSharing: Bool
    public var lawfulBasis: LawfulBasis
    /// Every notice version, oldest first. Never empty.
    public var notices: [Notice]

    public init(
        id: PurposeID, title: String, description: String, isSaleOrSharing: Bool,
        lawfulBasis: LawfulBasis = .consent, notices: [Notice]
    ) {
        self.id = id
        self.title = title
        self.description = description
        self.isSaleOrSharing = isSaleOrSharing
        self.lawfulBasis = lawfulBasis
        self.notices = notices.sorted { $0.version < $1.version }
    }

    /// The newest notice already in effect at `date`; a scheduled future version does not count yet.
    public func currentNotice(at date: Date) -> Notice {
        notices.last { $0.effectiveAt <= date } ?? notices[0]
    }

    public func notice(version: Int) -> Notice? {
        notices.first { $0.version == version }
    }
}

/// What an administrator supplies to create a purpose or to publish a new notice version.
public struct PurposeDraft: Sendable {
    public var id: PurposeID
    public var title: String
    public var description: String
    public var isSaleOrSharing: Bool
    public var lawfulBasis: LawfulBasis
    public var noticeText: String?
    public var noticeURL: String?
    public var effectiveAt: Date?

    public init(
        id: PurposeID, title: String, description: String, isSaleOrSharing: Bool, lawfulBasis: LawfulBasis = .consent,
        noticeText: String?, noticeURL: String?, effectiveAt: Date?
    ) {
        self.id = id
        self.title = title
        self.description = description
        self.isSaleOrSharing = isSaleOrSharing
        self.lawfulBasis = lawfulBasis
        self.noticeText = noticeText
        self.noticeURL = noticeURL
        self.effectiveAt = effectiveAt
    }
}

extension Purpose {
    /// The five consent types upstream ZynConsent had; seeded by the `seed_purposes` migration.
    public static let seeded: [(id: String, title: String, isSaleOrSharing: Bool, notice: String)] = [
        ("marketing", "Marketing", false, "We use your contact details to send you offers and news."),
        ("analytics", "Analytics", false, "We measure how you use the service to improve it."),
        ("data_processing", "Data processing", false, "We process your personal data to provide the service."),
        ("cookies", "Cookies", false, "We store non-essential cookies on your device."),
        ("third_party_sharing", "Third-party sharing", true, "We share or sell your personal data to third parties."),
    ]
}
