import Foundation
import Hummingbird
import Identity
import Privacy

/// My data: the export, requests under the GDPR and the CCPA (erasure behind a confirmation step),
/// rectification of the profile, restriction and objection, and each request's status and due date.
extension PageController {
    func addDataRoutes(to routes: RouteCollection<AppRequestContext>) {
        routes.get("/my/data", use: dataPage)
        routes.get("/my/data/export", use: exportData)
        routes.post("/my/data/requests", use: fileRequest)
        routes.post("/my/data/profile", use: rectify)
    }

    static let requestLabels: [RequestKind: String] = [
        .access: "Access (GDPR Art. 15)", .portability: "Portability (GDPR Art. 20)",
        .erasure: "Erasure (GDPR Art. 17)", .rectification: "Rectification (GDPR Art. 16)",
        .restriction: "Restriction of processing (GDPR Art. 18)", .objection: "Objection (GDPR Art. 21)",
        .know: "Right to know (CCPA)", .delete: "Right to delete (CCPA)", .correct: "Right to correct (CCPA)",
        .optOut: "Opt out of sale or sharing (CCPA)",
    ]

    @Sendable func dataPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await renderData(context, notice: notice(request))
    }

    @Sendable func exportData(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        try await identity.requireConfirmedEmail(user.userID)
        return try Response.download(try await services.exports.archive(of: user.userID, encryptTo: nil))
    }

    @Sendable func fileRequest(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return try await handlingForm(request, context) { form in
            guard let kind = form["kind"].flatMap(RequestKind.init(rawValue:)) else {
                throw Problem.invalid("choose the kind of request")
            }
            if kind == .erasure || kind == .delete, form["confirm"] != "erase" {
                var view = PageFrame(title: "My data", context: context, section: "/my/data").values
                view["kind"] = kind.rawValue
                view["kindLabel"] = Self.requestLabels[kind]
                return pages.render("confirm-erasure", view)
            }
            _ = try await services.privacy.file(kind, for: user.userID, by: user.userID)
            return done("/my/data", .requestFiled)
        } failing: { _, message, status in
            return try await renderData(context, error: message, status: status)
        }
    }

    @Sendable func rectify(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return try await handlingForm(request, context) { form in
            let rectified = try await services.restrictedWrites.rectifyOwn(
                user, email: form.optional("email"), displayName: form.optional("displayName"),
                currentPassword: form.optional("currentPassword"), locale: form.optional("locale"),
                client: context.client(request))
            return done("/my/data", rectified.emailChangeMailed ? .emailChangeMailed : .profileSaved)
        } failing: { _, message, status in
            return try await renderData(context, error: message, status: status)
        }
    }

    static let accessLabels: [StaffAccess.Action: String] = [
        .consentState: "read your consent choices", .consentHistory: "read your consent history",
        .receipt: "read a consent receipt", .sessions: "read your sessions", .export: "exported your data",
    ]

    func renderData(
        _ context: AppRequestContext, notice: String? = nil, error: String? = nil, status: HTTPResponse.Status = .ok
    ) async throws -> Response {
        let user = try context.requireUser()
        guard let account = try await identity.account(id: user.userID) else { throw Problem.notFound }
        var view = PageFrame(title: "My data", context: context, section: "/my/data", notice: notice, error: error)
            .values
        view["email"] = account.email.normalized
        view["unconfirmed"] = account.emailVerifiedAt == nil
        view["languages"] = [("en", "English"), ("de", "Deutsch")].map { code, name in
            ["code": code, "name": name, "selected": (account.locale ?? "en") == code] as [String: Any]
        }
        view["displayName"] = account.displayName ?? ""
        if let since = try await services.restrictions.restrictedSince(user.subjectID) {
            view["restrictedSince"] = Self.date(since)
        }
        let now = Date()
        view["requests"] = try await services.privacy.requests(of: user.userID).map { filed -> [String: Any] in
            [
                "kind": Self.requestLabels[filed.kind] ?? filed.kind.rawValue,
                "status": filed.status.rawValue.replacingOccurrences(of: "_", with: " "),
                "receivedAt": Self.date(filed.receivedAt), "dueAt": Self.date(filed.dueAt),
                "overdue": filed.isOverdue(at: now), "reason": filed.rejectionReason ?? filed.extensionReason ?? "",
            ]
        }
        view["kinds"] = RequestKind.allCases.filter { $0 != .erasure && $0 != .delete }.map {
            ["value": $0.rawValue, "label": Self.requestLabels[$0] ?? $0.rawValue]
        }
        view["hasRequests"] = !((view["requests"] as? [Any])?.isEmpty ?? true)
        let accesses = try await services.privacy.staffAccesses(to: user.subjectID)
        view["accesses"] = accesses.map { access -> [String: Any] in
            [
                "at": Self.date(access.at), "staff": access.staff.lowercasedString,
                "action": Self.accessLabels[access.action] ?? access.action.rawValue,
                "why": {
                    switch access.purpose {
                    case .request(let id): "your request \(id.lowercasedString.prefix(8))"
                    case .reason(let reason): reason
                    }
                }(),
            ]
        }
        view["hasAccesses"] = !accesses.isEmpty
        return pages.render("data", view, status: status)
    }
}
