import Dispatch
import Foundation
import Synchronization

/// Progress and cancellation shared between a computation, which runs on its own threads so it never
/// holds the server's event loops or Swift's cooperative pool, and whoever waits for it.
public final class ComputeControl: Sendable {
    private let partsPerMillion = Atomic<Int>(0)
    private let cancelled = Atomic<Bool>(false)
    private let finishedUnits = Atomic<Int>(0)

    public init() {}

    public var progress: Double { Double(partsPerMillion.load(ordering: .relaxed)) / 1_000_000 }
    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    public func cancel() { cancelled.store(true, ordering: .relaxed) }

    func report(_ fraction: Double) {
        partsPerMillion.store(Int(min(max(fraction, 0), 1) * 1_000_000), ordering: .relaxed)
    }

    /// Counts one more finished unit out of `total` and reports the fraction.
    func finishUnit(of total: Int) {
        let done = finishedUnits.wrappingAdd(1, ordering: .relaxed).newValue
        report(Double(done) / Double(total))
    }

    func checkCancellation() throws {
        if isCancelled { throw CancellationError() }
    }

    /// Runs `work` on a thread of its own and waits for it without blocking a Swift task thread.
    /// Not on a Dispatch queue: on Linux, Swift's cooperative pool draws on Dispatch's threads, and a
    /// long computation there starves every task of the process, requests included.
    public static func offload<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    /// Runs `work(lane)` for every lane, lane 0 on the calling thread and the others on threads of
    /// their own (for the reason ``offload(_:)`` gives), and returns when all have finished.
    static func onOwnThreads(_ lanes: Int, _ work: @escaping @Sendable (Int) -> Void) {
        let finished = DispatchSemaphore(value: 0)
        for lane in 1..<max(lanes, 1) {
            Thread {
                work(lane)
                finished.signal()
            }.start()
        }
        work(0)
        for _ in 1..<max(lanes, 1) { finished.wait() }
    }
}
