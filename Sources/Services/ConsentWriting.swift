public import Consent
public import Privacy

/// Recording consent decisions as every route does, the upstream-compatible ones included: the
/// restriction rule first, then the append (idempotent when claimed), then the count in `/metrics`.
public struct ConsentWriting: Sendable {
    let consents: ConsentService
    let restrictions: RestrictionRegistry
    let metrics: QSPPMetrics

    /// `actor` is the subject id of whoever asks: the person themselves, or staff.
    public func record(
        _ decisions: [DecisionRequest], for subject: SubjectID, actor: String?, origin: RequestOrigin,
        claim: IdempotencyClaim?
    ) async throws -> AppendOutcome {
        if try await restrictions.isRestricted(subject.rawValue) {
            // Art. 18: while processing is restricted, only the person may still withdraw.
            let ownWithdrawals = actor == subject.rawValue && decisions.allSatisfy { $0.decision == .withdrawn }
            guard ownWithdrawals else { throw ServiceError.processingRestricted }
        }
        let outcome = try await consents.record(decisions, for: subject, origin: origin, claim: claim)
        if case .recorded(let events) = outcome { metrics.consentEventsWritten(events.count) }
        return outcome
    }
}
