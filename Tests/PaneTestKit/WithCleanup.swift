/// Runs `body`, then `cleanup` whether or not `body` threw (a `defer` that may await). The
/// body's error comes first, then the cleanup's.
public func withCleanup<T>(_ body: () async throws -> T, cleanup: () async throws -> Void) async throws -> T {
    let outcome: Result<T, any Error>
    do {
        outcome = .success(try await body())
    } catch {
        outcome = .failure(error)
    }
    let cleaned: Result<Void, any Error>
    do {
        cleaned = .success(try await cleanup())
    } catch {
        cleaned = .failure(error)
    }
    let value = try outcome.get()
    try cleaned.get()
    return value
}
