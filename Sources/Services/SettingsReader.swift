public import Configuration
import Foundation

/// Reads one area's settings through a scoped swift-configuration reader, converting text with our own
/// rules. The library's typed getters answer nil for a value that does not convert, which would quietly
/// put the default in place of a typo; here every refusal throws, naming the environment variable.
public struct SettingsReader: Sendable {
    private let reader: ConfigReader
    /// The scope's key components, kept to name keys in errors: `ConfigReader` does not expose its prefix.
    private let path: [String]

    public init(_ reader: ConfigReader) {
        self.init(reader: reader, path: [])
    }

    private init(reader: ConfigReader, path: [String]) {
        self.reader = reader
        self.path = path
    }

    /// A reader of the keys below `scope`: scoped to `qspp.argon2`, the key `memory.kib` is
    /// `QSPP_ARGON2_MEMORY_KIB`.
    public func scoped(to scope: String) -> SettingsReader {
        let key = ConfigKey(scope)
        return SettingsReader(reader: reader.scoped(to: key), path: path + key.components)
    }

    /// `key` as the environment variable that sets it.
    public func name(of key: String) -> String {
        (path + ConfigKey(key).components).joined(separator: "_").uppercased()
    }

    /// The error for a refused value of `key`.
    public func invalid(_ key: String, _ reason: String) -> InvalidSetting {
        InvalidSetting(key: name(of: key), reason: reason)
    }

    /// The text of `key`, nil when unset or empty, so that `KEY=` in a file means the default.
    public func string(_ key: String, isSecret: Bool = false) -> String? {
        reader.string(forKey: ConfigKey(key), isSecret: isSecret).flatMap { $0.isEmpty ? nil : $0 }
    }

    /// `key` converted by `convert`, whose error (a ``Refusal`` or a described one) gives the reason. For a
    /// secret, `convert` must not repeat the text in its error.
    public func parsed<Value>(
        _ key: String, isSecret: Bool = false, _ convert: (String) throws -> Value
    ) throws(InvalidSetting) -> Value? {
        guard let text = string(key, isSecret: isSecret) else { return nil }
        do {
            return try convert(text)
        } catch {
            throw invalid(key, "\(error)")
        }
    }

    /// `key` as a whole number from `minimum` to `maximum`. The default ceiling only keeps sums and
    /// conversions to 32 bits clear of overflow, so it is not mentioned in the error.
    public func integer(
        _ key: String, atLeast minimum: Int, atMost maximum: Int = 1 << 30, of unit: String? = nil,
        default value: Int
    ) throws(InvalidSetting) -> Int {
        guard let text = string(key) else { return value }
        guard let number = Int(text), number >= minimum, number <= maximum else {
            let noun = unit.map { "whole number of \($0)" } ?? "whole number"
            let range = maximum == 1 << 30 ? "of at least \(minimum)" : "from \(minimum) to \(maximum)"
            throw invalid(key, "must be a \(noun) \(range), got '\(text)'")
        }
        return number
    }

    public func boolean(_ key: String, default value: Bool) throws(InvalidSetting) -> Bool {
        guard let text = string(key) else { return value }
        switch text.lowercased() {
        case "true", "1", "yes": return true
        case "false", "0", "no": return false
        default: throw invalid(key, "must be true or false, got '\(text)'")
        }
    }

    /// `key` as one of `Value`'s raw values, in any case.
    public func oneOf<Value: RawRepresentable & CaseIterable>(
        _ key: String, default value: Value
    ) throws(InvalidSetting) -> Value where Value.RawValue == String {
        try oneOf(key, Value.allCases.map { ($0.rawValue, $0) }, default: value)
    }

    /// `key` as the value of one of the named `choices`, in any case.
    public func oneOf<Value>(
        _ key: String, _ choices: [(String, Value)], default value: Value
    ) throws(InvalidSetting) -> Value {
        guard let text = string(key) else { return value }
        guard let choice = choices.first(where: { $0.0.lowercased() == text.lowercased() }) else {
            let names = choices.map { $0.0 }
            let expected = names.count == 2 ? "\(names[0]) or \(names[1])" : "one of " + names.joined(separator: ", ")
            throw invalid(key, "must be \(expected), got '\(text)'")
        }
        return choice.1
    }

    /// `key` as comma-separated items, each converted by `convert` (nil refuses it). `refusal` says what
    /// was expected, and never repeats the text, which may be secret.
    public func list<Item>(
        _ key: String, isSecret: Bool = false, refusal: String, _ convert: (String) -> Item?
    ) throws(InvalidSetting) -> [Item]? {
        guard let text = string(key, isSecret: isSecret) else { return nil }
        var items: [Item] = []
        for part in text.split(separator: ",") {
            guard let item = convert(part.trimmingCharacters(in: .whitespaces)) else { throw invalid(key, refusal) }
            items.append(item)
        }
        return items
    }

    /// Why `parsed` refused a text.
    public struct Refusal: Error, CustomStringConvertible {
        public let description: String
        public init(_ description: String) { self.description = description }
    }
}

/// A setting that is wrong. The message starts with the environment variable's name and never repeats
/// a secret.
public struct InvalidSetting: Error, CustomStringConvertible {
    /// The environment variable, such as `QSPP_PORT`.
    public let key: String
    public let reason: String

    public init(key: String, reason: String) {
        self.key = key
        self.reason = reason
    }

    public var description: String { "\(key): \(reason)" }
}
