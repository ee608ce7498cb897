public import Foundation
import Kernel

/// What a use case refuses, beyond its domain's own errors. Like the domain errors it holds no personal
/// data: the HTTP layer may show `description` as it is.
public struct ServiceError: Error, Equatable, CustomStringConvertible, Sendable {
    /// How the refusal is answered.
    public enum Kind: Sendable {
        case invalidInput, notFound, conflict, gone, forbidden, unauthorized
        /// Stored data that cannot be what it claims: the server's fault, never the caller's.
        case corrupted
    }

    private enum Base: Equatable, Sendable {
        case processingRestricted
        case notAnErasure
        case deliverExport(subject: String)
        case correctionMissing
        case erased(at: Date)
        case accountNotFound
        case corruptedKey(String)
        case staffAccountNeedsAdmin
        case emailAlreadyConfirmed
        case invalidWebhook(String)
        case webhookNotFound
        case deliveryNotDead
        case invalidTask(String)
        case taskNotFound
        case taskSettled
        case answerNotAuthentic(String)
        case awaitingSystems(Int)
        case endpointInUse
        case invalidProperty(String)
        case propertyNotFound
        case originNotAllowed
        case visitorNotAuthentic
        case visitorLinkedElsewhere
    }

    private let base: Base

    private init(_ base: Base) { self.base = base }

    /// GDPR Art. 18: while processing is restricted, only the person may still withdraw.
    public static let processingRestricted = Self(.processingRestricted)
    public static let notAnErasure = Self(.notAnErasure)
    /// Access, portability and know are delivered as an export, not fulfilled in place.
    public static func deliverExport(subject: String) -> Self { Self(.deliverExport(subject: subject)) }
    public static let correctionMissing = Self(.correctionMissing)
    public static func erased(at date: Date) -> Self { Self(.erased(at: date)) }
    public static let accountNotFound = Self(.accountNotFound)
    public static func corruptedKey(_ kind: String) -> Self { Self(.corruptedKey(kind)) }
    /// A DPO alone may not erase or change an administrator's or a DPO's account.
    public static let staffAccountNeedsAdmin = Self(.staffAccountNeedsAdmin)
    /// A new confirmation link was asked for an email that is confirmed.
    public static let emailAlreadyConfirmed = Self(.emailAlreadyConfirmed)
    /// A webhook endpoint's registration that cannot be: the text names the field.
    public static func invalidWebhook(_ detail: String) -> Self { Self(.invalidWebhook(detail)) }
    public static let webhookNotFound = Self(.webhookNotFound)
    /// Only a dead delivery may be replayed.
    public static let deliveryNotDead = Self(.deliveryNotDead)
    /// A downstream system's registration, answer or exception that cannot be: the text names the field.
    public static func invalidTask(_ detail: String) -> Self { Self(.invalidTask(detail)) }
    public static let taskNotFound = Self(.taskNotFound)
    /// The task was already answered, or excepted: an answer replayed changes nothing.
    public static let taskSettled = Self(.taskSettled)
    /// A system's answer whose signature or timestamp does not hold; the text says which, never why
    /// in more detail than that.
    public static func answerNotAuthentic(_ detail: String) -> Self { Self(.answerNotAuthentic(detail)) }
    /// Downstream systems have not yet all confirmed; the count of those still open.
    public static func awaitingSystems(_ open: Int) -> Self { Self(.awaitingSystems(open)) }
    /// A webhook endpoint that carries a downstream system's tasks is kept until the system is retired.
    public static let endpointInUse = Self(.endpointInUse)
    /// A property's registration, or a visitor's record, that cannot be: the text names the field.
    public static func invalidProperty(_ detail: String) -> Self { Self(.invalidProperty(detail)) }
    public static let propertyNotFound = Self(.propertyNotFound)
    /// The page's origin is not one of the property's.
    public static let originNotAllowed = Self(.originNotAllowed)
    /// A visitor token that is forged, altered, expired or missing.
    public static let visitorNotAuthentic = Self(.visitorNotAuthentic)
    /// The visitor's history was taken over by another account already.
    public static let visitorLinkedElsewhere = Self(.visitorLinkedElsewhere)

    public var kind: Kind {
        switch base {
        case .processingRestricted, .notAnErasure, .deliverExport, .emailAlreadyConfirmed: .conflict
        case .correctionMissing, .invalidWebhook: .invalidInput
        case .webhookNotFound: .notFound
        case .deliveryNotDead: .conflict
        case .invalidTask: .invalidInput
        case .taskNotFound: .notFound
        case .taskSettled, .awaitingSystems, .endpointInUse, .visitorLinkedElsewhere: .conflict
        case .answerNotAuthentic, .visitorNotAuthentic: .unauthorized
        case .invalidProperty: .invalidInput
        case .propertyNotFound: .notFound
        case .originNotAllowed: .forbidden
        case .erased: .gone
        case .accountNotFound: .notFound
        case .corruptedKey: .corrupted
        case .staffAccountNeedsAdmin: .forbidden
        }
    }

    /// A stable, URL-safe name for the refusal.
    public var slug: String {
        switch base {
        case .processingRestricted: "processing-restricted"
        case .notAnErasure: "not-an-erasure"
        case .deliverExport: "deliver-export"
        case .correctionMissing: "invalid-request"
        case .erased: "erased"
        case .accountNotFound: "not-found"
        case .corruptedKey: "internal"
        case .staffAccountNeedsAdmin: "forbidden"
        case .emailAlreadyConfirmed: "email-confirmed"
        case .invalidWebhook: "invalid-request"
        case .webhookNotFound: "not-found"
        case .deliveryNotDead: "not-dead"
        case .invalidTask: "invalid-request"
        case .taskNotFound: "not-found"
        case .taskSettled: "task-settled"
        case .answerNotAuthentic: "unauthenticated"
        case .awaitingSystems: "awaiting-systems"
        case .endpointInUse: "endpoint-in-use"
        case .invalidProperty: "invalid-request"
        case .propertyNotFound: "not-found"
        case .originNotAllowed: "origin-not-allowed"
        case .visitorNotAuthentic: "visitor-unauthenticated"
        case .visitorLinkedElsewhere: "visitor-linked"
        }
    }

    public var title: String {
        switch base {
        case .processingRestricted: "Processing restricted"
        case .notAnErasure: "Not an erasure request"
        case .deliverExport: "Deliver the export"
        case .correctionMissing: "Invalid request"
        case .erased: "Erased"
        case .accountNotFound: "Not found"
        case .corruptedKey: "Internal error"
        case .staffAccountNeedsAdmin: "Not allowed"
        case .emailAlreadyConfirmed: "Already confirmed"
        case .invalidWebhook: "Invalid request"
        case .webhookNotFound: "Not found"
        case .deliveryNotDead: "Not a dead delivery"
        case .invalidTask: "Invalid request"
        case .taskNotFound: "Not found"
        case .taskSettled: "Already settled"
        case .answerNotAuthentic: "Not authenticated"
        case .awaitingSystems: "Awaiting downstream systems"
        case .endpointInUse: "Endpoint in use"
        case .invalidProperty: "Invalid request"
        case .propertyNotFound: "Not found"
        case .originNotAllowed: "Origin not allowed"
        case .visitorNotAuthentic: "Visitor not recognised"
        case .visitorLinkedElsewhere: "Visitor linked to another account"
        }
    }

    public var description: String {
        switch base {
        case .processingRestricted:
            "processing of this person's data is restricted (GDPR Art. 18); only their own withdrawals are accepted"
        case .notAnErasure: "only erasure and delete requests are fulfilled by erasing"
        case .deliverExport(let subject):
            "download GET /v1/subjects/\(subject)/export for the person, then complete the request"
        case .correctionMissing: "give the corrected email and/or displayName"
        case .erased(let date):
            "this person's data was erased on \(RFC3339.string(from: date)); nothing remains to export"
        case .accountNotFound: "no such resource"
        case .corruptedKey(let kind): "a stored \(kind) has an unreadable id"
        case .staffAccountNeedsAdmin: "a staff account is erased or changed only by an administrator"
        case .emailAlreadyConfirmed: "your email is confirmed"
        case .invalidWebhook(let detail): detail
        case .webhookNotFound: "no such resource"
        case .deliveryNotDead: "only a dead delivery is replayed"
        case .invalidTask(let detail): detail
        case .taskNotFound: "no such resource"
        case .taskSettled: "this task is already settled; an answer changes nothing now"
        case .answerNotAuthentic(let detail): detail
        case .awaitingSystems(let open):
            "\(open) downstream system task(s) are still open: wait for them, or record an exception with a reason"
        case .endpointInUse: "a downstream system's tasks go to this endpoint; retire the system first"
        case .invalidProperty(let detail): detail
        case .propertyNotFound: "no such resource"
        case .originNotAllowed: "this page's origin is not one of the property's"
        case .visitorNotAuthentic: "the visitor token is missing, altered or expired; start a new visit"
        case .visitorLinkedElsewhere: "this visitor's history was linked to another account"
        }
    }
}
