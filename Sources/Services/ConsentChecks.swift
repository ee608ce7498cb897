public import Consent
public import Privacy

/// Whether a subject's data may be used for a purpose now: granted under the notice in effect, and the
/// subject neither restricted (GDPR Art. 18) nor erased. What services ask before each use.
public struct ConsentChecks: Sendable {
    let consents: ConsentService
    let restrictions: RestrictionRegistry
    let erasures: any ErasureRepository

    public struct Answer: Sendable {
        public let state: PurposeState
        public let restricted: Bool
        public let erased: Bool

        public var allowed: Bool { !restricted && !erased && state.isGranted && !state.needsReconsent }
    }

    /// Each subject's answer on each of `purposes`, in the order given; see ``ConsentService/standing(of:on:)``.
    public func answers(for subjects: [SubjectID], on purposes: [PurposeID]) async throws -> [[Answer]] {
        let states = try await consents.standing(of: subjects, on: purposes)
        var answers: [[Answer]] = []
        for (subject, row) in zip(subjects, states) {
            let erased = try await erasures.erasure(of: subject.rawValue) != nil
            let restricted = try await restrictions.isRestricted(subject.rawValue)
            answers.append(row.map { Answer(state: $0, restricted: restricted, erased: erased) })
        }
        return answers
    }
}

extension QSPPServices {
    public var consentChecks: ConsentChecks {
        ConsentChecks(consents: consents, restrictions: restrictions, erasures: store.erasures)
    }
}
