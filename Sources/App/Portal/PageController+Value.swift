import Foundation
import Hummingbird
import Valuation

/// My data's value: the Valyze explanation, with charts drawn on the server.
extension PageController {
    func addValueRoutes(to routes: RouteCollection<AppRequestContext>) {
        routes.get("/my/value", use: valuePage)
    }

    @Sendable func valuePage(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        let valuation = try await services.valuation.explain(subjectID: user.subjectID)
        let money = { (amount: Double) in String(format: "%.4f %@", amount, valuation.currency) }
        var byCategory: [String: Double] = [:]
        for record in valuation.records where record.counted {
            byCategory[record.category, default: 0] += record.price?.value ?? 0
        }
        let excluded = valuation.records.count - valuation.recordsCounted
        var view = PageFrame(title: "My data's value", context: context, section: "/my/value").values
        view["currency"] = valuation.currency
        view["priceBookValue"] = money(valuation.priceBookValue)
        view["payoutTotal"] = money(valuation.payoutTotal)
        view["recordsCounted"] = valuation.recordsCounted
        view["recordsExcluded"] = excluded
        view["hasRecords"] = !valuation.records.isEmpty
        view["aggregation"] = valuation.aggregation
        view["valueChart"] =
            SVGBarChart(
                id: "value-chart", title: "Value per category, in \(valuation.currency)",
                bars: byCategory.sorted { $0.key < $1.key }.map {
                    .init(label: $0.key, value: $0.value, display: money($0.value), kind: "value")
                }
            ).svg
        view["countChart"] =
            SVGBarChart(
                id: "count-chart", title: "Records counted and excluded",
                bars: [
                    .init(
                        label: "Counted", value: Double(valuation.recordsCounted),
                        display: "\(valuation.recordsCounted)",
                        kind: "counted"),
                    .init(label: "Excluded", value: Double(excluded), display: "\(excluded)", kind: "excluded"),
                ]
            ).svg
        view["records"] = valuation.records.map { record -> [String: Any] in
            [
                "category": record.category, "purpose": record.purpose, "counted": record.counted,
                "reason": record.excludedBecause.map(Self.exclusionText) ?? "",
                "value": money(record.price?.value ?? 0),
                "breakdown": record.price.map {
                    String(
                        format: "%.4f × %.2f × %.2f × %.2f", $0.base, $0.sensitivity, $0.freshness, $0.completeness)
                } ?? "no price for this category",
            ]
        }
        view["contributions"] = valuation.contributions.map { contribution -> [String: Any] in
            [
                "task": contribution.taskName ?? contribution.taskId,
                "method": contribution.method?.name.rawValue ?? "",
                "finishedAt": contribution.finishedAt ?? "", "value": String(format: "%.6f", contribution.value),
                "payout": contribution.payout.map(money) ?? "—", "counted": contribution.recordsCounted,
                "excluded": contribution.recordsExcluded.values.reduce(0, +),
            ]
        }
        view["hasContributions"] = !valuation.contributions.isEmpty
        return pages.render("value", view)
    }

    static func exclusionText(_ reason: ExclusionReason) -> String {
        switch reason {
        case .noConsent: "its purpose is not consented to"
        case .restricted: "processing is restricted"
        case .unconfirmed: "your email is not confirmed yet"
        case .erased: "erased"
        case .incomplete: "incomplete"
        }
    }
}
