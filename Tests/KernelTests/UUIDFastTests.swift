import Foundation
import Kernel
import Testing

@Suite("Random ids")
struct UUIDFastTests {
    @Test func randomIDsAreVersion4AndDistinct() {
        let ids = (0..<3000).map { _ in UUID.random() }
        #expect(Set(ids).count == ids.count)
        for id in ids {
            #expect(id.uuid.6 >> 4 == 4, "version 4")
            #expect(id.uuid.8 >> 6 == 0b10, "RFC 9562 variant")
        }
        // Spread over more than one refill of the pool: the bits are not all one value.
        let firstBytes = Set(ids.map(\.uuid.0))
        #expect(firstBytes.count > 200)
    }

    @Test func lowercasedStringIsFoundationsTextLowercased() {
        let ids =
            [UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0))]
            + [UUID(uuid: (255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255))]
            + (0..<500).map { _ in UUID() }
        for id in ids {
            #expect(id.lowercasedString == id.uuidString.lowercased())
            #expect(UUID(uuidString: id.lowercasedString) == id)
        }
    }
}
