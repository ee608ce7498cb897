import Foundation
import Kernel

/// The consent ledger's rules: what may be recorded, how Global Privacy Control applies, and how
/// current state is derived from the append-only log.
public struct ConsentService: Sendable {
    public static let maximumBatchSize = 100
    public static let maximumHistoryPageSize = 500
    public static let maximumTextLength = 10_000
    public static let maximumTitleLength = 200

    let repository: any ConsentRepository
    let catalog: PurposeCatalog
    let now: @Sendable () -> Date

    public init(
        repository: any ConsentRepository,
        purposeCacheAge: Duration = .seconds(1),
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.repository = repository
        self.catalog = PurposeCatalog(repository: repository, maximumAge: purposeCacheAge)
        self.now = now
    }

    // MARK: Decisions

    /// Records decisions for one subject in one atomic append.
    ///
    /// With Global Privacy Control on, every sale-or-sharing purpose the request does not decide
    /// explicitly, and that is not already withdrawn, is withdrawn first with method `gpc`.
    public func record(
        _ decisions: [DecisionRequest], for subjectID: SubjectID, origin: RequestOrigin,
        claim: IdempotencyClaim? = nil
    ) async throws -> AppendOutcome {
        guard decisions.count <= Self.maximumBatchSize else {
            throw ConsentError.batchTooLarge(limit: Self.maximumBatchSize)
        }
        guard !decisions.isEmpty || origin.globalPrivacyControl else { throw ConsentError.emptyBatch }
        let purposes = try await catalog.purposes(decisions.map(\.purposeID))
        let recordedAt = now().roundedToMicroseconds

        var events: [ConsentEvent] = []
        if origin.globalPrivacyControl {
            events += try await gpcWithdrawals(
                for: subjectID, purposes: purposes.values, except: Set(decisions.map(\.purposeID)),
                origin: origin, at: recordedAt)
        }
        for request in decisions {
            let purpose = purposes[request.purposeID]!
            let version = try resolveNoticeVersion(request, purpose: purpose, at: recordedAt)
            events.append(
                ConsentEvent(
                    id: .random(), subjectID: subjectID, purposeID: purpose.id, decision: request.decision,
                    noticeVersion: version, method: request.method, sourceIP: origin.sourceIP,
                    userAgent: origin.userAgent, recordedAt: recordedAt, clientTimestamp: request.clientTimestamp))
        }
        if events.isEmpty, claim == nil { return .recorded([]) }
        return try await repository.append(events, claim: claim)
    }

    private func resolveNoticeVersion(_ request: DecisionRequest, purpose: Purpose, at date: Date) throws -> Int {
        guard let version = request.noticeVersion else { return purpose.currentNotice(at: date).version }
        guard purpose.notice(version: version) != nil else {
            throw ConsentError.unknownNoticeVersion(purpose.id, version: version)
        }
        return version
    }

    private func gpcWithdrawals(
        for subjectID: SubjectID, purposes: some Sequence<Purpose>, except decided: Set<PurposeID>,
        origin: RequestOrigin, at date: Date
    ) async throws -> [ConsentEvent] {
        let targets = purposes.filter { $0.isSaleOrSharing && !decided.contains($0.id) }
        guard !targets.isEmpty else { return [] }
        let latest = Dictionary(
            try await repository.latestEvents(subjectID: subjectID).map { ($0.purposeID, $0) },
            uniquingKeysWith: { _, newer in newer })
        return targets.sorted { $0.id < $1.id }
            .filter { latest[$0.id]?.decision != .withdrawn }
            .map { purpose in
                ConsentEvent(
                    id: .random(), subjectID: subjectID, purposeID: purpose.id, decision: .withdrawn,
                    noticeVersion: purpose.currentNotice(at: date).version, method: .gpc,
                    sourceIP: origin.sourceIP, userAgent: origin.userAgent, recordedAt: date, clientTimestamp: nil)
            }
    }

    // MARK: Reading

    /// Every purpose in the catalog with the subject's standing on it.
    public func currentState(of subjectID: SubjectID) async throws -> [PurposeState] {
        async let latestEvents = repository.latestEvents(subjectID: subjectID)
        let purposes = try await catalog.all()
        let latest = Dictionary(
            try await latestEvents.map { ($0.purposeID, $0) }, uniquingKeysWith: { _, newer in newer })
        let date = now()
        return purposes.values.sorted { $0.id < $1.id }.map { purpose in
            PurposeState(
                purposeID: purpose.id, latest: latest[purpose.id],
                currentNoticeVersion: purpose.currentNotice(at: date).version)
        }
    }

    /// The purposes the subject currently grants under the notice now in effect: a grant given under an
    /// older notice needs re-consent and does not count. An invalid subject id grants nothing.
    public func grantedPurposes(of subject: String) async throws -> Set<String> {
        guard let subjectID = try? SubjectID(validating: subject) else { return [] }
        let states = try await currentState(of: subjectID)
        return Set(states.filter { $0.isGranted && !$0.needsReconsent }.map(\.purposeID.rawValue))
    }

    public func history(of subjectID: SubjectID, after cursor: HistoryCursor?, limit: Int) async throws -> HistoryPage {
        guard (1...Self.maximumHistoryPageSize).contains(limit) else {
            throw ConsentError.invalidField("limit", "must be between 1 and \(Self.maximumHistoryPageSize)")
        }
        return try await repository.history(subjectID: subjectID, after: cursor, limit: limit)
    }

    public func event(_ id: UUID) async throws -> ConsentEvent? {
        try await repository.event(id: id)
    }

    // MARK: Purposes

    public func purposes() async throws -> [Purpose] {
        try await catalog.all().values.sorted { $0.id < $1.id }
    }

    public func purpose(_ id: PurposeID) async throws -> Purpose {
        try await catalog.purposes([id])[id]!
    }

    public func createPurpose(_ draft: PurposeDraft) async throws -> Purpose {
        try Self.validate(title: draft.title, description: draft.description)
        let notice = try Self.makeNotice(
            version: 1, text: draft.noticeText, url: draft.noticeURL, effectiveAt: draft.effectiveAt ?? now())
        let purpose = Purpose(
            id: draft.id, title: draft.title, description: draft.description,
            isSaleOrSharing: draft.isSaleOrSharing, lawfulBasis: draft.lawfulBasis, notices: [notice])
        try await repository.insertPurpose(purpose)
        catalog.invalidate()
        return purpose
    }

    public func updatePurpose(
        _ id: PurposeID, title: String?, description: String?, isSaleOrSharing: Bool?, lawfulBasis: LawfulBasis? = nil
    ) async throws -> Purpose {
        let existing = try await purpose(id)
        let title = title ?? existing.title
        let description = description ?? existing.description
        try Self.validate(title: title, description: description)
        try await repository.updatePurpose(
            id: id, title: title, description: description,
            isSaleOrSharing: isSaleOrSharing ?? existing.isSaleOrSharing,
            lawfulBasis: lawfulBasis ?? existing.lawfulBasis)
        catalog.invalidate()
        return try await purpose(id)
    }

    /// Publishes the next notice version. Grants given under older versions then need re-consent.
    public func publishNotice(
        for id: PurposeID, text: String?, url: String?, effectiveAt: Date?
    ) async throws -> Purpose {
        _ = try await purpose(id)
        let draft = try Self.makeNotice(version: 0, text: text, url: url, effectiveAt: effectiveAt ?? now())
        _ = try await repository.appendNotice(
            purposeID: id, text: draft.text, url: draft.url, effectiveAt: draft.effectiveAt)
        catalog.invalidate()
        return try await purpose(id)
    }

    public func ping() async throws { try await repository.ping() }

    private static func validate(title: String, description: String) throws(ConsentError) {
        guard !title.isEmpty, title.count <= maximumTitleLength else {
            throw .invalidField("title", "must be 1 to \(maximumTitleLength) characters")
        }
        guard description.count <= maximumTextLength else {
            throw .invalidField("description", "must be at most \(maximumTextLength) characters")
        }
        guard !title.containsNUL, !description.containsNUL else {
            throw .invalidField(title.containsNUL ? "title" : "description", "must not contain U+0000")
        }
    }

    private static func makeNotice(
        version: Int, text: String?, url: String?, effectiveAt: Date
    ) throws(ConsentError)
        -> Notice
    {
        let text = text.flatMap { $0.isEmpty ? nil : $0 }
        let url = url.flatMap { $0.isEmpty ? nil : $0 }
        guard text != nil || url != nil else { throw .noticeNeedsTextOrURL }
        if let text, text.count > maximumTextLength {
            throw .invalidField("notice.text", "must be at most \(maximumTextLength) characters")
        }
        if let text, text.containsNUL { throw .invalidField("notice.text", "must not contain U+0000") }
        if let url {
            guard url.count <= 2048, let parsed = URL(string: url),
                ["https", "http"].contains(parsed.scheme?.lowercased()),
                parsed.host != nil
            else { throw .invalidField("notice.url", "must be an absolute http(s) URL of at most 2048 characters") }
        }
        return Notice(version: version, text: text, url: url, effectiveAt: effectiveAt)
    }
}
