import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

extension UUID {
    /// A random (version 4) UUID. Foundation's `UUID()` asks the kernel for randomness on every call;
    /// a consent write makes several ids, and those calls were 1.6% of its CPU. These ids come from a
    /// buffer that the kernel's CSPRNG refills 256 ids at a time.
    public static func random() -> UUID {
        var bytes = RandomIDPool.shared.next()
        bytes.6 = (bytes.6 & 0x0F) | 0x40
        bytes.8 = (bytes.8 & 0x3F) | 0x80
        return UUID(uuid: bytes)
    }

    /// The canonical lower-case text form: what `uuidString.lowercased()` gives, without its
    /// `printf` and second copy.
    public var lowercasedString: String {
        withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { text in
                var position = 0
                for (index, byte) in bytes.enumerated() {
                    if index == 4 || index == 6 || index == 8 || index == 10 {
                        text[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    text[position] = Self.hexDigits[Int(byte >> 4)]
                    text[position + 1] = Self.hexDigits[Int(byte & 0x0F)]
                    position += 2
                }
                return position
            }
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)
}

/// Random bytes for ids, drawn from the system CSPRNG in blocks.
private final class RandomIDPool: Sendable {
    static let shared = RandomIDPool()
    private static let blockSize = 4096

    private struct Block {
        var bytes = [UInt8](repeating: 0, count: RandomIDPool.blockSize)
        var used = RandomIDPool.blockSize
    }

    private let block = Mutex(Block())

    func next() -> uuid_t {
        block.withLock { block in
            if block.used == Self.blockSize {
                block.bytes.withUnsafeMutableBytes { arc4random_buf($0.baseAddress!, Self.blockSize) }
                block.used = 0
            }
            defer { block.used += 16 }
            return block.bytes.withUnsafeBytes { bytes in
                bytes.loadUnaligned(fromByteOffset: block.used, as: uuid_t.self)
            }
        }
    }
}
