public import Logging
public import ServiceLifecycle

/// Work that repeats inside a server for as long as it runs: each step says how long to wait before
/// the next. A failed step is logged by its error's type only (its text could carry database details)
/// and retried after `retryDelay`. Graceful shutdown cancels the wait or the step under way.
public struct BackgroundLoop: Service {
    public let name: String
    public let initialDelay: Duration
    public let retryDelay: Duration
    public let logger: Logger
    let step: @Sendable () async throws -> Duration

    public init(
        name: String, initialDelay: Duration, retryDelay: Duration, logger: Logger,
        step: @escaping @Sendable () async throws -> Duration
    ) {
        self.name = name
        self.initialDelay = initialDelay
        self.retryDelay = retryDelay
        self.logger = logger
        self.step = step
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var wait = initialDelay
            while !Task.isCancelled {
                do {
                    if wait > .zero { try await Task.sleep(for: wait) }
                    wait = try await step()
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("\(name) failed", metadata: ["error": "\(type(of: error))"])
                    wait = retryDelay
                }
            }
        }
    }
}
