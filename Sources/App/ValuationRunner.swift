import Foundation
import Logging
import ServiceLifecycle
import Valuation

/// Runs queued valuation jobs one at a time. Every replica runs one; a job is claimed under a lease
/// so only one replica runs it, and a replica that dies leaves it to be claimed again once the lease
/// ends. On graceful shutdown the running job goes back to the queue.
struct ValuationRunner: Service {
    let service: ValuationService
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    if try await !service.runNextJob() { try await Task.sleep(for: .seconds(2)) }
                } catch is CancellationError {
                    return
                } catch {
                    logger.warning("valuation runner failed", metadata: ["error": "\(type(of: error))"])
                    try? await Task.sleep(for: .seconds(5))
                }
            }
        }
    }
}
