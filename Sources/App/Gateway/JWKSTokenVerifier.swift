import Crypto
import Foundation
import PQCrypto
import Synchronization

/// How the gateway knows who is calling without a database round trip: it checks access tokens
/// against the auth role's public JWKS, which it fetches once and caches. A token signed by a key it
/// has not seen (a rotation, or a new auth replica's first key) makes it fetch the set again, at most
/// once per `refetchInterval`, so a flood of forged `kid`s cannot turn into a flood of fetches.
///
/// This is the gateway's own check, for per-user rate limits. The upstream checks every token again,
/// with the session revocation the JWKS cannot know about.
final class JWKSTokenVerifier: Sendable {
    typealias Fetch = @Sendable () async throws -> Data

    private struct Cache {
        var verifier: OfflineJWSVerifier?
        var fetchedAt: ContinuousClock.Instant?
        var inFlight: Task<OfflineJWSVerifier, any Error>?
    }

    let issuer: String
    let audience: String
    private let fetch: Fetch
    private let refetchInterval: Duration
    /// Retired keys leave the JWKS; a set older than this is fetched again so they stop verifying here.
    private let maximumAge: Duration
    private let cache = Mutex(Cache())
    /// Tokens already verified, so a client's every request does not cost an ML-DSA verification.
    private let verifiedTokens = Mutex<[SHA256Digest: Claims]>([:])
    private static let verifiedCapacity = 50_000

    init(
        issuer: String, audience: String, refetchInterval: Duration = .seconds(10),
        maximumAge: Duration = .seconds(300), fetch: @escaping Fetch
    ) {
        self.issuer = issuer
        self.audience = audience
        self.refetchInterval = refetchInterval
        self.maximumAge = maximumAge
        self.fetch = fetch
    }

    struct Rejection: Error, CustomStringConvertible {
        let description: String
    }

    /// The token's subject, once its signature, type, issuer, audience and lifetime all check out.
    func subject(of token: String, now: Date = Date()) async throws -> String {
        let key = SHA256.hash(data: Data(token.utf8))
        if let claims = verifiedTokens.withLock({ $0[key] }) { return try check(claims, now: now) }
        var verifier = try await currentVerifier(forceRefetch: false)
        let verified: OfflineJWSVerifier.Verified
        do {
            verified = try verifier.verify(token, type: "at+jwt")
        } catch .unknownKey {
            verifier = try await currentVerifier(forceRefetch: true)
            do {
                verified = try verifier.verify(token, type: "at+jwt")
            } catch {
                throw Rejection(description: error.description)
            }
        } catch {
            throw Rejection(description: error.description)
        }
        guard let claims = try? JSONDecoder().decode(Claims.self, from: verified.payload) else {
            throw Rejection(description: "the token's claims are malformed")
        }
        guard claims.iss == issuer, claims.aud.values.contains(audience) else {
            throw Rejection(description: "the token was issued by or for someone else")
        }
        let subject = try check(claims, now: now)
        verifiedTokens.withLock { verified in
            if verified.count >= Self.verifiedCapacity {
                verified = verified.filter { $0.value.exp > now.timeIntervalSince1970 }
                if verified.count >= Self.verifiedCapacity { verified.removeAll(keepingCapacity: true) }
            }
            verified[key] = claims
        }
        return subject
    }

    /// Lifetime is checked on every use, not only when the signature was.
    private func check(_ claims: Claims, now: Date) throws -> String {
        let seconds = now.timeIntervalSince1970
        guard claims.exp > seconds, (claims.nbf ?? 0) <= seconds + 5 else {
            throw Rejection(description: "the token has expired or is not yet valid")
        }
        return claims.sub
    }

    private func currentVerifier(forceRefetch: Bool) async throws -> OfflineJWSVerifier {
        enum Next {
            case ready(OfflineJWSVerifier)
            case wait(Task<OfflineJWSVerifier, any Error>)
            case unavailable
        }
        let now = ContinuousClock.now
        let next: Next = cache.withLock { cache in
            if let task = cache.inFlight { return .wait(task) }
            if let verifier = cache.verifier, let fetchedAt = cache.fetchedAt {
                let age = fetchedAt.duration(to: now)
                if age < maximumAge, !forceRefetch || age < refetchInterval { return .ready(verifier) }
            } else if let fetchedAt = cache.fetchedAt, fetchedAt.duration(to: now) < refetchInterval {
                return .unavailable
            }
            let fetch = self.fetch
            let task = Task { try OfflineJWSVerifier(jwks: try await fetch()) }
            cache.inFlight = task
            return .wait(task)
        }
        switch next {
        case .ready(let verifier): return verifier
        case .unavailable: throw Rejection(description: "the auth role's JWKS could not be fetched")
        case .wait(let task):
            let result = await task.result
            cache.withLock { cache in
                guard cache.inFlight != nil else { return }
                cache.inFlight = nil
                // A failed fetch still counts, so an unreachable auth role is asked once per interval.
                cache.fetchedAt = .now
                if case .success(let verifier) = result { cache.verifier = verifier }
            }
            return try result.get()
        }
    }

    private struct Claims: Decodable, Sendable {
        let iss: String
        let aud: Audience
        let sub: String
        let exp: Double
        let nbf: Double?
    }

    /// `aud` is a string or an array of strings (RFC 7519 §4.1.3).
    private struct Audience: Decodable, Sendable {
        let values: [String]
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let one = try? container.decode(String.self) {
                values = [one]
            } else {
                values = try container.decode([String].self)
            }
        }
    }
}
