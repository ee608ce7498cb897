import Foundation
import Identity
import Kernel
import PQCrypto
import Privacy

/// Throttles, rate-limit windows, expiry and signing keys: the identity rows that are not an account's.
extension SQLIdentityRepository {
    // MARK: Throttling

    func updateLoginThrottle(
        key: String, _ decide: @escaping @Sendable (LoginThrottleState?) -> (LoginThrottleState, LoginThrottleDecision)
    ) async throws -> LoginThrottleDecision {
        try await database.transaction { tx in
            // An upsert that always returns the row, locked: two first attempts cannot both see "no row".
            let current = try await tx.query(
                """
                INSERT INTO login_throttle (key, attempts, window_start, locked_until, lockouts)
                VALUES ($1, 0, 0, NULL, 0) ON CONFLICT (key) DO UPDATE SET key = excluded.key
                RETURNING attempts, window_start, locked_until, lockouts
                """, [.text(key)]
            ).first.map { row in
                LoginThrottleState(
                    attempts: Int(try row.integer(0)), windowStart: try row.time(1), lockedUntil: row.optionalTime(2),
                    lockouts: Int(try row.integer(3)))
            }
            let (next, decision) = decide(current)
            try await tx.execute(
                """
                UPDATE login_throttle SET attempts = $2, window_start = $3, locked_until = $4, lockouts = $5
                WHERE key = $1
                """,
                [
                    .text(key), .integer(Int64(next.attempts)), .time(next.windowStart),
                    .optionalTime(next.lockedUntil), .integer(Int64(next.lockouts)),
                ])
            return decision
        }
    }

    func clearLoginThrottle(key: String) async throws {
        _ = try await database.write("DELETE FROM login_throttle WHERE key = $1", [.text(key)])
    }

    func countRateLimitHits(key: String, windowStart: Int64, hits: Int) async throws -> Int {
        Int(
            try await database.write(
                """
                INSERT INTO rate_limits (key, window_start, hits) VALUES ($1, $2, $3)
                ON CONFLICT (key) DO UPDATE SET
                    hits = CASE WHEN rate_limits.window_start = excluded.window_start
                        THEN rate_limits.hits + excluded.hits ELSE excluded.hits END,
                    window_start = excluded.window_start
                RETURNING hits
                """, [.text(key), .integer(windowStart), .integer(Int64(hits))]
            ).first?.integer(0) ?? 0)
    }

    func purgeExpired(now: Date, throttleWindow: TimeInterval) async throws -> Int {
        let seconds = Int64(now.timeIntervalSince1970)
        let tokens = try await database.write(
            "DELETE FROM refresh_tokens WHERE expires_at < $1 RETURNING digest", [.time(now)])
        let throttles = try await database.write(
            """
            DELETE FROM login_throttle
            WHERE window_start < $1 AND (locked_until IS NULL OR locked_until < $2) RETURNING key
            """, [.time(now.addingTimeInterval(-throttleWindow)), .time(now)])
        // Windows are at most an hour long; anything older has no effect on a limit.
        let limits = try await database.write(
            "DELETE FROM rate_limits WHERE window_start < $1 RETURNING key", [.integer(seconds - 3600)])
        let challenges = try await database.write(
            "DELETE FROM spent_challenges WHERE expires_at < $1 RETURNING id", [.time(now)])
        let mailed = try await database.write(
            "DELETE FROM account_tokens WHERE expires_at < $1 RETURNING digest", [.time(now)])
        let passkeyChallenges = try await database.write(
            "DELETE FROM passkey_challenges WHERE expires_at < $1 RETURNING digest", [.time(now)])
        // A spent code is kept a while past its expiry, so that a late replay still revokes what it issued.
        let codes = try await database.write(
            "DELETE FROM oauth_codes WHERE expires_at < $1 RETURNING digest", [.time(now.addingTimeInterval(-3600))])
        let pushed = try await database.write(
            "DELETE FROM oauth_pushed_requests WHERE expires_at < $1 RETURNING digest", [.time(now)])
        return tokens.count + throttles.count + limits.count + challenges.count + mailed.count
            + passkeyChallenges.count + codes.count + pushed.count
    }

    func spendChallenge(id: String, expiresAt: Date) async throws -> Bool {
        try await !database.write(
            "INSERT INTO spent_challenges (id, expires_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING RETURNING id",
            [.text(id), .time(expiresAt)]
        ).isEmpty
    }

    // MARK: Signing keys

    func signingKeys() async throws -> [StoredSigningKey] {
        try await database.select(
            "SELECT kid, algorithm, public_key, sealed_private_key, created_at, retired_at FROM signing_keys", []
        ).map { row in
            guard let publicKey = row[2].blob, let sealed = row[3].blob else {
                throw StorageError.corrupted("signing key")
            }
            return StoredSigningKey(
                keyID: try row.text(0), algorithm: try row.text(1), publicKey: publicKey, sealedPrivateKey: sealed,
                createdAt: try row.time(4), retiredAt: row.optionalTime(5))
        }
    }

    func insertSigningKey(_ key: StoredSigningKey, retiringOthersAt date: Date) async throws {
        try await database.transaction { tx in
            try await tx.execute(
                "UPDATE signing_keys SET retired_at = $1 WHERE algorithm = $2 AND retired_at IS NULL",
                [.time(date), .text(key.algorithm)])
            try await tx.execute(
                """
                INSERT INTO signing_keys (kid, algorithm, public_key, sealed_private_key, created_at)
                VALUES ($1, $2, $3, $4, $5)
                """,
                [
                    .text(key.keyID), .text(key.algorithm), .blob(key.publicKey), .blob(key.sealedPrivateKey),
                    .time(key.createdAt),
                ])
        }
    }
}
