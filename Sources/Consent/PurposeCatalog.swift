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
        if ids.contains(where: { purposes[$0] == nil }), loadedAt.map({ $0.duration(to: .now) > .zero }) ?? true {
            purposes = try await reload()
        }
        for id in ids where purposes[id] == nil { throw ConsentError.unknownPurpose(id) }
        return purposes
    }

    func invalidate() { loadedAt = nil }

    private func reload() async throws -> [PurposeID: Purpose] {
        let purposes = try await repository.allPurposes()
        cached = Dictionary(uniqueKeysWithValues: purposes.map { ($0.id, $0) })
        loadedAt = .now
        return cached
    }
}
