public import Foundation

/// The authenticator's signed statement of a ceremony (WebAuthn Level 3, §6.1): the RP ID it was for,
/// its flags, its signature counter, and, at registration, the new credential and its public key.
/// Read strictly: every part must be there and fill the bytes exactly.
public struct AuthenticatorData: Sendable {
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        public static let userPresent = Flags(rawValue: 0x01)
        public static let userVerified = Flags(rawValue: 0x04)
        /// The credential may be backed up (synced): a multi-device passkey.
        public static let backupEligible = Flags(rawValue: 0x08)
        public static let backedUp = Flags(rawValue: 0x10)
        public static let attestedCredentialData = Flags(rawValue: 0x40)
        public static let extensionData = Flags(rawValue: 0x80)
    }

    /// A new credential, as registration reports it.
    public struct AttestedCredential: Sendable {
        public let aaguid: Data
        public let id: Data
        /// The key's COSE encoding, as stored for later sign-ins.
        public let publicKeyBytes: Data
        public let publicKey: COSEKey
    }

    public let rpIDHash: Data
    public let flags: Flags
    public let signCount: UInt32
    public let credential: AttestedCredential?
    public let extensions: CBORValue?
    /// The bytes as signed.
    public let bytes: Data

    /// The longest credential id WebAuthn allows.
    public static let maximumCredentialIDLength = 1023

    public init(_ bytes: Data) throws(WebAuthnError) {
        let raw = [UInt8](bytes)
        guard raw.count >= 37 else { throw WebAuthnError(.malformedAuthenticatorData, "shorter than 37 bytes") }
        self.bytes = bytes
        rpIDHash = Data(raw[0..<32])
        flags = Flags(rawValue: raw[32])
        signCount = raw[33..<37].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        guard !flags.contains(.backedUp) || flags.contains(.backupEligible) else {
            throw WebAuthnError(.malformedAuthenticatorData, "backed up but not backup-eligible")
        }
        var offset = 37
        let decoder = CBORDecoder()
        if flags.contains(.attestedCredentialData) {
            guard raw.count >= offset + 18 else { throw WebAuthnError(.malformedAuthenticatorData, "truncated") }
            let aaguid = Data(raw[offset..<offset + 16])
            let idLength = Int(raw[offset + 16]) << 8 | Int(raw[offset + 17])
            offset += 18
            guard idLength > 0, idLength <= Self.maximumCredentialIDLength, raw.count >= offset + idLength else {
                throw WebAuthnError(.malformedAuthenticatorData, "a credential id of a bad length")
            }
            let id = Data(raw[offset..<offset + idLength])
            offset += idLength
            let (key, used) = try decoder.decodePrefix(Data(raw[offset...]))
            let keyBytes = Data(raw[offset..<offset + used])
            offset += used
            credential = AttestedCredential(
                aaguid: aaguid, id: id, publicKeyBytes: keyBytes, publicKey: try COSEKey(key))
        } else {
            credential = nil
        }
        if flags.contains(.extensionData) {
            let (value, used) = try decoder.decodePrefix(Data(raw[offset...]))
            guard case .map = value else { throw WebAuthnError(.malformedAuthenticatorData, "extensions not a map") }
            extensions = value
            offset += used
        } else {
            extensions = nil
        }
        guard offset == raw.count else { throw WebAuthnError(.malformedAuthenticatorData, "bytes left over") }
    }
}
