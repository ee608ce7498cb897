import Foundation
import Synchronization

/// Purposes change rarely and are read on every write, so each process keeps a copy for a short while.
///
/// Replicas share one database, so a copy may lag another replica's admin change by `maximumAge`;
/// an unknown purpose id always triggers a reload, so a new purpose is usable at once everywhere.
/// A lock rather than an actor: the fresh-copy path, taken by nearly every request, then needs no hop
/// to another executor.
final class PurposeCatalog: Sendable {
    private struct State {
        var cached: [PurposeID: Purpose] = [:]
        var loadedAt: ContinuousClock.Instant?
        /// Concurrent callers share one reload instead of each querying the database.
        var reloading: Task<[PurposeID: Purpose], any Error>?
        /// Bumped by every invalidation, so a load that started earlier is not kept.
        var generation = 0
    }

    private let repository: any ConsentRepository
    private let maximumAge: Duration
    private let state = Mutex(State())

    init(repository: any ConsentRepository, maximumAge: Duration) {
        self.repository = repository
        self.maximumAge = maximumAge
    }

    func all() async throws -> [PurposeID: Purpose] {
        let fresh = state.withLock { state in
            state.loadedAt.map { $0.duration(to: .now) < maximumAge } == true ? state.cached : nil
        }
        if let fresh { return fresh }
        return try await reload()
    }

    /// The purposes named, reloading once if any of them is missing from the copy.
    func purposes(_ ids: some Collection<PurposeID>) async throws -> [PurposeID: Purpose] {
        var purposes = try await all()
        if ids.contains(where: { purposes[$0] == nil }) {
            invalidate()
            purposes = try await reload()
        }
        for id in ids where purposes[id] == nil { throw ConsentError.unknownPurpose(id) }
        return purposes
    }

    func invalidate() {
        state.withLock { state in
            state.loadedAt = nil
            state.reloading = nil
            state.generation += 1
        }
    }

    private func reload() async throws -> [PurposeID: Purpose] {
        let (task, generation) = state.withLock { state in
            if let reloading = state.reloading { return (reloading, state.generation) }
            let task = Task { [repository] in
                Dictionary(uniqueKeysWithValues: try await repository.allPurposes().map { ($0.id, $0) })
            }
            state.reloading = task
            return (task, state.generation)
        }
        do {
            let purposes = try await task.value
            state.withLock { state in
                // A load that began before an invalidation may predate an admin change: use it, do not keep it.
                guard state.generation == generation else { return }
                state.cached = purposes
                state.loadedAt = .now
                state.reloading = nil
            }
            return purposes
        } catch {
            state.withLock { state in if state.generation == generation { state.reloading = nil } }
            throw error
        }
    }
}
