import Hummingbird

/// `/v1` is the only API version: a path under any other `/v<digits>/` gets a 404 problem that says so,
/// rather than the generic one.
struct APIVersionMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        let path = request.uri.path.utf8
        if path.count > 3, path.starts(with: "/v".utf8) {
            let version = path.dropFirst(2).prefix { $0 != UInt8(ascii: "/") }
            if !version.isEmpty, version.allSatisfy({ (0x30...0x39).contains($0) }), !version.elementsEqual("1".utf8) {
                throw Problem(
                    .notFound, "unknown-api-version", "Unknown API version",
                    detail: "this server serves version 1 of the API, under /v1")
            }
        }
        return try await next(request, context)
    }
}
