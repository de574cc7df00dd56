#if canImport(Glibc)
    import Glibc

    /// glibc's `int mallopt(int param, int value)` (`<malloc.h>`, which the Glibc module leaves out).
    @_silgen_name("mallopt")
    private func glibcMallopt(_ parameter: Int32, _ value: Int32) -> Int32
#endif

/// How the `pane` processes' C allocator (glibc's malloc) keeps memory it was handed back.
public enum MemoryRuntime {
    /// The most freed memory at the top of a heap that malloc keeps instead of returning it to
    /// the kernel (`M_TRIM_THRESHOLD`): 64 MiB.
    public static let trimThresholdBytes: Int32 = 64 << 20
    /// Blocks at least this large get a mapping of their own (`M_MMAP_THRESHOLD`): 32 MiB,
    /// glibc's largest. Setting the trim threshold stops glibc from adjusting this one as it
    /// goes, so it is set too (its default of 128 KiB would map, and fault in, every block from
    /// 128 KiB up on each use).
    public static let mmapThresholdBytes: Int32 = 32 << 20

    /// Keeps freed memory for reuse instead of handing it back to the kernel and faulting it in
    /// again, zeroed, on the next batch: a spoke's worker allocates and frees about the same
    /// memory on every wake-up, and with glibc's defaults 7% of its CPU in `steady` went to page
    /// faults of fresh memory (docs/benchmarks.md). Call once, at process start. Returns whether
    /// glibc accepted both settings (always `false` where malloc is not glibc's).
    @discardableResult
    public static func keepFreedMemory() -> Bool {
        #if canImport(Glibc)
            // M_TRIM_THRESHOLD is -1 and M_MMAP_THRESHOLD -3 in <malloc.h>.
            let trim = glibcMallopt(-1, trimThresholdBytes)
            let mmap = glibcMallopt(-3, mmapThresholdBytes)
            return trim == 1 && mmap == 1
        #else
            return false
        #endif
    }
}
