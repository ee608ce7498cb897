import Consent
import Foundation
import Testing

@testable import App

struct JSONTextTests {
    @Test func handBuiltEventJSONEqualsWhatJSONEncoderWrites() throws {
        let subject = try SubjectID(validating: "alice@example.com")
        let purpose = try PurposeID(validating: "marketing")
        let events = [
            ConsentEvent(
                id: UUID(), subjectID: subject, purposeID: purpose, decision: .granted, noticeVersion: 3,
                method: .explicit, sourceIP: "2001:db8::1",
                userAgent: "Agent \"quoted\" back\\slash tab\t newline\n bell\u{07} ünïcode 😀 </script>",
                recordedAt: Date(), clientTimestamp: Date(timeIntervalSince1970: 1_700_000_000.5)),
            ConsentEvent(
                id: UUID(), subjectID: subject, purposeID: purpose, decision: .withdrawn, noticeVersion: 1,
                method: .gpc, sourceIP: nil, userAgent: nil, recordedAt: Date(), clientTimestamp: nil),
        ].map(ConsentEventOutput.init)
        struct Mirror: Encodable { var events: [ConsentEventOutput] }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let expected =
            try JSONSerialization.jsonObject(with: try encoder.encode(Mirror(events: events))) as? NSDictionary
        var bytes: [UInt8] = []
        EventsOutput(events: events).appendJSON(to: &bytes)
        let actual = try JSONSerialization.jsonObject(with: Data(bytes)) as? NSDictionary
        #expect(actual == expected)
        #expect(String(decoding: bytes, as: UTF8.self).contains(#"</script>"#))
    }
}
