import Foundation
import PQCrypto
import QSPPTestSupport
import Testing

@testable import Services

/// Visitor tokens: what one issues verifies, to its own visitor, for thirteen months; an altered one,
/// one from another master key, an expired one and one from the future do not.
@Suite("Visitor tokens")
struct VisitorTokenTests {
    @Test func aTokenNamesItsVisitorUntilItExpires() throws {
        let tokens = VisitorTokens(masterKey: try MasterKey(base64Seed: testMasterKey))
        let now = Date()
        let issued = tokens.issue(at: now)
        #expect(try tokens.visitor(issued.token, at: now) == issued.visitor)
        #expect(
            try tokens.visitor(issued.token, at: now.addingTimeInterval(VisitorTokens.lifetime - 60)) == issued.visitor)
        #expect(throws: ServiceError.visitorNotAuthentic) {
            _ = try tokens.visitor(issued.token, at: now.addingTimeInterval(VisitorTokens.lifetime + 60))
        }
        #expect(throws: ServiceError.visitorNotAuthentic) {
            _ = try tokens.visitor(issued.token, at: now.addingTimeInterval(-3600))
        }
        let other = VisitorTokens(
            masterKey: try MasterKey(base64Seed: Data(repeating: 7, count: 32).base64EncodedString()))
        #expect(throws: ServiceError.visitorNotAuthentic) { _ = try other.visitor(issued.token, at: now) }
        let parts = issued.token.split(separator: ".").map(String.init)
        for altered in [
            "v1.\(UUID().uuidString.lowercased()).\(parts[2]).\(parts[3])",
            "v1.\(parts[1]).\(Int64(parts[2])! + 1).\(parts[3])", "v2.\(parts[1]).\(parts[2]).\(parts[3])",
            parts[0...2].joined(separator: "."), "", issued.token + ".x",
        ] {
            #expect(throws: ServiceError.visitorNotAuthentic) { _ = try tokens.visitor(altered, at: now) }
        }
    }
}
