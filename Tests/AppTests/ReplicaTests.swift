import App
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Identity
import QSPPTestSupport
import Services
import Testing

/// Three complete applications on one database, as three replicas behind a load balancer are: each
/// has its own caches, key ring and rate-limit leases, and they share only what the database holds.
/// Every test spreads its requests over the replicas and shows that a guarantee holds for all.
/// Replicas need PostgreSQL: the embedded SQLite store is for one process. One test at a time: each
/// runs three applications, and several at once add enough load on two cores to push other tests'
/// database calls past their 5 s deadline.
@Suite(
    "Replicas sharing one database", .serialized,
    .enabled(if: Backend.postgresURL != nil, "replicas need PostgreSQL: QSPP_TEST_POSTGRES_URL is not set"))
struct ReplicaTests {
    @Test(arguments: Backend.replicated)
    func aRateLimitHoldsAcrossReplicas(backend: Backend) async throws {
        try await withReplicas(backend, configure: { $0.gateway.rateLimits.consentPerUser = 6 }) { replicas in
            let user = try await replicas[0].newUser()
            try await awayFromRateWindowEdge()
            var statuses: [HTTPResponse.Status] = []
            for request in 0..<18 {
                statuses.append(
                    try await replicas[request % 3].send(
                        .post, "/v1/subjects/\(user.id)/consents",
                        json: #"{"purpose":"marketing","decision":"granted"}"#, token: user.accessToken
                    ).status)
            }
            #expect(statuses.filter { $0 == .created }.count == 6, "\(statuses)")
            #expect(statuses.filter { $0 == .tooManyRequests }.count == 12, "\(statuses)")
            #expect(try await replicas[0].history(user.id).count == 6)
        }
    }

    @Test(arguments: Backend.replicated)
    func aLockoutEarnedOnSomeReplicasLocksAll(backend: Backend) async throws {
        try await withReplicas(backend) { replicas in
            let user = try await replicas[0].newUser()
            for attempt in 0..<5 {
                try await replicas[attempt % 3].login(user.email, password: "wrong password here")
                    .expectProblem(.unauthorized)
            }
            for replica in replicas { try await replica.login(user.email).expectProblem(.tooManyRequests) }
        }
    }

    @Test(arguments: Backend.replicated)
    func aRefreshTokenReplayedOnAnotherReplicaEndsTheFamilyEverywhere(backend: Backend) async throws {
        try await withReplicas(backend) { replicas in
            let user = try await replicas[0].newUser()
            let first = try await replicas[1].refresh(user.refreshToken)
            #expect(first.status == .ok)
            // The grace window for racing tabs is shared too: one more use passes, the next does not.
            let racing = try await replicas[2].refresh(user.refreshToken)
            #expect(racing.status == .ok)
            #expect(try racing.object()["refreshToken"] as? String == first.object()["refreshToken"] as? String)
            _ = try await replicas[0].refresh(user.refreshToken)
            try await replicas[1].refresh(user.refreshToken).expectProblem(.unauthorized)
            let successor = try #require(try first.object()["refreshToken"] as? String)
            for replica in replicas { try await replica.refresh(successor).expectProblem(.unauthorized) }
            let events = try await replicas[2].services.identity.authEvents(userID: UUID(uuidString: user.id))
            #expect(events.contains { $0.kind == .refreshReuseDetected })
        }
    }

    /// A replica that has checked a session recently trusts that check for `sessionCheckInterval`
    /// (5 s); one that has not asks the database. Both must refuse a revoked session within the bound.
    @Test(arguments: Backend.replicated)
    func aRevokedSessionIsRefusedOnEveryReplicaWithinTheCheckInterval(backend: Backend) async throws {
        try await withReplicas(backend) { replicas in
            let user = try await replicas[0].newUser()
            for replica in replicas.prefix(2) {
                #expect(try await replica.send(.get, "/v1/me", token: user.accessToken).status == .ok)
            }
            let sessions = try await replicas[0].send(.get, "/v1/me/sessions", token: user.accessToken).object()
            let current = (sessions["sessions"] as? [[String: Any]])?.first { $0["current"] as? Bool == true }
            let sessionID = try #require(current?["id"] as? String)
            #expect(
                try await replicas[0].send(.delete, "/v1/me/sessions/\(sessionID)", token: user.accessToken).status
                    == .noContent)
            try await replicas[0].send(.get, "/v1/me", token: user.accessToken).expectProblem(.unauthorized)
            try await replicas[2].send(.get, "/v1/me", token: user.accessToken).expectProblem(.unauthorized)
            let revokedAt = ContinuousClock.now
            // Timed from when each request is sent, so a slow answer on a loaded machine is not counted.
            while true {
                let sent = ContinuousClock.now
                guard try await replicas[1].send(.get, "/v1/me", token: user.accessToken).status == .ok else { break }
                #expect(sent - revokedAt < .seconds(6))
                try await Task.sleep(for: .milliseconds(250))
            }
            for replica in replicas { try await replica.refresh(user.refreshToken).expectProblem(.unauthorized) }
        }
    }

    @Test(arguments: Backend.replicated)
    func concurrentWritesOnAllReplicasKeepOneUnbrokenLedger(backend: Backend) async throws {
        try await withReplicas(backend) { replicas in
            let users = try await withThrowingTaskGroup(of: TestUser.self) { group in
                for replica in replicas { group.addTask { try await replica.newUser() } }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, user) in users.enumerated() {
                    for write in 0..<20 {
                        let replica = replicas[(index + write) % 3]
                        group.addTask {
                            let decision = write.isMultiple(of: 2) ? "granted" : "withdrawn"
                            let response = try await replica.send(
                                .post, "/v1/subjects/\(user.id)/consents",
                                json: #"{"purpose":"analytics","decision":"\#(decision)"}"#, token: user.accessToken)
                            #expect(response.status == .created)
                        }
                    }
                }
                try await group.waitForAll()
            }
            let sequences = try await withThrowingTaskGroup(of: [Int].self) { group in
                for user in users {
                    group.addTask {
                        try await replicas[0].history(user.id).compactMap { $0["ledgerSequence"] as? Int }
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(sequences.count == 60)
            #expect(Set(sequences).count == 60, "no two writes share a ledger position")
            for replica in replicas {
                let report = try await replica.send(.get, "/v1/admin/ledger/verify").object()
                #expect(report["intact"] as? Bool == true, "\(report)")
                #expect((report["entries"] as? Int ?? 0) >= 60)
            }
        }
    }

    @Test(arguments: Backend.replicated)
    func aTokenIssuedByOneReplicaVerifiesOnAll(backend: Backend) async throws {
        try await withReplicas(backend) { replicas in
            for issuer in replicas {
                let user = try await issuer.newUser()
                for replica in replicas {
                    #expect(try await replica.send(.get, "/v1/me", token: user.accessToken).status == .ok)
                }
            }
            let keys = try await replicas[2].send(.get, "/.well-known/jwks.json", token: nil).object()
            #expect((keys["keys"] as? [Any])?.count == 1, "the replicas share one signing key")
        }
    }
}

extension Backend {
    static var replicated: [Backend] { all.filter { $0 == .postgres } }
}

/// Opens `count` applications on one new database, one after another as a rolling start does, and
/// drives each one's router in-process. The administrator's token comes from the first.
func withReplicas(
    _ backend: Backend, count: Int = 3, configure: (inout AppConfiguration) -> Void = { _ in },
    _ body: @Sendable ([API]) async throws -> Void
) async throws {
    var configuration = try testConfiguration(backend)
    configuration.store.databaseURL = try await isolatedDatabaseURL(backend)
    configure(&configuration)
    var opened: [QSPPServices] = []
    for _ in 0..<count {
        opened.append(try await QSPPServices.open(configuration, logger: testLogger))
    }
    let replicas = opened
    try await drive(replicas[...], configuration: configuration, apis: []) { apis in
        let email = "admin-\(UUID().uuidString.lowercased())@qspp.test"
        _ = try await replicas[0].identity.createAdministrator(email: email, password: testPassword)
        guard
            case .authenticated(let grant) = try await replicas[0].identity.login(
                email: email, password: testPassword, rememberMe: false, client: ClientInfo())
        else { throw CancellationError() }
        try await body(apis.map { API(client: $0.client, services: $0.services, adminToken: grant.accessToken) })
    }
}

private func drive(
    _ remaining: ArraySlice<QSPPServices>, configuration: AppConfiguration, apis: [API],
    _ body: @Sendable ([API]) async throws -> Void
) async throws {
    guard let services = remaining.first else { return try await body(apis) }
    let app = try await buildApplication(configuration: configuration, services: services, logger: testLogger)
    try await app.test(.router) { client in
        let api = API(client: client, services: services, adminToken: "")
        try await drive(remaining.dropFirst(), configuration: configuration, apis: apis + [api], body)
    }
}
