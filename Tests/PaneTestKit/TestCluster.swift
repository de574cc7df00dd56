import Foundation
import PaneApp
import PaneRuntime

/// A private six-node Redis Cluster (``PaneApp/RedisClusterProcess``) for one test, started and
/// stopped on threads of their own (starting takes seconds, stopping too: never on the
/// cooperative pool), its folder deleted afterwards, also when the body throws.
public enum TestCluster {
    public static func with<T>(_ name: String, _ body: (RedisClusterProcess, String) async throws -> T) async throws -> T {
        let folder = try TestEnv.directory(name)
        let cluster = try await BlockingThread.value(name: "cluster-start") { try RedisClusterProcess(directory: folder) }
        return try await withCleanup {
            try await body(cluster, folder)
        } cleanup: {
            await BlockingThread.run(name: "cluster-stop") {
                cluster.stop()
                try? FileManager.default.removeItem(atPath: folder)
            }
        }
    }
}
