import Foundation
import QSPPTestSupport
import Testing

@testable import WebAuthn

/// Credential public keys in COSE, made and used by independent code (the cryptography package and
/// fido2 for ES256, EdDSA and RS256; dilithium-py for ML-DSA-65), verified here; and keys whose parts
/// disagree, or that no curve or modulus rule allows, refused.
@Suite("COSE keys")
struct COSEKeyTests {
    @Test func signaturesOfIndependentImplementationsVerify() throws {
        let output = try run(
            ["python3", repositoryRoot.appendingPathComponent("Tests/Interop/cose_keys.py").path],
            needs: "fido2, cryptography, cbor2 and dilithium-py from PyPI")
        var algorithms: [COSEAlgorithm] = []
        for line in output.split(separator: "\n") {
            let sample = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let key = try COSEKey(try CBORDecoder().decode(CBORTests.bytes(try #require(sample["cose"] as? String))))
            #expect(key.algorithm.rawValue == sample["alg"] as? Int)
            let message = CBORTests.bytes(try #require(sample["message"] as? String))
            let signature = CBORTests.bytes(try #require(sample["signature"] as? String))
            #expect(key.isValidSignature(signature, for: message), "\(key.algorithm)")
            var altered = message
            altered[0] ^= 1
            #expect(!key.isValidSignature(signature, for: altered), "\(key.algorithm)")
            #expect(!key.isValidSignature(Data(signature.dropLast()), for: message), "\(key.algorithm)")
            algorithms.append(key.algorithm)
        }
        #expect(Set(algorithms) == Set(COSEAlgorithm.allCases))
    }

    static func key(_ entries: [(Int, CBORValue)]) -> CBORValue {
        .map(entries.map { CBORMapEntry($0.0 < 0 ? .negative(UInt64(-1 - $0.0)) : .unsigned(UInt64($0.0)), $0.1) })
    }

    @Test func keysWhosePartsDisagreeAreRefused() {
        let x = CBORValue.bytes(Data(repeating: 7, count: 32))
        let cases: [(CBORValue, WebAuthnError.Code)] = [
            (
                Self.key([(1, .unsigned(2)), (3, .negative(34)), (-1, .unsigned(2)), (-2, x), (-3, x)]),
                .unsupportedAlgorithm
            ),
            (Self.key([(1, .unsigned(1)), (3, .negative(6)), (-1, .unsigned(1)), (-2, x), (-3, x)]), .invalidKey),
            (Self.key([(1, .unsigned(2)), (3, .negative(6)), (-1, .unsigned(1)), (-2, x), (-3, x)]), .invalidKey),
            (
                Self.key([(1, .unsigned(1)), (3, .negative(7)), (-1, .unsigned(6)), (-2, .bytes(Data(count: 31)))]),
                .invalidKey
            ),
            (Self.key([(1, .unsigned(7)), (3, .negative(48)), (-1, .bytes(Data(count: 1951)))]), .invalidKey),
            (
                Self.key([
                    (1, .unsigned(3)), (3, .negative(256)), (-1, .bytes(Data(repeating: 0xFF, count: 128))),
                    (-2, .bytes(Data([1, 0, 1]))),
                ]), .invalidKey
            ),
            (Self.key([(3, .negative(6))]), .invalidKey),
            (.array([]), .invalidKey),
        ]
        for (cbor, code) in cases {
            #expect(throws: WebAuthnError(code)) { try COSEKey(cbor) }
        }
    }
}
