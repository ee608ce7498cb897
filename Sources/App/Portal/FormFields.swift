import Foundation
import Hummingbird

/// The fields of an `application/x-www-form-urlencoded` body, as browsers send forms.
struct FormFields: Sendable {
    private var values: [String: [String]] = [:]
    /// Every field in the order sent, repeats included (OAuth refuses a repeated parameter).
    private(set) var pairs: [(name: String, value: String)] = []

    init(_ text: String) {
        for pair in text.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = Self.decode(parts[0]) else { continue }
            let value = parts.count > 1 ? Self.decode(parts[1]) ?? "" : ""
            values[name, default: []].append(value)
            pairs.append((name, value))
        }
    }

    /// The name of a field sent more than once, if any.
    var repeatedName: String? { values.keys.sorted().first { values[$0]!.count > 1 } }

    private static func decode(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    subscript(_ name: String) -> String? { values[name]?.first }

    /// The fields encoded again, in their order, as a query string.
    var encoded: String {
        pairs.map { "\(PageController.queryEscaped($0.name))=\(PageController.queryEscaped($0.value))" }
            .joined(separator: "&")
    }

    /// A field that must be present and not blank; the problem names it for the page to show.
    func required(_ name: String, label: String) throws(Problem) -> String {
        guard let value = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
            throw Problem.invalid("\(label) is required")
        }
        return value
    }

    /// A field that is present and not blank, or nil.
    func optional(_ name: String) -> String? {
        guard let value = self[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else {
            return nil
        }
        return value
    }

    func isChecked(_ name: String) -> Bool { self[name] != nil }

    /// Every value sent for `name` (checkboxes that share it), in order.
    func all(_ name: String) -> [String] { values[name] ?? [] }
}

extension Request {
    /// Reads the form a page posted. ``WebSessionMiddleware`` has already read it once to check the
    /// CSRF token, so this reads the buffered copy.
    mutating func form(context: AppRequestContext) async throws -> FormFields {
        if let contentType = headers[.contentType], let mediaType = MediaType(from: contentType),
            !mediaType.isType(.applicationUrlEncoded)
        {
            throw Problem(
                .unsupportedMediaType, "unsupported-media-type", "Unsupported media type",
                detail: "send the form as application/x-www-form-urlencoded")
        }
        let bytes = try await collectBody(upTo: context.maxUploadSize)
        return FormFields(String(buffer: bytes))
    }
}
