import Consent
import Crypto
import Foundation
import Identity
import PQCrypto
import Privacy
import QSPPTestSupport
import Synchronization

@testable import Services

/// The use cases over the in-memory repositories, wired as `QSPPServices.open` wires them over a store:
/// one identity repository whose personal fields are sealed under the erasure repository's data keys,
/// and whose signing keys and TOTP secrets the sealed-key repository sees, as in SQL.
struct InMemoryServices {
    /// Argon2id at its cheapest: these tests are about what happens to accounts, not about hashing.
    static let argon2 = Argon2Parameters(memoryKiB: 64, iterations: 1, parallelism: 1)

    let masterKey: MasterKey
    let erasureRepository = InMemoryErasureRepository()
    let privacyRepository = InMemoryPrivacyRepository()
    let taskRepository: InMemoryRequestTaskRepository
    let consentRepository = InMemoryConsentRepository()
    let identityRepository: InMemoryIdentityRepository
    let sealedKeyRepository: InMemorySealedKeyRepository
    let keyRing: SigningKeyRing
    let identity: IdentityService
    let privacy: PrivacyService
    let consents: ConsentService
    let restrictions: RestrictionRegistry
    let rights: RightsFulfilment
    let fanOut: RequestFanOut
    /// The HMAC keys of the webhook endpoints downstream systems are reached through.
    let endpointKeys = EndpointKeys()

    final class EndpointKeys: Sendable {
        let keys = Mutex<[UUID: SymmetricKey]>([:])
    }

    init(masterKey: MasterKey? = nil) throws {
        let key = try masterKey ?? MasterKey(base64Seed: testMasterKey)
        self.masterKey = key
        identityRepository = InMemoryIdentityRepository(erasures: erasureRepository)
        sealedKeyRepository = InMemorySealedKeyRepository(identity: identityRepository)
        keyRing = SigningKeyRing(
            algorithm: .ed25519, repository: identityRepository, masterKey: key, retention: 20 * 60)
        let hasher = try PasswordHasher(parameters: Self.argon2)
        identity = IdentityService(
            repository: identityRepository, hasher: hasher,
            tokens: TokenAuthority(
                issuer: "https://qspp.test", audience: "qspp-api", accessTokenLifetime: 15 * 60, keyRing: keyRing),
            masterKey: key)
        let identity = identity
        privacy = PrivacyService(
            repository: privacyRepository,
            notices: RequestNotices(requestsPage: "https://qspp.test/my/data") { subject in
                try await identity.account(id: subject).map { ($0.email.normalized, $0.locale) }
            })
        consents = ConsentService(repository: consentRepository, purposeCacheAge: .zero)
        restrictions = RestrictionRegistry(repository: privacyRepository)
        taskRepository = InMemoryRequestTaskRepository(requests: privacyRepository)
        let endpointKeys = endpointKeys
        fanOut = RequestFanOut(
            tasks: taskRepository, endpointKey: { id in endpointKeys.keys.withLock { $0[id] } }, privacy: privacy,
            identity: identity)
        rights = RightsFulfilment(
            privacy: privacy, identity: identity, consents: consents, restrictions: restrictions,
            erasures: erasureRepository, fanOut: fanOut)
    }

    /// An identity service alone, over `repository`, on a clock the test moves: for the rules about time.
    static func identity(
        over repository: InMemoryIdentityRepository, clock: TestClock
    ) async throws
        -> IdentityService
    {
        let masterKey = try MasterKey(base64Seed: testMasterKey)
        let ring = SigningKeyRing(algorithm: .ed25519, repository: repository, masterKey: masterKey, retention: 60)
        try await ring.load()
        return IdentityService(
            repository: repository, hasher: try PasswordHasher(parameters: argon2),
            tokens: TokenAuthority(
                issuer: "https://qspp.test", audience: "qspp-api", accessTokenLifetime: 900, keyRing: ring),
            masterKey: masterKey, now: { clock.now })
    }

    /// The rotation `qspp keys rotate-kek` runs, re-sealing under `masterKey`.
    func keyRotation(to masterKey: MasterKey) -> KeyRotation {
        KeyRotation(repository: sealedKeyRepository, audit: identityRepository, masterKey: masterKey)
    }

    /// Registers an account with `testPassword`.
    func register(_ email: String) async throws -> Account {
        guard let account = try await identity.register(email: email, password: testPassword, client: ClientInfo())
        else { throw EmailTaken() }
        return account
    }

    /// Registration found the email taken.
    struct EmailTaken: Error {}

    /// Logs in with `testPassword` (loading the signing keys first), from `client`.
    func logIn(_ email: String, from client: ClientInfo) async throws -> TokenGrant {
        try await identity.loadSigningKeys()
        guard
            case .authenticated(let grant) = try await identity.login(
                email: email, password: testPassword, rememberMe: false, client: client)
        else { throw MFARequired() }
        return grant
    }

    /// The login asked for a second factor, which these accounts do not have.
    struct MFARequired: Error {}
}
