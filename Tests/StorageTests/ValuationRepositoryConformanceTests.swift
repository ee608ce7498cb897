import Foundation
import QSPPTestSupport
import Synchronization
import Testing
import Valuation

@testable import Storage

@Suite("ValuationRepository conformance")
struct ValuationRepositoryConformanceTests {
    /// Who grants what, as a test sets it.
    final class Standings: Sendable {
        private let state = Mutex<[String: SubjectStanding]>([:])
        func set(_ subject: String, granted: Set<String>, restricted: Bool = false) {
            state.withLock { $0[subject] = SubjectStanding(grantedPurposes: granted, restricted: restricted) }
        }
        func standing(_ subject: String) -> SubjectStanding {
            state.withLock { $0[subject] } ?? SubjectStanding(grantedPurposes: [], restricted: false)
        }
    }

    static func record(
        _ subject: String, x: Double, y: Double, label: String, purpose: String = "analytics"
    ) -> DataRecord {
        DataRecord(
            subjectID: subject, category: "measurements", purposeID: purpose,
            content: .init(
                attributes: ["x": .number(x), "y": .number(y), "kind": .text(label)], label: nil,
                source: "sensor-\(label)"),
            recordedAt: Date().addingTimeInterval(-86_400))
    }

    static func task(k: Int = 3, method: MethodName = .knnShapley) -> ValuationTask {
        ValuationTask(
            name: "two clusters", category: "measurements", features: ["x", "y"], label: "kind",
            validation: [
                ValidationPoint(features: ["x": 0, "y": 0], label: "a"),
                ValidationPoint(features: ["x": 5, "y": 5], label: "b"),
                ValidationPoint(features: ["x": 0.5, "y": 0.2], label: "a"),
            ],
            method: MethodSpec(name: method, k: k, maximumSamples: 200), payoutPool: 100, createdBy: "admin")
    }

    /// Three records of three people who granted nothing, and a queued job over them.
    static func queuedJobNobodyConsentedTo(_ store: any Store) async throws -> (ValuationService, ValuationJob) {
        let service = ValuationService(repository: store.valuation) { _ in
            .init(grantedPurposes: [], restricted: false)
        }
        for x in [0.0, 1, 2] { try await service.store(Self.record("s-\(UUID())", x: x, y: x, label: "a")) }
        let task = try await service.createTask(Self.task())
        return (service, try await service.createJob(taskID: task.id))
    }

    @Test("records are sealed at rest, read back whole, and deleted only by their subject", arguments: Backend.all)
    func recordsRoundTrip(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let subject = UUID().uuidString.lowercased()
            let record = Self.record(subject, x: 1.25, y: -3, label: "secret-label-value")
            try await store.valuation.insertRecord(record)
            let read = try await store.valuation.records(subjectID: subject)
            #expect(read.count == 1)
            let header = try #require(read.first?.record)
            #expect(header.id == record.id && header.subjectID == subject && header.purposeID == "analytics")
            #expect(abs(header.recordedAt.timeIntervalSince(record.recordedAt)) < 0.001)
            #expect(read.first?.content == record.content)
            let raw = try await EncryptionAtRestTests.rawRows(store, backend: backend).joined()
            #expect(!raw.contains("secret-label-value"))
            #expect(!raw.contains("sensor-"))
            #expect(!raw.contains("1.25"))
            #expect(try await store.valuation.countRecords(category: "measurements") == 1)
            #expect(try await !store.valuation.deleteRecord(id: record.id, subjectID: "someone-else"))
            #expect(try await store.valuation.deleteRecord(id: record.id, subjectID: subject))
            #expect(try await store.valuation.records(subjectID: subject).isEmpty)
        }
    }

    @Test("a job values consented records, excludes the rest with reasons, and splits the pool", arguments: Backend.all)
    func jobsRunAndGateOnConsent(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let standings = Standings()
            let service = ValuationService(repository: store.valuation) { standings.standing($0) }
            let alice = "alice-\(UUID())"
            let bob = "bob-\(UUID())"
            let carol = "carol-\(UUID())"
            standings.set(alice, granted: ["analytics"])
            standings.set(bob, granted: ["analytics"])
            standings.set(carol, granted: ["analytics"], restricted: true)
            for (x, label) in [(0.1, "a"), (0.2, "a"), (4.9, "b")] {
                try await service.store(Self.record(alice, x: x, y: x, label: label))
            }
            for (x, label) in [(5.1, "b"), (0.3, "b"), (5.5, "b")] {
                try await service.store(Self.record(bob, x: x, y: x, label: label))
            }
            try await service.store(Self.record(carol, x: 0, y: 0, label: "a"))
            try await service.store(Self.record(alice, x: 1, y: 1, label: "a", purpose: "marketing"))

            let task = try await service.createTask(Self.task())
            let job = try await service.createJob(taskID: task.id)
            #expect(try await service.runNextJob(id: job.id))
            let done = try #require(try await store.valuation.job(id: job.id))
            #expect(done.status == .completed, "\(done.error ?? "")")
            let summary = try #require(done.summary)
            #expect(summary.recordsCounted == 6)
            #expect(summary.recordsExcluded == ["restricted": 1, "no_consent": 1])
            #expect(summary.subjects == 2)

            let shares = try await store.valuation.shares(jobID: job.id, limit: 10)
            let aliceShare = try #require(shares.first { $0.subjectID == alice })
            let bobShare = try #require(shares.first { $0.subjectID == bob })
            #expect(aliceShare.records == 3 && aliceShare.excluded == 1)
            #expect(aliceShare.value > bobShare.value)
            let payouts = shares.compactMap { $0.payout(pool: 100, totalPositive: summary.totalPositiveValue) }
            #expect(abs(payouts.reduce(0, +) - 100) < 1e-9)

            // Alice withdraws: the next run leaves her records out and says why.
            standings.set(alice, granted: [])
            let rerun = try await service.createJob(taskID: task.id)
            try await service.runNextJob(id: rerun.id)
            #expect(try await store.valuation.job(id: rerun.id)?.status == .completed)
            let latest = try await store.valuation.latestValues(subjectID: alice)
            #expect(latest.count == 1)
            #expect(latest.first?.job.id == rerun.id)
            #expect(latest.first?.values.allSatisfy { $0.value == nil && $0.excluded == .noConsent } == true)
            #expect(
                try await store.valuation.shares(jobID: rerun.id, limit: 10).first { $0.subjectID == alice }?.records
                    == 0)
        }
    }

    @Test(
        "K above the number of records, and an empty dataset, are refused before a job is queued",
        arguments: Backend.all)
    func impossibleJobsAreRefused(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let service = ValuationService(repository: store.valuation) { _ in
                .init(grantedPurposes: [], restricted: false)
            }
            let task = try await service.createTask(Self.task(k: 2))
            await #expect(throws: ValuationError.emptyDataset) { try await service.createJob(taskID: task.id) }
            try await service.store(Self.record("s-\(UUID())", x: 0, y: 0, label: "a"))
            await #expect(throws: ValuationError.neighbours(2, count: 1)) {
                try await service.createJob(taskID: task.id)
            }
            await #expect(throws: ValuationError.taskNotFound) { try await service.createJob(taskID: UUID()) }
        }
    }

    @Test("a job fails with its reason when no record is counted", arguments: Backend.all)
    func jobsFailWithAReason(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let (service, job) = try await Self.queuedJobNobodyConsentedTo(store)
            try await service.runNextJob(id: job.id)
            let failed = try #require(try await store.valuation.job(id: job.id))
            #expect(failed.status == .failed)
            #expect(failed.error?.contains("no record") == true)
        }
    }

    @Test(
        "one runner claims a job; a dead runner's job is claimed again once its lease ends; cancel stops it",
        arguments: Backend.all)
    func claimsLeasesAndCancellation(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let (service, job) = try await Self.queuedJobNobodyConsentedTo(store)
            let now = Date()
            let claims = try await withThrowingTaskGroup(of: ValuationJob?.self) { group in
                for _ in 0..<4 {
                    group.addTask {
                        try await store.valuation.claimJob(id: nil, leaseUntil: now.addingTimeInterval(60), now: now)
                    }
                }
                return try await group.reduce(into: [ValuationJob]()) { if let job = $1 { $0.append(job) } }
            }
            #expect(claims.map(\.id) == [job.id])
            #expect(
                try await store.valuation.claimJob(id: nil, leaseUntil: now.addingTimeInterval(60), now: now) == nil)
            // The runner "dies": after the lease, another takes the job over.
            let later = now.addingTimeInterval(61)
            let reclaimed = try await store.valuation.claimJob(
                id: nil, leaseUntil: later.addingTimeInterval(60), now: later)
            #expect(reclaimed?.id == job.id && reclaimed?.attempts == 2)
            #expect(
                try await !store.valuation.reportProgress(
                    jobID: job.id, progress: 0.5, leaseUntil: later.addingTimeInterval(60)))
            _ = try await service.cancel(jobID: job.id)
            #expect(
                try await store.valuation.reportProgress(
                    jobID: job.id, progress: 0.6, leaseUntil: later.addingTimeInterval(60)))
            #expect(try await store.valuation.job(id: job.id)?.progress == 0.6)

            let queued = try await service.createJob(taskID: job.taskID)
            #expect(try await service.cancel(jobID: queued.id).status == .cancelled)
            #expect(try await !service.runNextJob(id: queued.id))
        }
    }

    @Test(
        "a running job stops when cancelled, and goes back to the queue when its runner shuts down",
        arguments: Backend.all)
    func runningJobsStop(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let service = ValuationService(repository: store.valuation) { _ in
                .init(grantedPurposes: ["analytics"], restricted: false)
            }
            for index in 0..<400 {
                let x = Double(index % 40)
                try await service.store(Self.record("s-\(index % 7)", x: x, y: -x, label: index % 3 == 0 ? "a" : "b"))
            }
            // TMC-Shapley asked for an error no budget reaches: it runs until stopped.
            let slow = ValuationTask(
                name: "endless", category: "measurements", features: ["x", "y"], label: "kind",
                validation: Self.task().validation,
                method: MethodSpec(
                    name: .tmcShapley, k: 3, errorTolerance: 1e-9, truncationTolerance: 0, maximumSamples: 100_000),
                payoutPool: nil, createdBy: "admin")
            let task = try await service.createTask(slow)

            func runUntilRunning(_ job: ValuationJob) async throws -> Task<Bool, any Error> {
                let runner = Task { try await service.runNextJob(id: job.id) }
                for _ in 0..<100 where try await store.valuation.job(id: job.id)?.status != .running {
                    try await Task.sleep(for: .milliseconds(50))
                }
                #expect(try await store.valuation.job(id: job.id)?.status == .running)
                return runner
            }

            let cancelled = try await service.createJob(taskID: task.id)
            let first = try await runUntilRunning(cancelled)
            _ = try await service.cancel(jobID: cancelled.id)
            #expect(try await first.value)
            let stopped = try #require(try await store.valuation.job(id: cancelled.id))
            #expect(
                stopped.status == .cancelled && stopped.error == "cancelled",
                "\(stopped.status) \(stopped.error ?? "") \(String(describing: stopped.summary))")

            let interrupted = try await service.createJob(taskID: task.id)
            let second = try await runUntilRunning(interrupted)
            second.cancel()
            _ = try? await second.value
            let requeued = try #require(try await store.valuation.job(id: interrupted.id))
            #expect(requeued.status == .queued && requeued.attempts == 0)
        }
    }

    @Test("erasure deletes the subject's records and values", arguments: Backend.all)
    func erasureRemovesRecords(backend: Backend) async throws {
        try await withIsolatedStore(backend) { store in
            let subject = UUID().uuidString.lowercased()
            let standings = Standings()
            standings.set(subject, granted: ["analytics"])
            let service = ValuationService(repository: store.valuation) { standings.standing($0) }
            for x in [0.0, 1, 5] { try await service.store(Self.record(subject, x: x, y: x, label: x > 2 ? "b" : "a")) }
            let job = try await service.createJob(taskID: try await service.createTask(Self.task()).id)
            try await service.runNextJob(id: job.id)
            #expect(try await store.valuation.latestValues(subjectID: subject).first?.values.count == 3)
            _ = try await store.erasures.shred(subject: subject, requestID: nil, at: Date())
            #expect(try await store.valuation.records(subjectID: subject).isEmpty)
            #expect(try await store.valuation.latestValues(subjectID: subject).isEmpty)
            #expect(try await store.sql.select("SELECT record_id FROM valuation_values", []).isEmpty)
        }
    }
}
