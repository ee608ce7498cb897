import Crypto
import Foundation
import PQCrypto

/// A browser's proof of its session. An ML-DSA-65 access token (about 4.7 KB) does not fit in a cookie
/// (browsers keep 4 KB), so pages carry this short ticket instead: who, which session, which roles and
/// methods, and until when, MACed with HMAC-SHA-256 under a key derived from the master key, so every
/// replica accepts it. Like an access token it lives minutes, and the session behind it must still be
/// active; the browser's refresh token, rotated by ``refresh(refreshToken:client:)``, gets a new one.
public struct WebTicket: Sendable {
    public let value: String
    public let expiresAt: Date
}

extension IdentityService {
    private struct TicketClaims: Codable {
        var u: UUID
        var s: UUID
        var r: [String]
        var m: [String]
        var e: Int64
    }

    public func webTicket(for user: AuthenticatedUser) throws -> WebTicket {
        let expiresAt = now().addingTimeInterval(tokens.accessTokenLifetime)
        let claims = TicketClaims(
            u: user.userID, s: user.sessionID, r: user.roles.map(\.rawValue).sorted(), m: user.authenticationMethods,
            e: Int64(expiresAt.timeIntervalSince1970.rounded(.down)))
        let payload = Base64URL.encode(try JSONEncoder().encode(claims))
        let mac = HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: webTicketKey)
        return WebTicket(value: payload + "." + Base64URL.encode(Data(mac)), expiresAt: expiresAt)
    }

    /// The user behind a ticket, if its MAC holds, it has not expired and its session is still active.
    public func authenticate(webTicket: String) async throws -> AuthenticatedUser {
        let parts = webTicket.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].utf8.count <= 1024, let mac = Base64URL.decode(String(parts[1])),
            HMAC<SHA256>.isValidAuthenticationCode(mac, authenticating: Data(parts[0].utf8), using: webTicketKey),
            let json = Base64URL.decode(String(parts[0])),
            let claims = try? JSONDecoder().decode(TicketClaims.self, from: json)
        else { throw IdentityError.invalidToken("the session ticket is not valid") }
        let now = now()
        guard Double(claims.e) > now.timeIntervalSince1970 else {
            throw IdentityError.invalidToken("the session ticket has expired")
        }
        guard try await isSessionActive(claims.s, userID: claims.u, now: now) else {
            throw IdentityError.invalidToken("the session has ended")
        }
        return AuthenticatedUser(
            userID: claims.u, sessionID: claims.s, roles: Set(claims.r.compactMap(Role.init(rawValue:))),
            authenticationMethods: claims.m)
    }
}
