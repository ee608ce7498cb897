import Consent
import Foundation
import QSPPTestSupport
import Storage
import Testing

/// One suite, every backend: SQLite and PostgreSQL must behave identically.
@Suite("ConsentRepository conformance")
struct ConsentRepositoryConformanceTests {
    @Test(arguments: Backend.all)
    func migrationsAreRecordedAndRunningThemAgainChangesNothing(backend: Backend) async throws {
        try await withStore(backend) { store in
            let appliedAtOpen = try await store.appliedMigrations()
            #expect(appliedAtOpen == Array(1...27))
            #expect(try await store.migrate() == [])
            #expect(try await store.appliedMigrations() == Array(1...27))
        }
    }

    @Test(arguments: Backend.all)
    func theFiveUpstreamPurposesAreSeeded(backend: Backend) async throws {
        try await withStore(backend) { store in
            let purposes = Dictionary(
                uniqueKeysWithValues: try await store.consents.allPurposes().map { ($0.id.rawValue, $0) })
            for id in ["marketing", "analytics", "data_processing", "cookies", "third_party_sharing"] {
                let purpose = try #require(purposes[id])
                #expect(purpose.notices.map(\.version) == [1])
                #expect(purpose.notices[0].text?.isEmpty == false)
            }
            #expect(purposes["third_party_sharing"]?.isSaleOrSharing == true)
            #expect(purposes["marketing"]?.isSaleOrSharing == false)
        }
    }

    @Test(arguments: Backend.all)
    func aPurposeIdCanBeTakenOnlyOnce(backend: Backend) async throws {
        try await withStore(backend) { store in
            let purpose = makePurpose(try uniquePurposeID())
            try await store.consents.insertPurpose(purpose)
            await #expect(throws: ConsentError.purposeExists(purpose.id)) {
                try await store.consents.insertPurpose(purpose)
            }
            let stored = try await store.consents.allPurposes().first { $0.id == purpose.id }
            #expect(stored == purpose)
        }
    }

    @Test(arguments: Backend.all)
    func purposeUpdatesKeepNotices(backend: Backend) async throws {
        try await withStore(backend) { store in
            let purpose = makePurpose(try uniquePurposeID())
            try await store.consents.insertPurpose(purpose)
            try await store.consents.updatePurpose(
                id: purpose.id, title: "Renamed", description: "New words", isSaleOrSharing: true,
                lawfulBasis: .legitimateInterests)
            let stored = try #require(try await store.consents.allPurposes().first { $0.id == purpose.id })
            #expect(stored.title == "Renamed")
            #expect(stored.lawfulBasis == .legitimateInterests)
            #expect(stored.description == "New words")
            #expect(stored.isSaleOrSharing)
            #expect(stored.notices == purpose.notices)
        }
    }

    @Test(arguments: Backend.all)
    func noticeVersionsCountUpEvenWhenPublishedConcurrently(backend: Backend) async throws {
        try await withStore(backend) { store in
            let purpose = makePurpose(try uniquePurposeID())
            try await store.consents.insertPurpose(purpose)
            let versions = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        try await store.consents.appendNotice(
                            purposeID: purpose.id, text: "Version \(index)", url: nil, effectiveAt: Date()
                        ).version
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(versions.sorted() == Array(2...9))
            let stored = try #require(try await store.consents.allPurposes().first { $0.id == purpose.id })
            #expect(stored.notices.map(\.version) == Array(1...9))
        }
    }

    @Test(arguments: Backend.all)
    func eventsReadBackExactlyAsWritten(backend: Backend) async throws {
        try await withStore(backend) { store in
            let subject = try uniqueSubject()
            let marketing = try PurposeID(validating: "marketing")
            let written = [
                makeEvent(subject, marketing, .granted),
                makeEvent(
                    subject, marketing, .withdrawn, method: .explicit, sourceIP: "2001:db8::1",
                    userAgent: "Mozilla/5.0 (X11; Linux) \"quoted\" ünïcode",
                    clientTimestamp: Date(timeIntervalSince1970: 1_700_000_000.123456)),
            ]
            let outcome = try await store.consents.append(written, claim: nil)
            #expect(outcome.unsequenced == .recorded(written))
            // Each event has its own ledger entry, in the order written.
            let sequences = outcome.events.compactMap(\.ledgerSequence)
            #expect(sequences.count == 2 && sequences[1] == sequences[0] + 1)
            let page = try await store.consents.history(subjectID: subject, after: nil, limit: 10)
            #expect(page.events == outcome.events.reversed())
            #expect(page.next == nil)
        }
    }

    @Test(arguments: Backend.all)
    func historyPagesNewestFirstWithoutGapsOrRepeats(backend: Backend) async throws {
        try await withStore(backend) { store in
            let subject = try uniqueSubject()
            let other = try uniqueSubject()
            let analytics = try PurposeID(validating: "analytics")
            var written: [ConsentEvent] = []
            for index in 0..<7 {
                let event = makeEvent(subject, analytics, index.isMultiple(of: 2) ? .granted : .withdrawn)
                _ = try await store.consents.append([event], claim: nil)
                _ = try await store.consents.append([makeEvent(other, analytics, .granted)], claim: nil)
                written.append(event)
            }
            var seen: [ConsentEvent] = []
            var cursor: HistoryCursor?
            var pages = 0
            repeat {
                let page = try await store.consents.history(subjectID: subject, after: cursor, limit: 3)
                seen += page.events
                cursor = page.next
                pages += 1
            } while cursor != nil
            #expect(pages == 3)
            #expect(seen.unsequenced == written.reversed())
        }
    }

    @Test(arguments: Backend.all)
    func latestEventsHoldTheNewestDecisionPerPurpose(backend: Backend) async throws {
        try await withStore(backend) { store in
            let subject = try uniqueSubject()
            let marketing = try PurposeID(validating: "marketing")
            let cookies = try PurposeID(validating: "cookies")
            let first = makeEvent(subject, marketing, .granted)
            let second = makeEvent(subject, cookies, .granted)
            let third = makeEvent(subject, marketing, .withdrawn)
            _ = try await store.consents.append([first, second], claim: nil)
            _ = try await store.consents.append([third], claim: nil)
            #expect(try await store.consents.latestEvents(subjectID: subject).unsequenced == [second, third])
            #expect(try await store.consents.latestEvents(subjectID: try uniqueSubject()) == [])
        }
    }

    @Test(arguments: Backend.all)
    func anIdempotencyKeyReplaysTheFirstResultAndRefusesADifferentRequest(backend: Backend) async throws {
        try await withStore(backend) { store in
            let subject = try uniqueSubject()
            let marketing = try PurposeID(validating: "marketing")
            let claim = IdempotencyClaim(scope: "test", key: UUID().uuidString, fingerprint: "f1")
            let original = [makeEvent(subject, marketing, .granted)]
            let first = try await store.consents.append(original, claim: claim)
            #expect(first.unsequenced == .recorded(original))
            let retry = [makeEvent(subject, marketing, .granted)]
            // A replay answers with the first request's events, ledger sequences included.
            #expect(try await store.consents.append(retry, claim: claim) == .replayed(first.events))
            var changed = claim
            changed.fingerprint = "f2"
            await #expect(throws: ConsentError.idempotencyKeyReused) {
                try await store.consents.append(retry, claim: changed)
            }
            var otherScope = claim
            otherScope.scope = "someone-else"
            #expect(try await store.consents.append(retry, claim: otherScope).unsequenced == .recorded(retry))
            let history = try await store.consents.history(subjectID: subject, after: nil, limit: 10)
            #expect(history.events.unsequenced == retry + original)
        }
    }

    @Test(arguments: Backend.all)
    func concurrentRetriesOfOneKeyWriteOnce(backend: Backend) async throws {
        try await withStore(backend) { store in
            let subject = try uniqueSubject()
            let marketing = try PurposeID(validating: "marketing")
            let claim = IdempotencyClaim(scope: "test", key: UUID().uuidString, fingerprint: "same")
            let outcomes = try await withThrowingTaskGroup(of: AppendOutcome.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        try await store.consents.append([makeEvent(subject, marketing, .granted)], claim: claim)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let recorded = outcomes.filter { if case .recorded = $0 { true } else { false } }
            #expect(recorded.count == 1)
            #expect(outcomes.allSatisfy { $0.events == outcomes[0].events })
            #expect(try await store.consents.history(subjectID: subject, after: nil, limit: 50).events.count == 1)
        }
    }

    @Test(arguments: Backend.all)
    func concurrentWritesForOneSubjectLeaveHistoryAndStateInAgreement(backend: Backend) async throws {
        try await withStore(backend) { store in
            let subject = try uniqueSubject()
            let purposes = try ["marketing", "analytics", "cookies"].map { try PurposeID(validating: $0) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<300 {
                    group.addTask {
                        let event = makeEvent(
                            subject, purposes[index % 3], Bool.random() ? .granted : .withdrawn)
                        let outcome = try await store.consents.append([event], claim: nil)
                        #expect(outcome.unsequenced == .recorded([event]))
                    }
                }
                try await group.waitForAll()
            }
            let history = try await store.consents.history(subjectID: subject, after: nil, limit: 500).events
            #expect(history.count == 300)
            #expect(Set(history.map(\.id)).count == 300)
            let newestPerPurpose = purposes.compactMap { purpose in history.first { $0.purposeID == purpose } }
            let latest = try await store.consents.latestEvents(subjectID: subject)
            #expect(Set(latest.map(\.id)) == Set(newestPerPurpose.map(\.id)))
        }
    }

    @Test(arguments: Backend.all)
    func aFailingWriteLeavesNothingAndDoesNotFailItsNeighbours(backend: Backend) async throws {
        try await withStore(backend) { store in
            let subject = try uniqueSubject()
            let marketing = try PurposeID(validating: "marketing")
            // Notice version 999 does not exist: the foreign key refuses the whole append.
            let broken = [
                makeEvent(subject, marketing, .granted), makeEvent(subject, marketing, .granted, version: 999),
            ]
            let results = await withTaskGroup(of: Bool.self) { group in
                group.addTask { (try? await store.consents.append(broken, claim: nil)) != nil }
                for _ in 0..<20 {
                    group.addTask {
                        (try? await store.consents.append([makeEvent(subject, marketing, .withdrawn)], claim: nil))
                            != nil
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter { $0 }.count == 20)
            let history = try await store.consents.history(subjectID: subject, after: nil, limit: 50).events
            #expect(history.count == 20)
            #expect(history.allSatisfy { $0.decision == .withdrawn })
        }
    }
}
