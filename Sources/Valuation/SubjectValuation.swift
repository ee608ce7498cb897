public import Foundation
import Kernel

/// What a person's data is worth and why: every record, priced by the price book if it counts now,
/// and the person's share of the newest run of each valuation task that saw their records.
public struct SubjectValuation: Sendable, Encodable {
    public struct Record: Sendable, Encodable {
        public var id: String
        public var category: String
        public var purpose: String
        public var counted: Bool
        public var excludedBecause: ExclusionReason?
        /// The breakdown of the price; `value` is 0 when the record does not count.
        public var price: PriceBook.Price?
    }

    public struct Contribution: Sendable, Encodable {
        public var jobId: String
        public var taskId: String
        public var taskName: String?
        public var method: MethodSpec?
        public var finishedAt: String?
        /// The sum of this person's record values in the job.
        public var value: Double
        public var recordsCounted: Int
        public var recordsExcluded: [String: Int]
        /// This person's part of the task's pool: pool × Σ max(0, own values) / Σ max(0, all values).
        public var payout: Double?
        /// Each of this person's records in the run: its value (with its standard error, for the
        /// Monte-Carlo methods), or why it was left out.
        public var records: [RecordOutcome]
    }

    public struct RecordOutcome: Sendable, Encodable {
        public var recordId: String
        public var value: Double?
        public var standardError: Double?
        public var excludedBecause: ExclusionReason?
    }

    public var subjectId: String
    public var currency: String
    /// Σ of the price of every record that counts now.
    public var priceBookValue: Double
    public var payoutTotal: Double
    public var recordsCounted: Int
    public var recordsExcluded: [String: Int]
    public var records: [Record]
    public var contributions: [Contribution]
    public var aggregation: String
}

extension ValuationService {
    static let aggregation = """
        priceBookValue is the sum over records that count now of base × sensitivity × freshness × \
        completeness (docs/valuation.md). Each contribution's value is the sum of the Shapley (or Banzhaf) \
        values of this person's records in the newest completed run of that task; the payout is the task's \
        pool × the sum of this person's positive record values ÷ the sum of every positive record value.
        """

    /// The explanation `GET /v1/me/valuation` gives.
    public func explain(subjectID: String, at now: Date = Date()) async throws -> SubjectValuation {
        let standing = try await standing(subjectID)
        var records: [SubjectValuation.Record] = []
        var excluded: [String: Int] = [:]
        var total = 0.0
        for (header, content) in try await repository.records(subjectID: subjectID) {
            let reason: ExclusionReason? = content == nil ? .erased : standing.exclusion(purpose: header.purposeID)
            var price = content.flatMap { content in
                priceBook.price(
                    header.category, attributes: Set(content.attributes.keys), sensitive: false,
                    ageDays: now.timeIntervalSince(header.recordedAt) / 86_400)
            }
            if let reason {
                excluded[reason.rawValue, default: 0] += 1
                price?.value = 0
            }
            total += price?.value ?? 0
            records.append(
                .init(
                    id: header.id.uuidString.lowercased(), category: header.category, purpose: header.purposeID,
                    counted: reason == nil, excludedBecause: reason, price: price))
        }
        var contributions: [SubjectValuation.Contribution] = []
        for (job, values) in try await repository.latestValues(subjectID: subjectID) {
            let task = try await repository.task(id: job.taskID)
            var reasons: [String: Int] = [:]
            for value in values { if let reason = value.excluded { reasons[reason.rawValue, default: 0] += 1 } }
            let counted = values.compactMap(\.value)
            let share = SubjectShare(
                subjectID: subjectID, records: counted.count, excluded: values.count - counted.count,
                value: counted.reduce(0, +), positiveValue: counted.reduce(0) { $0 + max(0, $1) })
            contributions.append(
                .init(
                    jobId: job.id.uuidString.lowercased(), taskId: job.taskID.uuidString.lowercased(),
                    taskName: task?.name, method: job.summary?.method,
                    finishedAt: job.finishedAt.map(RFC3339.string(from:)), value: share.value,
                    recordsCounted: share.records, recordsExcluded: reasons,
                    payout: share.payout(
                        pool: job.summary?.payoutPool, totalPositive: job.summary?.totalPositiveValue ?? 0),
                    records: values.map {
                        .init(
                            recordId: $0.recordID.uuidString.lowercased(), value: $0.value,
                            standardError: $0.standardError, excludedBecause: $0.excluded)
                    }))
        }
        return SubjectValuation(
            subjectId: subjectID, currency: priceBook.currency, priceBookValue: total,
            payoutTotal: contributions.compactMap(\.payout).reduce(0, +),
            recordsCounted: records.filter(\.counted).count, recordsExcluded: excluded, records: records,
            contributions: contributions, aggregation: Self.aggregation)
    }
}
