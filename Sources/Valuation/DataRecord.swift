public import Foundation

/// A typed attribute of a data record.
public enum AttributeValue: Sendable, Equatable, Codable {
    case number(Double)
    case text(String)
    case bool(Bool)

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let text = try? container.decode(String.self) {
            self = .text(text)
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "an attribute must be a number, a string or a boolean")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .number(let value): try container.encode(value)
        case .text(let value): try container.encode(value)
        case .bool(let value): try container.encode(value)
        }
    }

    /// The value as a model feature: numbers as they are, booleans as 0 or 1, text not at all.
    public var feature: Double? {
        switch self {
        case .number(let value): value.isFinite ? value : nil
        case .bool(let value): value ? 1 : 0
        case .text: nil
        }
    }

    /// The value as a class label.
    public var labelText: String {
        switch self {
        case .number(let value): value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)
        case .text(let value): value
        case .bool(let value): String(value)
        }
    }
}

/// One piece of a person's data that they (or an integration for them) stored for valuation: its
/// category (priced by the price book), the purpose it may be used for (gated by consent), typed
/// attributes, an optional label, where it came from and when it was observed.
public struct DataRecord: Sendable, Equatable, Identifiable {
    public var id: UUID
    public var subjectID: String
    public var category: String
    public var purposeID: String
    public var content: Content
    public var recordedAt: Date
    public var createdAt: Date

    /// The personal part, sealed at rest under the subject's data key.
    public struct Content: Sendable, Equatable, Codable {
        public var attributes: [String: AttributeValue]
        public var label: String?
        public var source: String

        public init(attributes: [String: AttributeValue], label: String?, source: String) {
            self.attributes = attributes
            self.label = label
            self.source = source
        }
    }

    public init(
        id: UUID = UUID(), subjectID: String, category: String, purposeID: String, content: Content,
        recordedAt: Date, createdAt: Date = Date()
    ) {
        self.id = id
        self.subjectID = subjectID
        self.category = category
        self.purposeID = purposeID
        self.content = content
        self.recordedAt = recordedAt
        self.createdAt = createdAt
    }

    public static let maximumAttributes = 256
    public static let maximumTextLength = 1024

    /// Checks a record before it is stored.
    public func validate(priceBook: PriceBook) throws(ValuationError) {
        guard priceBook.categories[category] != nil else {
            throw .invalid(
                "category: unknown; the price book has \(priceBook.categories.keys.sorted().joined(separator: ", "))")
        }
        guard !content.attributes.isEmpty, content.attributes.count <= Self.maximumAttributes else {
            throw .invalid("attributes: between 1 and \(Self.maximumAttributes) are needed")
        }
        for (name, value) in content.attributes {
            guard !name.isEmpty, name.count <= 64 else {
                throw .invalid("attributes: names must be 1 to 64 characters")
            }
            if case .number(let number) = value, !number.isFinite {
                throw .invalid("attributes.\(name): must be a finite number")
            }
            if case .text(let text) = value, text.count > Self.maximumTextLength {
                throw .invalid("attributes.\(name): longer than \(Self.maximumTextLength) characters")
            }
        }
        guard !content.source.isEmpty, content.source.count <= 256 else {
            throw .invalid("source: 1 to 256 characters")
        }
        if let label = content.label, label.isEmpty || label.count > 256 {
            throw .invalid("label: 1 to 256 characters")
        }
    }
}
