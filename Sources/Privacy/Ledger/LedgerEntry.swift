import Crypto
import Foundation

/// Something that happened, before the ledger gives it a place in the chain.
///
/// The content is pseudonymous by construction: identifiers, kinds and times, never an email, an
/// IP address or a user agent. Erasure shreds personal data, and the ledger must outlive it.
public struct LedgerRecord: Sendable, Equatable {
    /// What the entry is about, as `type:id` (say `consent:<event id>`), for looking it up.
    public var reference: String
    public var content: Data

    public init(type: String, id: String, fields: [String: String]) {
        self.reference = type + ":" + id
        var all = fields
        all["type"] = type
        all["id"] = id
        self.content = LedgerChain.canonical(all)
    }

    public init(reference: String, content: Data) {
        self.reference = reference
        self.content = content
    }
}

/// One link of the chain, as stored. Hashes are taken as read, so a damaged row is reported by
/// verification instead of being rejected while it is read.
public struct LedgerEntry: Sendable, Equatable {
    public var sequence: Int64
    public var reference: String
    public var content: Data
    public var contentHash: Data
    public var previousHash: Data
    public var entryHash: Data

    public init(
        sequence: Int64, reference: String, content: Data, contentHash: Data, previousHash: Data, entryHash: Data
    ) {
        self.sequence = sequence
        self.reference = reference
        self.content = content
        self.contentHash = contentHash
        self.previousHash = previousHash
        self.entryHash = entryHash
    }
}

/// The last entry: how many there are and the hash that commits to all of them.
public struct LedgerHead: Sendable, Equatable {
    public var size: Int64
    public var hash: Data

    public init(size: Int64, hash: Data) {
        self.size = size
        self.hash = hash
    }

    public static let empty = LedgerHead(size: 0, hash: LedgerChain.genesisHash)
}

/// The hashing rules, documented in docs/architecture.md so that anyone can re-check a chain.
///
/// - content hash = SHA-256(content)
/// - entry hash = SHA-256("qspp-ledger-v1" ‖ sequence as 8 bytes big-endian ‖ previous entry hash ‖ content hash)
/// - the first entry's previous hash is 32 zero bytes.
public enum LedgerChain {
    public static let genesisHash = Data(repeating: 0, count: 32)
    static let domain = Data("qspp-ledger-v1".utf8)

    static func canonical(_ fields: [String: String]) -> Data { CanonicalJSON.object(fields) }

    public static func contentHash(_ content: Data) -> Data { Data(SHA256.hash(data: content)) }

    public static func entryHash(sequence: Int64, previous: Data, contentHash: Data) -> Data {
        Data(entryDigest(sequence: sequence, previous: previous, contentHash: contentHash))
    }

    /// The entry hash as a digest, which compares without being copied into a `Data`.
    static func entryDigest(sequence: Int64, previous: Data, contentHash: Data) -> SHA256.Digest {
        var hasher = SHA256()
        hasher.update(data: domain)
        withUnsafeBytes(of: UInt64(bitPattern: sequence).bigEndian) { hasher.update(bufferPointer: $0) }
        hasher.update(data: previous)
        hasher.update(data: contentHash)
        return hasher.finalize()
    }

    /// Links `records` after `head`, in order.
    public static func extend(
        _ head: LedgerHead, with records: [LedgerRecord]
    ) -> (entries: [LedgerEntry], head: LedgerHead) {
        var head = head
        var entries: [LedgerEntry] = []
        entries.reserveCapacity(records.count)
        for record in records {
            let sequence = head.size + 1
            let contentHash = contentHash(record.content)
            let hash = entryHash(sequence: sequence, previous: head.hash, contentHash: contentHash)
            entries.append(
                LedgerEntry(
                    sequence: sequence, reference: record.reference, content: record.content, contentHash: contentHash,
                    previousHash: head.hash, entryHash: hash))
            head = LedgerHead(size: sequence, hash: hash)
        }
        return (entries, head)
    }
}

/// JSON objects of string values in one canonical form: what the ledger hashes, and the export's
/// JSON lines.
public enum CanonicalJSON {
    /// JSON with keys sorted by their UTF-8 bytes, string values only, no whitespace, and only `"`, `\\`
    /// and control characters escaped: one byte sequence per record. Written by hand because
    /// `JSONSerialization` took a quarter of the consent write path's CPU.
    public static func object(_ fields: [String: String]) -> Data {
        object(sorted: fields.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) })
    }

    /// Writes an object field by field, keys given in order: what a caller with a fixed set of keys (a
    /// consent row rebuilt for every entry verification reads) writes without sorting or a dictionary.
    public struct Writer {
        public private(set) var bytes: [UInt8]

        public init(capacity: Int = 320) {
            bytes = [UInt8(ascii: "{")]
            bytes.reserveCapacity(capacity)
        }

        public mutating func field(_ key: String, _ value: String) {
            if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
            appendString(key, to: &bytes)
            bytes.append(UInt8(ascii: ":"))
            appendString(value, to: &bytes)
        }

        /// An integer, written as its decimal string.
        public mutating func field(_ key: String, _ value: Int64) {
            if bytes.count > 1 { bytes.append(UInt8(ascii: ",")) }
            appendString(key, to: &bytes)
            bytes.append(contentsOf: [UInt8(ascii: ":"), UInt8(ascii: "\"")])
            if value < 0 { bytes.append(UInt8(ascii: "-")) }
            let start = bytes.count
            var rest = value.magnitude
            repeat {
                bytes.append(UInt8(ascii: "0") + UInt8(rest % 10))
                rest /= 10
            } while rest > 0
            bytes[start...].reverse()
            bytes.append(UInt8(ascii: "\""))
        }

        /// The finished object.
        public var object: Data { Data(bytes + [UInt8(ascii: "}")]) }

        /// Whether the finished object is `data`, without making it.
        public func isObject(_ data: Data) -> Bool {
            data.count == bytes.count + 1 && data.last == UInt8(ascii: "}")
                && data.withUnsafeBytes { stored in
                    bytes.withUnsafeBytes { written in
                        memcmp(stored.baseAddress!, written.baseAddress!, written.count) == 0
                    }
                }
        }
    }

    /// The same, from pairs already in key order.
    public static func object(sorted fields: [(key: String, value: String)]) -> Data {
        var writer = Writer()
        for (key, value) in fields { writer.field(key, value) }
        return writer.object
    }

    fileprivate static func appendString(_ text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            if !utf8.contains(where: needsEscape) {
                bytes.append(contentsOf: utf8)
            } else {
                for byte in utf8 {
                    switch byte {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"): bytes += [UInt8(ascii: "\\"), byte]
                    case 0..<0x20: bytes += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
                    default: bytes.append(byte)
                    }
                }
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
    }
}

extension LedgerEntry {
    /// What the Merkle tree hashes for this entry: its reference, a newline, then its content, so
    /// re-pointing a reference changes the tree as surely as editing the content does.
    public var leaf: Data { LedgerChain.leaf(reference: reference, content: content) }

    /// `MerkleTree.leafHash(leaf)`, hashed in place: verification computes one per entry.
    public var leafHash: Data {
        var hasher = SHA256()
        hasher.update(byte: 0)
        var reference = reference
        reference.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        hasher.update(byte: 0x0A)
        hasher.update(data: content)
        return Data(hasher.finalize())
    }
}

extension LedgerChain {
    public static func leaf(reference: String, content: Data) -> Data {
        var leaf = Data(reference.utf8)
        leaf.append(0x0A)
        leaf.append(content)
        return leaf
    }
}
