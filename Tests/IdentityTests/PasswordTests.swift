import Foundation
import Identity
import Testing

@Suite("Passwords")
struct PasswordTests {
    let policy = PasswordPolicy.standard

    @Test func lengthRulesCountCodePointsAndBytes() throws {
        #expect(throws: IdentityError.self) { try policy.check("short-pass1") }  // 11 characters
        try policy.check("twelve chars")
        // Twelve code points of four bytes each pass; the byte ceiling is separate.
        try policy.check(String(repeating: "🔐", count: 12))
        try policy.check(String(repeating: "a", count: 1024))
        #expect(throws: IdentityError.self) { try policy.check(String(repeating: "a", count: 1025)) }
    }

    @Test func noCompositionRulesButNoCommonPasswords() throws {
        try policy.check("all lower case words here")
        try policy.check("Pa;ss1234 is fine too")  // upstream's SQL filter refused this shape
        for common in ["q1w2e3r4t5y6", "1QAZ2WSX3EDC", "1qaz2wsx3edc"] {
            #expect(throws: IdentityError.self) { try policy.check(common) }
        }
    }

    @Test func argon2idHashesArePHCStringsThatVerify() async throws {
        let hasher = try PasswordHasher()
        let hash = try await hasher.hash("correct horse battery staple")
        #expect(hash.hasPrefix("$argon2id$v=19$m=19456,t=2,p=1$"))
        #expect(await hasher.verify("correct horse battery staple", against: hash) == .valid(needsRehash: false))
        #expect(await hasher.verify("correct horse battery stapl", against: hash) == .invalid)
        #expect(await hasher.verify("anything", against: "not a phc string") == .invalid)
        // Two hashes of one password differ: each has its own salt.
        #expect(try await hasher.hash("correct horse battery staple") != hash)
    }

    @Test func aNulByteDoesNotCutThePasswordShort() async throws {
        let hasher = try PasswordHasher()
        let hash = try await hasher.hash("abc\u{0}defghijklmnop")
        #expect(await hasher.verify("abc", against: hash) == .invalid)
        #expect(await hasher.verify("abc\u{0}defghijklmnop", against: hash) == .valid(needsRehash: false))
    }

    @Test func raisedParametersAskForARehash() async throws {
        let old = try PasswordHasher()
        let hash = try await old.hash("correct horse battery staple")
        let stronger = try PasswordHasher(parameters: .init(memoryKiB: 19 * 1024, iterations: 3, parallelism: 1))
        #expect(await stronger.verify("correct horse battery staple", against: hash) == .valid(needsRehash: true))
        let rehashed = try await stronger.hash("correct horse battery staple")
        #expect(rehashed.contains("m=19456,t=3,p=1"))
        #expect(await stronger.verify("correct horse battery staple", against: rehashed) == .valid(needsRehash: false))
    }

    @Test func emailsAreTrimmedLowerCasedAndChecked() throws {
        #expect(try EmailAddress("  Alice@Example.COM ").normalized == "alice@example.com")
        for bad in ["", "alice", "@example.com", "alice@", "alice@example", "a b@example.com", "a@@example.com"] {
            #expect(throws: IdentityError.self) { try EmailAddress(bad) }
        }
    }

    @Test func recoveryCodesAreTenDistinctAndForgiveTyping() {
        let codes = OpaqueSecret.generateRecoveryCodes()
        #expect(codes.count == 10)
        #expect(Set(codes).count == 10)
        for code in codes {
            #expect(code.count == 19)
            #expect(
                OpaqueSecret.normalizeRecoveryCode(code.uppercased().replacingOccurrences(of: "-", with: " ")) == code)
        }
    }
}
