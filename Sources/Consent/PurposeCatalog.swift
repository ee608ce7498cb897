import Foundation

/// Purposes change rarely and are read on every write, so each process keeps a copy for a short while.
///
/// Replicas share one database, so a copy may lag another replica's admin change by `maximumAge`;
/// an unknown purpose id always triggers a reload, so a new purpose is usable at once everywhere.
actor PurposeCatalog {
    private let repository: any ConsentRepository
    private let maximumAge: Duration
    private var cached: [PurposeID: Purpose] = [:]
    private var loadedAt: ContinuousClock.Instant?
    /// Concurrent callers share one reload instead of each querying the database.
    private var reloading: Task<[PurposeID: Purpose], any Error>?

    init(repository: any ConsentRepository, maximumAge: Duration) {
        self.repository = repository
        self.maximumAge = maximumAge
    }

    func all() async throws -> [PurposeID: Purpose] {
        if let loadedAt, loadedAt.duration(to: .now) < maximumAge { return cached }
        return try await reload()
    }

    /// The purposes named, reloading once if any of them is missing from the copy.
    func purposes(_ ids: some Collection<PurposeID>) async throws -> [PurposeID: Purpose] {
        var purposes = try await all()
        if ids.contains(where: { purposes[$0] == nil }) { purposes = try await store(try await load()) }
        for id in ids where purposes[id] == nil { throw ConsentError.unknownPurpose(id) }
        return purposes
    }

    func invalidate() {
        loadedAt = nil
        reloading = nil
    }

    private func reload() async throws -> [PurposeID: Purpose] {
        if let reloading { return try await reloading.value }
        let task = Task { try await load() }
        reloading = task
        let purposes: [PurposeID: Purpose]
        do {
            purposes = try await task.value
        } catch {
            if reloading == task { reloading = nil }
            throw error
        }
        // An invalidation while loading means the result may predate an admin change: use it, do not keep it.
        guard reloading == task else { return purposes }
        reloading = nil
        return store(purposes)
    }

    private func load() async throws -> [PurposeID: Purpose] {
        Dictionary(uniqueKeysWithValues: try await repository.allPurposes().map { ($0.id, $0) })
    }

    private func store(_ purposes: [PurposeID: Purpose]) -> [PurposeID: Purpose] {
        cached = purposes
        loadedAt = .now
        return purposes
    }
}
