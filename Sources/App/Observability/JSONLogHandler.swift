import Consent
import Foundation
import Kernel
public import Logging
import Synchronization

/// One JSON object per line on standard output, for log shippers.
///
/// Every request writes a line, so the line is built by hand into one buffer and written with one
/// `write(2)`: `JSONSerialization` made logging at `info` halve the server's throughput.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    private let label: String
    private static let output = Mutex(())

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var line: [UInt8] = []
        line.reserveCapacity(256)
        line.append(contentsOf: #"{"ts":"#.utf8)
        JSONText.appendString(RFC3339.string(from: Date()), to: &line)
        line.append(contentsOf: #","level":"#.utf8)
        JSONText.appendString(event.level.rawValue, to: &line)
        line.append(contentsOf: #","logger":"#.utf8)
        JSONText.appendString(label, to: &line)
        line.append(contentsOf: #","msg":"#.utf8)
        JSONText.appendString(event.message.description, to: &line)
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { _, new in new } }
        for key in fields.keys.sorted() {
            line.append(UInt8(ascii: ","))
            JSONText.appendString(key, to: &line)
            line.append(UInt8(ascii: ":"))
            Self.append(fields[key]!, to: &line)
        }
        line.append(contentsOf: "}\n".utf8)
        // One write(2) per line, under a lock, so lines from concurrent requests never interleave.
        Self.output.withLock { _ in
            line.withUnsafeBytes { buffer in
                var offset = 0
                while offset < buffer.count {
                    let written = write(STDOUT_FILENO, buffer.baseAddress! + offset, buffer.count - offset)
                    if written <= 0 { return }
                    offset += written
                }
            }
        }
    }

    private static func append(_ value: Logger.Metadata.Value, to line: inout [UInt8]) {
        switch value {
        case .string(let string): JSONText.appendString(string, to: &line)
        case .stringConvertible(let convertible): JSONText.appendString(convertible.description, to: &line)
        case .array(let array):
            line.append(UInt8(ascii: "["))
            for (index, element) in array.enumerated() {
                if index > 0 { line.append(UInt8(ascii: ",")) }
                append(element, to: &line)
            }
            line.append(UInt8(ascii: "]"))
        case .dictionary(let dictionary):
            line.append(UInt8(ascii: "{"))
            for (index, key) in dictionary.keys.sorted().enumerated() {
                if index > 0 { line.append(UInt8(ascii: ",")) }
                JSONText.appendString(key, to: &line)
                line.append(UInt8(ascii: ":"))
                append(dictionary[key]!, to: &line)
            }
            line.append(UInt8(ascii: "}"))
        }
    }
}
