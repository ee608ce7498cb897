import Foundation
import Kernel
import Testing

@testable import Consent

struct IdentifierTests {
    @Test(arguments: ["alice", "user-42", "a.b@example.com", "tenant:123_x", String(repeating: "x", count: 128)])
    func validSubjectIDs(text: String) throws {
        #expect(try SubjectID(validating: text).rawValue == text)
    }

    @Test(arguments: ["", " ", "../etc/passwd", "a b", "ünï", "a/b", "a%2Fb", String(repeating: "x", count: 129)])
    func invalidSubjectIDs(text: String) {
        #expect(throws: ConsentError.invalidSubjectID) { try SubjectID(validating: text) }
    }

    @Test(arguments: ["marketing", "third_party_sharing", "a1"])
    func validPurposeIDs(text: String) throws {
        #expect(try PurposeID(validating: text).rawValue == text)
    }

    @Test(arguments: ["", "Marketing", "1abc", "_x", "a-b", String(repeating: "a", count: 65)])
    func invalidPurposeIDs(text: String) {
        #expect(throws: ConsentError.invalidPurposeID) { try PurposeID(validating: text) }
    }

    @Test func datesRoundToTheMicrosecondBothBackendsKeep() {
        let date = Date(timeIntervalSince1970: 1_764_000_000.123456789)
        #expect(date.roundedToMicroseconds.microsecondsSince1970 == 1_764_000_000_123_457)
        #expect(date.roundedToMicroseconds.roundedToMicroseconds == date.roundedToMicroseconds)
        let micros: Int64 = 1_764_000_000_654_321
        #expect(Date(microsecondsSince1970: micros).microsecondsSince1970 == micros)
    }
}

struct PurposeTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    func purpose(effective offsets: [TimeInterval]) throws -> Purpose {
        Purpose(
            id: try PurposeID(validating: "marketing"), title: "Marketing", description: "", isSaleOrSharing: false,
            notices: offsets.enumerated().map { index, offset in
                Notice(version: index + 1, text: "v\(index + 1)", url: nil, effectiveAt: now.addingTimeInterval(offset))
            })
    }

    @Test func theCurrentNoticeIsTheNewestAlreadyInEffect() throws {
        let purpose = try purpose(effective: [-100, -10, 3600])
        #expect(purpose.currentNotice(at: now).version == 2)
        #expect(purpose.currentNotice(at: now.addingTimeInterval(7200)).version == 3)
    }

    @Test func beforeAnyNoticeTakesEffectTheFirstApplies() throws {
        #expect(try purpose(effective: [100]).currentNotice(at: now).version == 1)
    }

    @Test func aGrantUnderAnOlderNoticeNeedsReconsentButAWithdrawalDoesNot() throws {
        let subject = try SubjectID(validating: "alice")
        let marketing = try PurposeID(validating: "marketing")
        func state(_ decision: Decision, version: Int) -> PurposeState {
            PurposeState(
                purposeID: marketing,
                latest: ConsentEvent(
                    id: UUID(), subjectID: subject, purposeID: marketing, decision: decision, noticeVersion: version,
                    method: .api, sourceIP: nil, userAgent: nil, recordedAt: now, clientTimestamp: nil),
                currentNoticeVersion: 2)
        }
        #expect(state(.granted, version: 1).needsReconsent)
        #expect(!state(.granted, version: 2).needsReconsent)
        #expect(!state(.withdrawn, version: 1).needsReconsent)
        #expect(!PurposeState(purposeID: marketing, latest: nil, currentNoticeVersion: 2).needsReconsent)
    }
}

struct ConsentErrorTests {
    @Test func descriptionsNameTheProblemWithoutPersonalData() throws {
        let purpose = try PurposeID(validating: "marketing")
        #expect(ConsentError.unknownPurpose(purpose).description == "no purpose named 'marketing'")
        #expect(ConsentError.unknownPurpose(purpose).kind == .notFound)
        #expect(ConsentError.invalidSubjectID.kind == .invalidInput)
        #expect(ConsentError.idempotencyKeyReused.kind == .unprocessable)
        #expect(ConsentError.purposeExists(purpose).kind == .conflict)
    }
}
