extension Migration {
    /// What a mailed link carries besides its purpose: the address an email change moves an account to,
    /// or back to, sealed under the account's data key.
    static let v20AccountTokenPayload = Version(number: 20, name: "account_token_payload") { _ in
        ["ALTER TABLE account_tokens ADD COLUMN payload TEXT"]
    }
}
