import Glibc
import PaneApp
import Testing

/// `pane` keeps freed memory for the next batch instead of returning it to the kernel
/// (``MemoryRuntime/keepFreedMemory()``): a block below the raised mmap threshold comes from the
/// heap, and once freed it stays with the process.
@Suite struct MemoryRuntimeTests {
    @Test func aFreedBlockStaysWithTheProcess() {
        #expect(MemoryRuntime.keepFreedMemory(), "glibc refused the settings")
        // 24 MiB: above glibc's default mmap threshold (128 KiB, raised as it goes to at most
        // 32 MiB), below the one set here; and below the trim threshold set here.
        let size = 24 << 20
        let before = mallinfo2()
        guard let block = malloc(size) else {
            Issue.record("malloc failed")
            return
        }
        memset(block, 1, size)
        let allocated = mallinfo2()
        #expect(allocated.hblkhd < before.hblkhd + size, "the block got a mapping of its own: \(allocated.hblkhd) bytes mapped")
        free(block)
        let freed = mallinfo2()
        // The freed block is kept as free heap memory, not returned to the kernel (unmapped or
        // trimmed, it would not count as free). Other tests allocate meanwhile: half is enough.
        let kept = Int(freed.fordblks) - Int(allocated.fordblks)
        #expect(kept >= size / 2, "\(kept) more bytes free after freeing \(size)")
    }
}
