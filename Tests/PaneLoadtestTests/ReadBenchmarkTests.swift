import Foundation
import Testing

@testable import PaneLoadtest

@Suite struct ReadBenchmarkTests {
    static let wrkOutput = """
        Running 5s test @ http://127.0.0.1:4100/healthz
          1 threads and 16 connections
          Thread Stats   Avg      Stdev     Max   +/- Stdev
            Latency   477.91us  310.49us   8.95ms   93.11%
            Req/Sec    33.91k     2.50k   37.13k    78.00%
          Latency Distribution
             50%  420.00us
             75%  520.00us
             90%  650.00us
             99%    1.71ms
          168749 requests in 5.00s, 24.62MB read
        Requests/sec:  33745.10
        Transfer/sec:      4.92MB
        """

    @Test func readsRateAndPercentiles() throws {
        let result = try #require(ReadBenchmark.parseWrk(Self.wrkOutput))
        #expect(result.rate == 33745.10)
        #expect(abs(result.p50Ms - 0.42) < 1e-9)
        #expect(abs(result.p99Ms - 1.71) < 1e-9)
        #expect(result.requests == 168_749)
    }

    /// Errors in the answers make the run unusable: a rate of 404s would look fast.
    @Test func refusesARunWithErrorAnswers() {
        let failed = Self.wrkOutput.replacingOccurrences(
            of: "Requests/sec:", with: "Non-2xx or 3xx responses: 168749\nRequests/sec:")
        #expect(ReadBenchmark.parseWrk(failed) == nil)
        #expect(ReadBenchmark.parseWrk("connection refused") == nil)
    }

    @Test func units() {
        #expect(abs((ReadBenchmark.milliseconds("612.00us") ?? 0) - 0.612) < 1e-9)
        #expect(abs((ReadBenchmark.milliseconds("1.20ms") ?? 0) - 1.2) < 1e-9)
        #expect(abs((ReadBenchmark.milliseconds("2.00s") ?? 0) - 2000) < 1e-9)
        #expect(ReadBenchmark.milliseconds("fast") == nil)
    }
}
