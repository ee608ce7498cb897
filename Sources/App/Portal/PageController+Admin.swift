import Consent
import Foundation
import Hummingbird
import Identity
import Kernel
import PQCrypto
import Privacy
import Valuation

/// The pages of administrators and the DPO: the request queue by due date, purposes and notice
/// versions, the ledger's verification and checkpoint, valuation jobs, and key status. DPOs see all of
/// it and work the queue; only administrators change purposes, sign checkpoints and cancel jobs.
extension PageController {
    func addAdminRoutes(to routes: RouteCollection<AppRequestContext>) {
        routes.get("/admin", use: requestQueue)
        routes.post("/admin/requests/:requestId/verify", use: verifyRequest)
        routes.post("/admin/requests/:requestId/fulfil", use: fulfilRequest)
        routes.post("/admin/requests/:requestId/reject", use: rejectRequest)
        routes.get("/admin/subjects/:subjectId/export", use: exportForSubject)
        routes.get("/admin/purposes", use: purposesPage)
        routes.post("/admin/purposes", use: createPurpose)
        routes.post("/admin/purposes/:purposeId/notices", use: publishNotice)
        routes.get("/admin/ledger", use: ledgerPage)
        routes.post("/admin/ledger/verify", use: verifyLedger)
        routes.post("/admin/ledger/checkpoint", use: signCheckpoint)
        routes.get("/admin/valuation", use: valuationPage)
        routes.post("/admin/valuation/jobs/:jobId/cancel", use: cancelJob)
        routes.get("/admin/keys", use: keysPage)
        addApplicationRoutes(to: routes)
    }

    func adminFrame(
        _ title: String, _ context: AppRequestContext, _ page: String, notice: String? = nil, error: String? = nil
    )
        -> [String: Any]
    {
        var view = PageFrame(title: title, context: context, section: "/admin", notice: notice, error: error).values
        view["adminNav"] = [
            ("/admin", "Requests"), ("/admin/purposes", "Purposes"), ("/admin/ledger", "Ledger"),
            ("/admin/valuation", "Valuation"), ("/admin/keys", "Keys"), ("/admin/applications", "Applications"),
        ].map { ["path": $0.0, "label": $0.1, "current": $0.0 == page] as [String: Any] }
        view["isAdmin"] = context.principal?.isAdmin ?? false
        return view
    }

    // MARK: Requests

    @Sendable func requestQueue(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await renderQueue(context, notice: notice(request))
    }

    private func renderQueue(
        _ context: AppRequestContext, notice: String? = nil, error: String? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        _ = try context.requireStaff()
        let now = Date()
        var view = adminFrame("Admin: requests", context, "/admin", notice: notice, error: error)
        let queue = try await services.privacy.queue().sorted { $0.dueAt < $1.dueAt }
        let tasks = try await services.fanOut.openTaskCounts(queue.map(\.id))
        view["requests"] = queue.map { filed -> [String: Any] in
            let actionable = filed.status == .verified || filed.status == .inProgress
            var row: [String: Any] = [
                "id": filed.id.lowercasedString, "subject": filed.subjectID.lowercasedString,
                "kind": Self.requestLabels[filed.kind] ?? filed.kind.rawValue,
                "status": filed.status.rawValue.replacingOccurrences(of: "_", with: " "),
                "receivedAt": Self.date(filed.receivedAt), "dueAt": Self.date(filed.dueAt),
                "overdue": filed.isOverdue(at: now), "onBehalf": filed.filedBy != filed.subjectID,
                "canVerify": filed.status == .received,
                "canFulfil": actionable && ![.rectification, .correct].contains(filed.kind),
                "isExport": [.access, .portability, .know].contains(filed.kind),
            ]
            if let open = tasks[filed.id] {
                row["systems"] = "waiting for \(open.open) downstream system\(open.open == 1 ? "" : "s")"
                if open.overdue > 0 { row["systemsOverdue"] = "\(open.overdue) overdue" }
            }
            return row
        }
        view["hasRequests"] = !queue.isEmpty
        view["overdueCount"] = queue.filter { $0.isOverdue(at: now) }.count
        return pages.render("admin-requests", view, status: status)
    }

    @Sendable func verifyRequest(_ request: Request, context: AppRequestContext) async throws -> Response {
        let staff = try context.requireStaff()
        return try await handlingForm(request, context) { form in
            let note = try form.required("verification", label: "How the person's identity was verified")
            _ = try await services.privacy.transition(
                try Self.requestID(context), to: .verified, by: staff.userID, reason: "identity verified: " + note)
            return done("/admin", .requestUpdated)
        } failing: { _, message, status in
            return try await renderQueue(context, error: message, status: status)
        }
    }

    /// Carries out a verified request; an access request is completed once its export was downloaded.
    @Sendable func fulfilRequest(_ request: Request, context: AppRequestContext) async throws -> Response {
        let staff = try context.requireStaff()
        do {
            let id = try Self.requestID(context)
            let found = try await services.privacy.request(id)
            if [.access, .portability, .know].contains(found.kind) {
                _ = try await services.rights.completeDelivery(id, by: staff.userID)
            } else {
                _ = try await services.rights.fulfil(id, by: staff.userID, client: context.client(request)) {
                    var request = request
                    let form = try await request.form(context: context)
                    return .init(email: form.optional("email"), displayName: form.optional("displayName"))
                }
            }
            return done("/admin", .requestUpdated)
        } catch {
            let failure = try formFailure(error)
            return try await renderQueue(context, error: failure.message, status: failure.status)
        }
    }

    @Sendable func rejectRequest(_ request: Request, context: AppRequestContext) async throws -> Response {
        let staff = try context.requireStaff()
        return try await handlingForm(request, context) { form in
            let reason = try form.required("reason", label: "The reason for rejecting")
            _ = try await services.privacy.transition(
                try Self.requestID(context), to: .rejected, by: staff.userID, reason: reason)
            return done("/admin", .requestUpdated)
        } failing: { _, message, status in
            return try await renderQueue(context, error: message, status: status)
        }
    }

    @Sendable func exportForSubject(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireStaff()
        guard let subject = context.parameters.get("subjectId").flatMap({ UUID(uuidString: $0) }) else {
            throw Problem.notFound
        }
        try await context.recordStaffRead(of: subject.lowercasedString, .export, request, privacy: services.privacy)
        return try Response.download(try await services.exports.archive(of: subject, encryptTo: nil))
    }

    private static func requestID(_ context: AppRequestContext) throws -> UUID {
        guard let id = context.parameters.get("requestId").flatMap(UUID.init(uuidString:)) else {
            throw Problem.notFound
        }
        return id
    }

    // MARK: Purposes

    @Sendable func purposesPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await renderPurposes(context, notice: notice(request))
    }

    private func renderPurposes(
        _ context: AppRequestContext, notice: String? = nil, error: String? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        _ = try context.requireStaff()
        var view = adminFrame("Admin: purposes", context, "/admin/purposes", notice: notice, error: error)
        let now = Date()
        view["purposes"] = try await services.consents.purposes().map { purpose -> [String: Any] in
            let current = purpose.currentNotice(at: now).version
            return [
                "id": purpose.id.rawValue, "title": purpose.title, "description": purpose.description,
                "basis": purpose.lawfulBasis.rawValue, "saleOrSharing": purpose.isSaleOrSharing,
                "notices": purpose.notices.sorted { $0.version > $1.version }.map { notice -> [String: Any] in
                    [
                        "version": notice.version, "text": notice.text ?? "", "url": notice.url ?? "",
                        "effectiveAt": Self.date(notice.effectiveAt), "current": notice.version == current,
                    ]
                },
            ]
        }
        view["bases"] = LawfulBasis.allCases.map { ["value": $0.rawValue, "label": $0.rawValue] }
        return pages.render("admin-purposes", view, status: status)
    }

    @Sendable func createPurpose(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        return try await handlingForm(request, context) { form in
            guard let basis = form["lawfulBasis"].flatMap(LawfulBasis.init(rawValue:)) else {
                throw Problem.invalid("choose the lawful basis")
            }
            _ = try await services.consents.createPurpose(
                PurposeDraft(
                    id: try PurposeID(validating: form.required("id", label: "The purpose id")),
                    title: try form.required("title", label: "The title"),
                    description: try form.required("description", label: "The description"),
                    isSaleOrSharing: form.isChecked("saleOrSharing"), lawfulBasis: basis,
                    noticeText: form.optional("noticeText"), noticeURL: form.optional("noticeURL"), effectiveAt: nil))
            return done("/admin/purposes", .requestUpdated)
        } failing: { _, message, status in
            return try await renderPurposes(context, error: message, status: status)
        }
    }

    @Sendable func publishNotice(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        return try await handlingForm(request, context) { form in
            let id = try PurposeID(validating: context.parameters.get("purposeId") ?? "")
            _ = try await services.consents.publishNotice(
                for: id, text: form.optional("noticeText"), url: form.optional("noticeURL"), effectiveAt: nil)
            return done("/admin/purposes", .requestUpdated)
        } failing: { _, message, status in
            return try await renderPurposes(context, error: message, status: status)
        }
    }

    // MARK: Ledger

    @Sendable func ledgerPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireStaff()
        var view = adminFrame("Admin: ledger", context, "/admin/ledger", notice: notice(request))
        if let checkpoint = try await services.ledger.latestCheckpoint() {
            view["checkpoint"] = checkpointView(checkpoint)
        }
        return pages.render("admin-ledger", view)
    }

    /// Verification reads the whole chain (about a second per million entries), so it runs on request.
    @Sendable func verifyLedger(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireStaff()
        let report = try await services.ledger.verify()
        var view = adminFrame("Admin: ledger", context, "/admin/ledger")
        view["verified"] =
            [
                "intact": report.isIntact, "entries": report.entries, "head": Hex.encode(report.head.hash),
                "checkpoints": report.checkpointCount, "firstBad": report.problem.map { String($0.sequence) } ?? "",
                "problem": report.problem?.reason ?? "", "at": Self.date(Date()),
            ] as [String: Any]
        if let checkpoint = report.latestCheckpoint { view["checkpoint"] = checkpointView(checkpoint) }
        return pages.render("admin-ledger", view, status: report.isIntact ? .ok : .conflict)
    }

    @Sendable func signCheckpoint(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        guard try await services.ledger.checkpoint() != nil else {
            throw Problem(.conflict, "ledger-empty", "Nothing to checkpoint", detail: "the ledger has no entries yet")
        }
        return done("/admin/ledger", .checkpointSigned)
    }

    private func checkpointView(_ checkpoint: LedgerCheckpoint) -> [String: Any] {
        [
            "size": checkpoint.size, "head": Hex.encode(checkpoint.headHash),
            "signedAt": Self.date(checkpoint.signedAt), "jws": checkpoint.signature,
        ]
    }

    // MARK: Valuation and keys

    @Sendable func valuationPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireStaff()
        var view = adminFrame("Admin: valuation", context, "/admin/valuation", notice: notice(request))
        let tasks = Dictionary(
            uniqueKeysWithValues: try await services.valuation.repository.tasks().map { ($0.id, $0.name) })
        let now = Date()
        view["jobs"] = try await services.valuation.repository.jobs(limit: 100).map { job -> [String: Any] in
            let percent = (job.progress * 1000).rounded() / 10
            return [
                "id": job.id.lowercasedString, "task": tasks[job.taskID] ?? job.taskID.lowercasedString,
                "status": job.status.rawValue, "percent": String(format: "%.1f", percent),
                "progress": Int(percent.rounded()),
                "eta": job.estimatedRemaining(at: now).map { "\(Int($0.rounded())) s" } ?? "",
                "createdAt": Self.date(job.createdAt), "canCancel": !job.status.isFinal,
                "error": job.error ?? "",
            ]
        }
        view["hasJobs"] = !((view["jobs"] as? [Any])?.isEmpty ?? true)
        return pages.render("admin-valuation", view)
    }

    @Sendable func cancelJob(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireAdmin()
        guard let id = context.parameters.get("jobId").flatMap(UUID.init(uuidString:)),
            let job = try await services.valuation.repository.job(id: id)
        else { throw Problem.notFound }
        guard !job.status.isFinal else { throw ValuationError.jobFinished }
        _ = try await services.valuation.cancel(jobID: id)
        return done("/admin/valuation", .requestUpdated)
    }

    @Sendable func keysPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        _ = try context.requireStaff()
        var view = adminFrame("Admin: keys", context, "/admin/keys")
        view["signingKeys"] = identity.tokens.keyRing.keyStatuses.map { key -> [String: Any] in
            [
                "id": key.keyID, "algorithm": key.algorithm, "createdAt": Self.date(key.createdAt),
                "retiredAt": key.retiredAt.map(Self.date) ?? "", "signing": key.signing,
            ]
        }
        view["masterKey"] = services.settings.masterKey.fingerprint
        let keyEvents = try await identity.authEvents(userID: nil, limit: 1000).filter {
            [.signingKeyCreated, .signingKeyRotated, .masterKeyRotated].contains($0.kind)
        }
        view["rotations"] = [AuthEvent.Kind.signingKeyRotated, .masterKeyRotated, .signingKeyCreated].map { kind in
            [
                "kind": kind == .masterKeyRotated
                    ? "Master key (KEK) rotation"
                    : kind == .signingKeyRotated ? "Signing key rotation" : "Signing key created",
                "at": keyEvents.filter { $0.kind == kind }.map(\.occurredAt).max().map(Self.date) ?? "never",
            ]
        }
        return pages.render("admin-keys", view)
    }
}
