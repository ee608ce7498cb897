import Consent
import Foundation
import Hummingbird
import Kernel
import NIOCore

/// A decoded request body with the bytes it came from (an idempotency fingerprint needs them).
struct JSONBody<Value: Decodable> {
    var value: Value
    var bytes: ByteBuffer
}

extension Request {
    /// Reads and decodes a JSON body, answering every way it can be wrong with a 4xx problem that says what is wrong.
    /// `limit` raises the body limit for the few routes whose bodies are documents (a valuation task).
    mutating func decodeJSON<Value: Decodable>(
        _: Value.Type, context: AppRequestContext, limit: Int? = nil
    ) async throws -> JSONBody<Value> {
        // The common exact value skips parsing the media type.
        if let contentType = headers[.contentType], contentType != "application/json",
            let mediaType = MediaType(from: contentType),
            !(mediaType.isType(.applicationJson) || mediaType.subType.hasSuffix("+json"))
        {
            throw Problem(
                .unsupportedMediaType, "unsupported-media-type", "Unsupported media type",
                detail: "send the body as application/json")
        }
        let bytes = try await collectBody(upTo: limit ?? context.maxUploadSize)
        guard bytes.readableBytes > 0 else { throw Problem.invalid("the request needs a JSON body") }
        do {
            return JSONBody(value: try Self.decoder.decode(Value.self, from: bytes), bytes: bytes)
        } catch let error as DecodingError {
            throw Problem.invalid(Self.describe(error))
        }
    }

    /// As ``decodeJSON(_:context:limit:)``, for a route whose body is optional: nil when it has none.
    mutating func decodeOptionalJSON<Value: Decodable>(
        _: Value.Type, context: AppRequestContext
    ) async throws -> Value? {
        guard try await collectBody(upTo: context.maxUploadSize).readableBytes > 0 else { return nil }
        return try await decodeJSON(Value.self, context: context).value
    }

    private static let decoder = JSONDecoder()

    private static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            let text = codingPath.reduce(into: "") { text, key in
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return text.isEmpty ? "body" : text
        }
        switch error {
        case .keyNotFound(let key, let context): return "\(path(context.codingPath + [key])): is required"
        case .typeMismatch(let type, let context): return "\(path(context.codingPath)): must be \(jsonName(type))"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): must be \(jsonName(type)), not null"
        case .dataCorrupted(let context):
            if context.codingPath.isEmpty { return "body: is not valid JSON" }
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default: return "body: is not valid"
        }
    }

    private static func jsonName(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Int.Type, is Int32.Type, is Int64.Type: "an integer"
        case is Double.Type: "a number"
        case is Bool.Type: "a boolean"
        case is [Any].Type: "an array"
        default: "an object"
        }
    }
}

/// Any key, for finding the ones a type does not know.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Decoder {
    /// Unknown fields are refused rather than ignored: a misspelt optional field would otherwise pass silently.
    func rejectUnknownKeys<Key: CodingKey>(_: Key.Type) throws {
        let container = try container(keyedBy: AnyCodingKey.self)
        if let unknown = container.allKeys.first(where: { Key(stringValue: $0.stringValue) == nil }) {
            throw DecodingError.dataCorrupted(
                .init(codingPath: codingPath + [unknown], debugDescription: "is not a known field"))
        }
    }
}

extension KeyedDecodingContainer {
    /// Decodes a string and checks it with `make`, reporting a domain error at this field's path.
    func decode<T>(_ key: Key, length: ClosedRange<Int>? = nil, as make: (String) throws -> T) throws -> T {
        let text = try decode(String.self, forKey: key)
        if let length, !length.contains(text.count) {
            throw DecodingError.dataCorruptedError(
                forKey: key, in: self,
                debugDescription: "must be \(length.lowerBound) to \(length.upperBound) characters")
        }
        do { return try make(text) } catch {
            throw DecodingError.dataCorruptedError(forKey: key, in: self, debugDescription: "\(error)")
        }
    }

    func decodeIfPresent<T>(_ key: Key, length: ClosedRange<Int>? = nil, as make: (String) throws -> T) throws -> T? {
        guard contains(key), try !decodeNil(forKey: key) else { return nil }
        return try decode(key, length: length, as: make)
    }

    func decodeTimestampIfPresent(_ key: Key) throws -> Date? {
        try decodeIfPresent(key) { text in
            guard let date = RFC3339.date(from: text) else {
                throw FieldError("must be an RFC 3339 date-time with a time zone")
            }
            return date
        }
    }
}

/// A field-level validation message for ``KeyedDecodingContainer/decode(_:length:as:)``.
struct FieldError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
