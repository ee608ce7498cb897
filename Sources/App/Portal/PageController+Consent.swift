import Consent
import Foundation
import HTTPTypes
import Hummingbird
import Kernel
import NIOCore
import PQCrypto

/// The consent dashboard: every purpose under its current notice with a toggle, the browser's Global
/// Privacy Control signal, and the history of decisions with their signed receipts.
extension PageController {
    func addConsentRoutes(to routes: RouteCollection<AppRequestContext>) {
        routes.get("/my/consent", use: consentPage)
        routes.post("/my/consent", use: decide)
        routes.get("/my/receipts/:eventId", use: receipt)
        routes.post("/my/consent/visitor", use: takeOverVisitor)
    }

    /// How many decisions the timeline shows, newest first.
    static let timelineLength = 100

    @Sendable func consentPage(_ request: Request, context: AppRequestContext) async throws -> Response {
        let older = try request.uri.queryParameters.get("older").map { try CursorCoding.decode(String($0)) }
        return try await renderConsent(request, context, notice: notice(request), older: older)
    }

    @Sendable func decide(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return try await handlingForm(request, context) { form in
            let purpose = try PurposeID(validating: form.required("purpose", label: "The purpose"))
            guard let decision = form["decision"].flatMap(Decision.init(rawValue:)) else {
                throw Problem.invalid("the decision must be granted or withdrawn")
            }
            _ = try await services.consentWriting.record(
                [DecisionRequest(purposeID: purpose, decision: decision, method: .explicit)],
                for: try SubjectID(validating: user.subjectID), actor: user.subjectID,
                origin: context.consentOrigin(request), claim: nil)
            return done("/my/consent", .consentSaved)
        } failing: { _, message, status in
            return try await renderConsent(request, context, error: message, status: status)
        }
    }

    /// The person's answer to the offer to take over the website visitor their browser brought along.
    @Sendable func takeOverVisitor(_ request: Request, context: AppRequestContext) async throws -> Response {
        let user = try context.requireUser()
        return try await handlingForm(request, context) { form in
            let clear = [WebCookie.clear(WebCookie.visitor)]
            guard form["answer"] == "link", let token = request.cookies[WebCookie.visitor]?.value else {
                return seeOther("/my/consent?done=\(PageNotice.visitorDeclined.rawValue)", cookies: clear)
            }
            _ = try await services.properties.link(token, to: user, client: context.client(request))
            return seeOther("/my/consent?done=\(PageNotice.visitorLinked.rawValue)#website-decisions", cookies: clear)
        } failing: { _, _, _ in
            seeOther(
                "/my/consent?done=\(PageNotice.visitorNotLinked.rawValue)",
                cookies: [WebCookie.clear(WebCookie.visitor)])
        }
    }

    @Sendable func receipt(_ request: Request, context: AppRequestContext) async throws -> Response {
        try await Response.receipt(services: services, request: request, context: context)
    }

    private func renderConsent(
        _ request: Request, _ context: AppRequestContext, notice: String? = nil, error: String? = nil,
        status: HTTPResponse.Status = .ok, older: HistoryCursor? = nil
    ) async throws -> Response {
        let user = try context.requireUser()
        let subject = try SubjectID(validating: user.subjectID)
        let purposes = Dictionary(uniqueKeysWithValues: try await services.consents.purposes().map { ($0.id, $0) })
        let now = Date()
        let states = try await services.consents.currentState(of: subject).compactMap {
            state -> [String: Any]? in
            guard let purpose = purposes[state.purposeID] else { return nil }
            let notice = purpose.currentNotice(at: now)
            var view: [String: Any] = [
                "id": purpose.id.rawValue, "title": purpose.title, "description": purpose.description,
                "basis": purpose.lawfulBasis.rawValue.replacingOccurrences(of: "_", with: " "),
                "noticeVersion": notice.version, "granted": state.isGranted, "needsReconsent": state.needsReconsent,
                "saleOrSharing": purpose.isSaleOrSharing,
                "toggle": state.isGranted && !state.needsReconsent ? "withdrawn" : "granted",
                "toggleLabel": state.isGranted && !state.needsReconsent ? "Withdraw" : "Grant",
            ]
            if let text = notice.text { view["noticeText"] = text }
            if let url = notice.url, url.hasPrefix("https://") { view["noticeURL"] = url }
            if let latest = state.latest { view["since"] = Self.date(latest.recordedAt) }
            return view
        }
        var view = PageFrame(
            title: "Consent", context: context, section: "/my/consent", notice: notice, error: error
        ).values
        view["purposes"] = states
        view["gpc"] = request.headers[.secGPC] == "1"
        let history = try await services.consents.history(of: subject, after: older, limit: Self.timelineLength)
        view["olderPage"] = history.next.map { "/my/consent?older=" + CursorCoding.encode($0) + "#timeline" }
        view["isOlderPage"] = older != nil
        view["timeline"] = history.events.map { Self.timelineItem($0, titles: purposes) }
        view["hasTimeline"] = !history.events.isEmpty
        let websites = try await services.properties.websiteHistory(of: user.userID, limit: Self.timelineLength)
        view["websiteDecisions"] = websites.map { Self.timelineItem($0, titles: purposes) }
        view["hasWebsiteDecisions"] = !websites.isEmpty
        // Shown, so the person recognises their own choices before taking them over.
        if let token = request.cookies[WebCookie.visitor]?.value,
            let offered = try await services.properties.offer(token, to: user.userID, limit: 10)
        {
            view["hasVisitorOffer"] = true
            view["visitorOffer"] = offered.map { Self.timelineItem($0, titles: purposes) }
        }
        return pages.render("consent", view, status: status)
    }

    private static func timelineItem(_ event: ConsentEvent, titles: [PurposeID: Purpose]) -> [String: Any] {
        [
            "id": event.id.lowercasedString, "at": date(event.recordedAt),
            "purpose": titles[event.purposeID]?.title ?? event.purposeID.rawValue,
            "granted": event.decision == .granted, "decision": event.decision.rawValue,
            "method": event.method.rawValue, "noticeVersion": event.noticeVersion,
            "sequence": event.ledgerSequence.map(String.init) ?? "",
        ]
    }
}
