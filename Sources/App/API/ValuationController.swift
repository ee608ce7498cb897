import Consent
import Foundation
import Hummingbird
import Kernel
import PQCrypto
import Services
import Valuation

/// Valyze: people store data records and see what their data is worth and why; admins define
/// valuation tasks and run them as jobs; DPOs may read tasks and jobs.
struct ValuationController {
    let services: QSPPServices
    var valuation: ValuationService { services.valuation }

    /// A task's validation set can be large: up to the configured point limit, as JSON.
    static let taskBodyLimit = 8 * 1024 * 1024
    /// The one route whose body may be larger than 64 KiB, so a gateway in front lets it through.
    static let taskRoute = "/v1/admin/valuation/tasks"

    var endpoints: RouteCollection<AppRequestContext> {
        let routes = RouteCollection(context: AppRequestContext.self)
        routes.post("/v1/me/data-records", use: storeOwn)
        routes.get("/v1/me/data-records", use: listOwn)
        routes.delete("/v1/me/data-records/:recordId", use: deleteOwn)
        routes.post("/v1/subjects/:subjectId/data-records", use: storeOnBehalf)
        routes.get("/v1/me/valuation", use: explainOwn)
        routes.post(RouterPath(Self.taskRoute), use: createTask)
        routes.get("/v1/admin/valuation/tasks", use: listTasks)
        routes.get("/v1/admin/valuation/tasks/:taskId", use: showTask)
        routes.post("/v1/admin/valuation/tasks/:taskId/jobs", use: createJob)
        routes.get("/v1/admin/valuation/jobs", use: listJobs)
        routes.get("/v1/admin/valuation/jobs/:jobId", use: showJob)
        routes.post("/v1/admin/valuation/jobs/:jobId/cancel", use: cancelJob)
        return routes
    }

    @Sendable func storeOwn(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return try await store(request, context: context, subject: user.subjectID)
    }

    /// An integration (an admin account) storing data for a person.
    @Sendable func storeOnBehalf(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        guard let subject = context.parameters.get("subjectId").flatMap({ UUID(uuidString: $0) }),
            try await services.identity.account(id: subject) != nil
        else { throw Problem.notFound }
        return try await store(request, context: context, subject: subject.lowercasedString)
    }

    private func store(_ request: Request, context: AppRequestContext, subject: String) async throws -> Response {
        var request = request
        let input = try await request.decodeJSON(DataRecordInput.self, context: context).value
        guard let purpose = try? PurposeID(validating: input.purpose),
            (try? await services.consents.purpose(purpose)) != nil
        else { throw Problem.invalid("purpose: no such purpose") }
        let recordedAt: Date
        if let text = input.recordedAt {
            guard let date = RFC3339.date(from: text) else { throw Problem.invalid("recordedAt: must be RFC 3339") }
            recordedAt = date
        } else {
            recordedAt = Date()
        }
        let record = DataRecord(
            subjectID: subject, category: input.category, purposeID: purpose.rawValue,
            content: .init(attributes: input.attributes, label: input.label, source: input.source),
            recordedAt: recordedAt)
        try await services.restrictedWrites.store(record)
        return try DataRecordOutput(record.header, record.content).response(from: request, context: context)
            .with(status: .created)
    }

    @Sendable func listOwn(_ request: Request, context: AppRequestContext) async throws -> DataRecordList {
        let user = try context.requireUser()
        return DataRecordList(
            records: try await valuation.repository.records(subjectID: user.subjectID).map(DataRecordOutput.init))
    }

    @Sendable func deleteOwn(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        guard let id = context.parameters.get("recordId").flatMap({ UUID(uuidString: $0) }),
            try await valuation.repository.deleteRecord(id: id, subjectID: user.subjectID)
        else { throw Problem.notFound }
        return Response(status: .noContent)
    }

    @Sendable func explainOwn(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return try ValuationBody(try await valuation.explain(subjectID: user.subjectID))
            .response(from: request, context: context)
    }

    @Sendable func createTask(_ request: Request, context: AppRequestContext) async throws -> Response {
        let admin = try context.requireAdmin()
        var request = request
        let input = try await request.decodeJSON(TaskInput.self, context: context, limit: Self.taskBodyLimit).value
        let task = try await valuation.createTask(
            ValuationTask(
                name: input.name, category: input.category, features: input.features, label: input.label,
                validation: input.validation, method: input.method, payoutPool: input.payoutPool,
                createdBy: admin.subjectID))
        return try TaskOutput(task, currency: valuation.priceBook.currency).response(from: request, context: context)
            .with(status: .created)
    }

    @Sendable func listTasks(_ request: Request, context: AppRequestContext) async throws -> TaskList {
        _ = try context.requireStaff()
        return TaskList(
            tasks: try await valuation.repository.tasks().map { TaskOutput($0, currency: valuation.priceBook.currency) }
        )
    }

    @Sendable func showTask(_ request: Request, context: AppRequestContext) async throws -> TaskOutput {
        _ = try context.requireStaff()
        guard let task = try await valuation.repository.task(id: try Self.id("taskId", context)) else {
            throw ValuationError.taskNotFound
        }
        return TaskOutput(task, currency: valuation.priceBook.currency)
    }

    @Sendable func createJob(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        let job = try await valuation.createJob(taskID: try Self.id("taskId", context))
        var response = try JobOutput(job).response(from: request, context: context).with(status: .accepted)
        response.headers[.location] = "/v1/admin/valuation/jobs/\(job.id.lowercasedString)"
        return response
    }

    @Sendable func listJobs(_ request: Request, context: AppRequestContext) async throws -> JobList {
        _ = try context.requireStaff()
        return JobList(jobs: try await valuation.repository.jobs(limit: 100).map { JobOutput($0) })
    }

    @Sendable func showJob(_ request: Request, context: AppRequestContext) async throws -> JobOutput {
        _ = try context.requireStaff()
        guard let job = try await valuation.repository.job(id: try Self.id("jobId", context)) else {
            throw ValuationError.jobNotFound
        }
        let limit = request.uri.queryParameters.get("subjects").flatMap(Int.init).map { min(max($0, 0), 1000) } ?? 100
        let shares = job.status == .completed ? try await valuation.repository.shares(jobID: job.id, limit: limit) : nil
        return JobOutput(job, shares: shares)
    }

    @Sendable func cancelJob(_ request: Request, context: AppRequestContext) async throws -> JobOutput {
        _ = try context.requireAdmin()
        let id = try Self.id("jobId", context)
        guard let job = try await valuation.repository.job(id: id) else { throw ValuationError.jobNotFound }
        guard !job.status.isFinal else { throw ValuationError.jobFinished }
        return JobOutput(try await valuation.cancel(jobID: id))
    }

    private static func id(_ name: String, _ context: AppRequestContext) throws -> UUID {
        guard let id = context.parameters.get(name).flatMap({ UUID(uuidString: $0) }) else { throw Problem.notFound }
        return id
    }
}

/// Any encodable domain value as a JSON response.
struct ValuationBody<Value: Encodable & Sendable>: ResponseEncodable {
    let value: Value
    init(_ value: Value) { self.value = value }
    func encode(to encoder: any Encoder) throws { try value.encode(to: encoder) }
}
