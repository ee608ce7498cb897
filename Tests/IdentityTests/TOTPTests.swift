import Foundation
import Identity
import Testing

@Suite("TOTP (RFC 6238)")
struct TOTPTests {
    /// RFC 6238 Appendix B, SHA-1 rows, last six digits of each eight-digit code.
    @Test(
        arguments: [
            (59, "287082"), (1_111_111_109, "081804"), (1_111_111_111, "050471"), (1_234_567_890, "005924"),
            (2_000_000_000, "279037"), (20_000_000_000, "353130"),
        ] as [(Int64, String)])
    func rfc6238Vectors(time: Int64, code: String) {
        let totp = TOTP(secret: Data("12345678901234567890".utf8))
        #expect(totp.code(step: time / TOTP.period) == code)
    }

    @Test func acceptsOneStepOfDriftEitherWayAndNothingElse() {
        let totp = TOTP.generate()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let step = TOTP.step(at: now)
        for offset: Int64 in -1...1 {
            #expect(totp.matchingStep(for: totp.code(step: step + offset), at: now) == step + offset)
        }
        #expect(totp.matchingStep(for: totp.code(step: step + 2), at: now) == nil)
        #expect(totp.matchingStep(for: totp.code(step: step - 2), at: now) == nil)
        for junk in ["", "12345", "1234567", "12a456", "１２３４５６", " 12345"] {
            #expect(totp.matchingStep(for: junk, at: now) == nil)
        }
    }

    @Test func provisioningURICarriesTheBase32SecretAndIssuer() throws {
        let totp = TOTP(secret: Data("12345678901234567890".utf8))
        #expect(totp.base32Secret == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
        let uri = try #require(URLComponents(string: totp.provisioningURI(account: "a@example.com", issuer: "QSPP")))
        #expect(uri.scheme == "otpauth")
        #expect(uri.host == "totp")
        let query = Dictionary(uniqueKeysWithValues: (uri.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        #expect(query["secret"] == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
        #expect(query["issuer"] == "QSPP")
        #expect(query["digits"] == "6")
        #expect(query["period"] == "30")
    }
}
