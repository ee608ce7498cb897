import App
import ArgumentParser
import Foundation
import Identity
import PQCrypto
import Services

struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage token-signing keys and the master key.",
        subcommands: [Rotate.self, List.self, NewMasterKey.self, RotateKEK.self])

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Add a signing key and sign with it from now on. Older keys keep verifying until their tokens expire.")
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            let configuration = try await options.load()
            let logger = makeLogger(configuration)
            let services = try await QSPPServices.open(configuration, logger: logger)
            let keyID = try await services.withRunningStore {
                try await services.prepare(logger: logger)
                let keyID = try await services.identity.tokens.keyRing.addKey()
                try await services.identity.recordKeyRotation(keyID: keyID)
                return keyID
            }
            print(
                "new signing key \(keyID) (\(configuration.tokens.algorithm.rawValue)); running servers pick it up within a minute"
            )
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show every signing key and its state.")
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            let keys = try await options.withServices { try await $0.store.identity.signingKeys() }
            print("KID                                          ALGORITHM  CREATED                  STATE")
            for key in keys.sorted(by: { $0.createdAt > $1.createdAt }) {
                let state = key.retiredAt.map { "retired \(ISO8601DateFormatter().string(from: $0))" } ?? "signing"
                let created = ISO8601DateFormatter().string(from: key.createdAt)
                print(
                    "\(key.keyID.padding(toLength: 44, withPad: " ", startingAt: 0)) \(key.algorithm.padding(toLength: 10, withPad: " ", startingAt: 0)) \(created.padding(toLength: 24, withPad: " ", startingAt: 0)) \(state)"
                )
            }
        }
    }

    struct RotateKEK: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-kek",
            abstract: "Re-seal every data key and secret under the current master key.",
            discussion: """
                Set QSPP_MASTER_KEY (or QSPP_MASTER_KEY_FILE) to the new key and QSPP_PREVIOUS_MASTER_KEYS to the \
                old one on every server, restart them one by one, then run this. Personal data rows are not \
                rewritten. Once it has finished, remove the old key from QSPP_PREVIOUS_MASTER_KEYS.
                """)
        @OptionGroup var options: ConfigurationOptions

        func run() async throws {
            let report = try await options.withServices { try await $0.keyRotation.rewrapUnderCurrentMasterKey() }
            print(
                "re-sealed \(report.wrappingKeys) wrapping keys (data keys unchanged), \(report.secrets) secrets, \(report.signingKeys) signing keys \(report.totpSecrets) TOTP secrets and \(report.webhookSecrets) webhook secrets under the current master key"
            )
            print("every server may now drop QSPP_PREVIOUS_MASTER_KEYS")
        }
    }

    struct NewMasterKey: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "new-master-key",
            abstract: "Print a new random master key (for QSPP_MASTER_KEY or a QSPP_MASTER_KEY_FILE).")

        func run() {
            print(MasterKey.generateSeedText())
        }
    }
}

struct Users: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage accounts from the command line.", subcommands: [CreateAdmin.self, SetRoles.self])

    struct CreateAdmin: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create-admin",
            abstract: "Create an administrator. Reads the password from QSPP_ADMIN_PASSWORD or standard input.")
        @OptionGroup var options: ConfigurationOptions
        @Option(help: "The administrator's email address.") var email: String

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            guard let password = environment["QSPP_ADMIN_PASSWORD"] ?? readLine(strippingNewline: true),
                !password.isEmpty
            else { throw ValidationError("give the password in QSPP_ADMIN_PASSWORD or on standard input") }
            do {
                let account = try await options.withServices {
                    try await $0.identity.createAdministrator(email: email, password: password)
                }
                print("administrator \(account.email) created with id \(account.subjectID)")
            } catch let error as IdentityError {
                throw ValidationError(error.description)
            }
        }
    }
}

extension Users {
    struct SetRoles: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-roles",
            abstract: "Set an account's roles (user, admin, dpo). Takes effect with the account's next access token.")
        @OptionGroup var options: ConfigurationOptions
        @Option(help: "The account's email address.") var email: String
        @Option(help: "Comma-separated roles, for example user,dpo.") var roles: String

        func run() async throws {
            var parsed: Set<Role> = [.user]
            for name in roles.split(separator: ",") {
                guard let role = Role(rawValue: name.trimmingCharacters(in: .whitespaces)) else {
                    throw ValidationError("unknown role '\(name)'; roles are user, admin and dpo")
                }
                parsed.insert(role)
            }
            let granted = parsed
            let email = try EmailAddress(email)
            let found = try await options.withServices { services -> Bool in
                guard let account = try await services.store.identity.account(email: email) else { return false }
                try await services.identity.setRoles(of: account, to: granted)
                return true
            }
            guard found else { throw ValidationError("no account has that email") }
            print("\(email) now has roles \(granted.map(\.rawValue).sorted().joined(separator: ", "))")
        }
    }
}

extension ConfigurationOptions {
    /// Opens the services from the configuration, migrates and loads the keys, runs `body` with the
    /// store running, and closes everything: the frame of every one-shot command.
    func withServices<T: Sendable>(_ body: @escaping @Sendable (QSPPServices) async throws -> T) async throws -> T {
        var configuration = try await load()
        // A one-shot command prints its result; routine log lines would only bury it.
        if logLevel == nil, ProcessInfo.processInfo.environment["QSPP_LOG_LEVEL"] == nil {
            configuration.observability.logLevel = .warning
        }
        let logger = makeLogger(configuration)
        let services = try await QSPPServices.open(configuration, logger: logger)
        return try await services.withRunningStore {
            try await services.prepare(logger: logger)
            return try await body(services)
        }
    }
}
