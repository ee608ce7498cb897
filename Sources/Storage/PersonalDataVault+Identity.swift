import Foundation
import Identity
import Kernel
import PQCrypto

extension PersonalDataVault {
    /// A client's address and user agent, sealed for `subject`, with any key rows to store.
    func sealClient(_ client: ClientInfo, subject: String) throws -> (ip: String?, agent: String?, keys: [KeyRow]) {
        let ip = try seal(client.ipAddress, subject: subject, field: "ip")
        let agent = try seal(client.userAgent, subject: subject, field: "user_agent")
        return (ip.sealed, agent.sealed, [ip.newKey, agent.newKey].compactMap { $0 })
    }

    func openClient(_ ip: String?, _ agent: String?, subject: String) async throws -> ClientInfo {
        ClientInfo(
            ipAddress: try await open(ip, subject: subject, field: "ip"),
            userAgent: try await open(agent, subject: subject, field: "user_agent"))
    }
}

extension PersonalDataVault {
    /// Opens the email index key, so a wrong master key stops start-up before anything is written,
    /// and seals the emails of accounts made before encryption at rest existed.
    func prepare(_ sql: any SQLDatabase) async throws {
        let vault = self
        _ = try await vault.emailIndex("")
        let legacy = try await sql.select("SELECT id, email FROM accounts WHERE email_index IS NULL", [])
        for row in legacy {
            let id = try row.uuid(0)
            let email = try row.text(1)
            let (sealed, key) = try vault.seal(email, subject: id.lowercasedString, field: "email")
            let index = try await vault.emailIndex(email)
            try await sql.transaction { tx in
                try await PersonalDataVault.insert(key.map { [$0] } ?? [], tx)
                try await tx.execute(
                    "UPDATE accounts SET email = $1, email_index = $2 WHERE id = $3 AND email_index IS NULL",
                    [.optional(sealed), .text(index), .uuid(id)])
            }
            vault.confirm(key.map { [$0] } ?? [])
        }
    }
}
