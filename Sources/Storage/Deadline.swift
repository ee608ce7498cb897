/// Runs `operation`, giving up with ``StorageError/unavailable`` once `timeout` has passed.
///
/// A database that is down makes a connection pool wait for a connection indefinitely; a
/// deadline turns that wait into a prompt 503 for the caller.
func withDeadline<T: Sendable>(
    _ timeout: Duration, _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw StorageError.unavailable }
        guard let value = first else { throw StorageError.unavailable }
        return value
    }
}
