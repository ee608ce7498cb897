import Foundation

/// Answers for the services that use data: may this subject's data be used for this purpose now?
extension ConsentService {
    /// How many subjects and purposes one bulk check may name: a bounded query and answer.
    public static let maximumCheckedSubjects = 100
    public static let maximumCheckedPurposes = 20

    /// Each subject's standing on each of `purposes`, subjects and purposes in the order given. A
    /// purpose not in the catalog is ``ConsentError/unknownPurpose(_:)``, so a typo is never read as
    /// "not granted".
    public func standing(of subjects: [SubjectID], on purposes: [PurposeID]) async throws -> [[PurposeState]] {
        guard !subjects.isEmpty, !purposes.isEmpty else {
            throw ConsentError.invalidField("subjects", "name at least one subject and one purpose")
        }
        guard subjects.count <= Self.maximumCheckedSubjects, purposes.count <= Self.maximumCheckedPurposes else {
            throw ConsentError.invalidField(
                "subjects",
                "at most \(Self.maximumCheckedSubjects) subjects and \(Self.maximumCheckedPurposes) purposes at once")
        }
        let catalog = try await self.catalog.all()
        let date = now()
        let notices = try purposes.map { id in
            guard let purpose = catalog[id] else { throw ConsentError.unknownPurpose(id) }
            return (id, purpose.currentNotice(at: date).version)
        }
        var answers: [[PurposeState]] = []
        for subject in subjects {
            let latest = Dictionary(
                try await repository.latestEvents(subjectID: subject).map { ($0.purposeID, $0) },
                uniquingKeysWith: { _, newer in newer })
            answers.append(
                notices.map { id, version in
                    PurposeState(purposeID: id, latest: latest[id], currentNoticeVersion: version)
                })
        }
        return answers
    }
}
