#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Which addresses are on the public internet: not loopback, private, shared, link-local, multicast,
/// reserved or unspecified, in IPv4 or IPv6 (IPv4 inside IPv6 judged as IPv4).
public enum NetworkScope {
    public static func isPublic(v4 bytes: [UInt8]) -> Bool {
        guard bytes.count == 4 else { return false }
        let (a, b) = (bytes[0], bytes[1])
        switch a {
        case 0, 10, 127: return false
        case 100 where b & 0xC0 == 64: return false
        case 169 where b == 254: return false
        case 172 where b & 0xF0 == 16: return false
        case 192 where b == 168 || (b == 0 && (bytes[2] == 0 || bytes[2] == 2)): return false
        case 198 where b & 0xFE == 18 || (b == 51 && bytes[2] == 100): return false
        case 203 where b == 0 && bytes[2] == 113: return false
        case 224...: return false
        default: return true
        }
    }

    public static func isPublic(v6 bytes: [UInt8]) -> Bool {
        guard bytes.count == 16 else { return false }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) {
            // ::, ::1, and IPv4-compatible or IPv4-mapped (::ffff:a.b.c.d) addresses.
            if bytes[10] == 0xFF && bytes[11] == 0xFF { return isPublic(v4: Array(bytes[12...])) }
            return false
        }
        // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address inside.
        if bytes[0..<12] == [0, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0][...] {
            return isPublic(v4: Array(bytes[12...]))
        }
        if bytes[0] == 0x20, bytes[1] == 0x02 { return isPublic(v4: Array(bytes[2..<6])) }
        // Local-use NAT64 (64:ff9b:1::/48), Teredo (2001::/32), documentation (2001:db8::/32) and
        // discard-only (100::/64) prefixes lead nowhere QSPP should post to.
        if bytes[0..<6] == [0, 0x64, 0xFF, 0x9B, 0, 0x01][...] { return false }
        if bytes[0] == 0x20, bytes[1] == 0x01, bytes[2] == 0, bytes[3] == 0 { return false }
        if bytes[0] == 0x20, bytes[1] == 0x01, bytes[2] == 0x0D, bytes[3] == 0xB8 { return false }
        if bytes[0] == 0x01, bytes[1..<8].allSatisfy({ $0 == 0 }) { return false }
        if bytes[0] & 0xFE == 0xFC { return false }  // unique local
        if bytes[0] == 0xFE && bytes[1] & 0x80 == 0x80 { return false }  // link-local and the old site-local
        if bytes[0] == 0xFF { return false }  // multicast
        return true
    }

    /// Whether a literal address (`192.0.2.1`, `::1`, with or without brackets) is public; nil when
    /// `text` is not an address but a name.
    public static func isPublic(literal text: String) -> Bool? {
        let text = text.hasPrefix("[") && text.hasSuffix("]") ? String(text.dropFirst().dropLast()) : text
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return isPublic(v4: withUnsafeBytes(of: &v4) { Array($0) }) }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return isPublic(v6: withUnsafeBytes(of: &v6) { Array($0) }) }
        return nil
    }
}
