import Consent
import Foundation
import Hummingbird
import Kernel
import Valuation

/// The seed's Valyze route, same request and response shape, with computed numbers: the price
/// book's value of the data points, and a confidence from the request's completeness and the
/// spread of the category's published price range.
struct LegacyValyzeController {
    let priceBook: PriceBook
    static let modelVersion = "price-book-1"

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.post("/valyze/data", use: value)
        return routes
    }

    struct Input: Decodable {
        struct Data: Decodable {
            var dataId: String
            var category: String
            var valuePoints: ValuePoints
            var isSensitive: Bool?
            var source: String?

            enum CodingKeys: String, CodingKey {
                case dataId = "data_id", category, valuePoints = "value_points", isSensitive = "is_sensitive", source
            }
        }
        var inputData: Data

        enum CodingKeys: String, CodingKey { case inputData = "input_data" }
    }

    /// How many data points: a count, or the points themselves (numbers).
    struct ValuePoints: Decodable {
        var count: Int

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let count = try? container.decode(Int.self) {
                guard (0...1_000_000).contains(count) else {
                    throw DecodingError.dataCorruptedError(
                        in: container, debugDescription: "must be a count from 0 to 1000000")
                }
                self.count = count
            } else if let points = try? container.decode([Double].self) {
                guard points.count <= 10_000, points.allSatisfy(\.isFinite) else {
                    throw DecodingError.dataCorruptedError(
                        in: container, debugDescription: "must hold at most 10000 finite numbers")
                }
                self.count = points.count
            } else {
                throw DecodingError.dataCorruptedError(
                    in: container, debugDescription: "must be a whole number or an array of numbers")
            }
        }
    }

    struct Output: ResponseCodable {
        var valuationScore: Double
        var confidenceScore: Double
        var valuationTimestamp: String
        var modelUsed: String
        var modelVersion: String
        var message: String

        enum CodingKeys: String, CodingKey {
            case valuationScore = "valuation_score", confidenceScore = "confidence_score"
            case valuationTimestamp = "valuation_timestamp", modelUsed = "model_used"
            case modelVersion = "model_version", message
        }
    }

    @Sendable func value(_ request: Request, context: AppRequestContext) async throws -> Output {
        _ = try context.requireUser()
        var request = request
        let input = try await request.decodeJSON(Input.self, context: context).value.inputData
        guard !input.dataId.isEmpty, input.dataId.count <= 256 else {
            throw Problem.invalid("input_data.data_id: 1 to 256 characters")
        }
        let known = priceBook.categories[input.category] != nil
        let category = known ? input.category : "other"
        let count = input.valuePoints.count
        guard let price = priceBook.price(category, attributes: [], sensitive: input.isSensitive == true, ageDays: 0)
        else { throw Problem.internalError }
        let value = price.base * price.sensitivity * Double(count)
        let present = [known, count > 0, !(input.source ?? "").isEmpty, input.isSensitive != nil]
        let completeness = Double(present.filter { $0 }.count) / Double(present.count)
        let confidence = completeness * priceBook.rangeConfidence(category)
        var message = "\(count) data point(s) of '\(category)' at \(priceBook.currency) \(price.base) each"
        if price.sensitivity > 1 { message += ", ×\(price.sensitivity) for sensitive data" }
        if !known { message += "; the category is not in the price book, so 'other' was used" }
        return Output(
            valuationScore: (value * 1_000_000).rounded() / 1_000_000,
            confidenceScore: (confidence * 10_000).rounded() / 10_000,
            valuationTimestamp: RFC3339.string(from: Date()), modelUsed: "price_book",
            modelVersion: Self.modelVersion + "-" + priceBook.currency.lowercased(), message: message)
    }
}
