import Glibc
import PaneApp
import Testing

/// `pane` keeps freed memory for the next batch instead of returning it to the kernel
/// (``MemoryRuntime/keepFreedMemory()``): a block freed and allocated again is not faulted in
/// again. With glibc's defaults a 24 MiB block gets a mapping of its own, unmapped when freed, and
/// the next one is faulted in afresh, page by page (6,144 faults in a fresh process).
@Suite struct MemoryRuntimeTests {
    /// This thread's minor page faults so far (`RUSAGE_THREAD`, 1: other tests' threads do not count).
    static func faults() -> Int {
        var usage = rusage()
        _ = getrusage(__rusage_who_t(1), &usage)
        return usage.ru_minflt
    }

    @Test func aFreedBlockIsReusedWithoutPageFaults() {
        #expect(MemoryRuntime.keepFreedMemory(), "glibc refused the settings")
        let size = 24 << 20
        var seen: [UInt8] = []
        var refaulted: [Int] = []
        for round in 0..<2 {
            guard let block = malloc(size) else {
                Issue.record("malloc failed")
                return
            }
            let before = Self.faults()
            memset(block, Int32(round + 1), size)
            refaulted.append(Self.faults() - before)
            seen.append(block.load(fromByteOffset: size - 1, as: UInt8.self))
            free(block)
        }
        #expect(seen == [1, 2])
        // The first block may be fresh memory; the second reuses it. A page is 4 KiB: 6,144 in 24 MiB.
        #expect(refaulted[1] < 600, "the second block took \(refaulted[1]) page faults (the first \(refaulted[0]))")
    }
}
