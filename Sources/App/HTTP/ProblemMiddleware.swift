import Hummingbird
import Logging

/// Turns every thrown error into a problem response (an error page for a browser's page request), so nothing escapes as a bare 500 or leaks its text.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch {
            let problem: Problem
            if let known = Problem.from(error) {
                problem = known
            } else {
                // The type names the bug for operators; the message may carry data, so it is not logged.
                context.logger.error("unhandled error", metadata: ["error.type": "\(type(of: error))"])
                problem = .internalError
            }
            // A browser that fails before reaching a page (a rate limit, say) gets an HTML page too.
            if PortalPages.wantsPage(request) { return try PortalPages.bundled.errorPage(problem, context: context) }
            return try problem.response(from: request, context: context)
        }
    }
}
