import Glibc
import GRDBSQLite

/// Writes a transaction's WAL frames to the file in one `pwrite` instead of two per frame.
///
/// SQLite writes each WAL frame as two writes, its 24-byte header and then the page, so a
/// transaction of n pages costs 2n system calls. This VFS, registered as the process's default
/// over the default one, wraps only WAL files: frames written as header then page, each right
/// after the last, are gathered in memory and written at once when the transaction's commit
/// frame is complete. Any other write (the WAL's header, a frame elsewhere, a frame written in
/// one piece by another SQLite) writes what is gathered and then itself, as it comes.
/// A commit frame is the one whose header names the database size after the commit (bytes 4–7
/// not zero): its page is the transaction's last write before SQLite publishes the commit in the
/// WAL index, so no reader, in this process or another, can see a frame that is not yet in the
/// file. Gathered writes are also written before anything else touches the file (a read, a sync,
/// a truncate, a size query, a file control, the close), before a write elsewhere in the file,
/// and at 120 KiB. A failed write is reported by the write that wrote the gathered bytes, and SQLite
/// rolls the transaction back, as it does when its own write fails.
///
/// Durability is unchanged: a sync still reaches the disk after every byte written before it,
/// and a crash that loses gathered bytes loses only frames of a transaction that never committed,
/// which SQLite's WAL recovery ignores as it ignores a torn write.
public enum WALWriteGathering {
    /// Registers the VFS as the default, once per process; connections opened afterwards use it.
    public static func install() {
        _ = installed
    }

    private static let installed: Bool = {
        guard let base = sqlite3_vfs_find(nil) else { return false }
        let vfs = UnsafeMutablePointer<sqlite3_vfs>.allocate(capacity: 1)
        vfs.initialize(to: base.pointee)
        vfs.pointee.szOsFile = base.pointee.szOsFile + Int32(realOffset)
        vfs.pointee.zName = UnsafePointer(strdup("pane-wal-gather"))
        vfs.pointee.pAppData = UnsafeMutableRawPointer(base)
        vfs.pointee.xOpen = gatherOpen
        return sqlite3_vfs_register(vfs, 1) == SQLITE_OK
    }()

    /// Where a wrapped WAL file keeps its ``GatheredWrites``: after the wrapper's methods pointer.
    static let stateOffset = 8
    /// Where the base VFS's file lives inside a wrapped WAL file: after the wrapper's methods
    /// pointer and its buffer.
    static let realOffset = 16
    /// Gathered bytes written at once even without a commit frame, and the most one write
    /// carries: SQLite's unix VFS writes at most 128 KiB - 1 bytes per call (`seekAndWriteFd`
    /// masks the length with 0x1ffff), so a longer write would be cut short.
    static let limit = 120 * 1024
}

/// A WAL file's gathered writes: `bytes`, which belong at `start` in the file.
private final class GatheredWrites {
    var bytes: [UInt8] = []
    var start: Int64 = 0
    /// The last write gathered was a frame's header: the next write should be its page.
    var pageExpected = false
    /// That header is a commit frame's: its page ends the transaction.
    var commitPending = false
    // No capacity is reserved: a reader's connection never gathers, and a writer's buffer grows
    // to its transactions once and keeps that capacity.
}

private func realFile(_ file: UnsafeMutablePointer<sqlite3_file>?) -> UnsafeMutablePointer<sqlite3_file> {
    (UnsafeMutableRawPointer(file!) + WALWriteGathering.realOffset).assumingMemoryBound(to: sqlite3_file.self)
}

/// The wrapped file's ``GatheredWrites``, retained by the file from its open to its close.
private func state(_ file: UnsafeMutablePointer<sqlite3_file>?) -> Unmanaged<GatheredWrites> {
    Unmanaged.fromOpaque((UnsafeMutableRawPointer(file!) + WALWriteGathering.stateOffset).load(as: UnsafeMutableRawPointer.self))
}

private func gathered(_ file: UnsafeMutablePointer<sqlite3_file>?) -> GatheredWrites {
    state(file).takeUnretainedValue()
}

private func realMethods(_ file: UnsafeMutablePointer<sqlite3_file>?) -> sqlite3_io_methods {
    realFile(file).pointee.pMethods!.pointee
}

/// Writes the gathered bytes, if any.
private func flush(_ file: UnsafeMutablePointer<sqlite3_file>?) -> Int32 {
    let writes = gathered(file)
    writes.commitPending = false
    writes.pageExpected = false
    guard !writes.bytes.isEmpty else { return SQLITE_OK }
    let real = realFile(file)
    let rc = writes.bytes.withUnsafeBytes { bytes in
        var done = 0
        while done < bytes.count {
            let length = min(WALWriteGathering.limit, bytes.count - done)
            let rc = real.pointee.pMethods!.pointee.xWrite!(real, bytes.baseAddress! + done, Int32(length), writes.start + Int64(done))
            guard rc == SQLITE_OK else { return rc }
            done += length
        }
        return SQLITE_OK
    }
    writes.bytes.removeAll(keepingCapacity: true)
    return rc
}

private let gatherOpen: @convention(c) (
    UnsafeMutablePointer<sqlite3_vfs>?, sqlite3_filename?, UnsafeMutablePointer<sqlite3_file>?, Int32, UnsafeMutablePointer<Int32>?
) -> Int32 = { vfs, name, file, flags, outFlags in
    let base = vfs!.pointee.pAppData!.assumingMemoryBound(to: sqlite3_vfs.self)
    guard flags & SQLITE_OPEN_WAL != 0 else {
        // Every other file is the base VFS's own, methods and all.
        return base.pointee.xOpen!(base, name, file, flags, outFlags)
    }
    file!.pointee.pMethods = nil
    let rc = base.pointee.xOpen!(base, name, realFile(file), flags, outFlags)
    guard rc == SQLITE_OK else { return rc }
    (UnsafeMutableRawPointer(file!) + WALWriteGathering.stateOffset).storeBytes(
        of: Unmanaged.passRetained(GatheredWrites()).toOpaque(), as: UnsafeMutableRawPointer.self)
    file!.pointee.pMethods = UnsafePointer(walMethods)
    return SQLITE_OK
}

/// The methods of a wrapped WAL file, allocated once (SQLite keeps the pointer).
nonisolated(unsafe) private let walMethods: UnsafeMutablePointer<sqlite3_io_methods> = {
    let methods = UnsafeMutablePointer<sqlite3_io_methods>.allocate(capacity: 1)
    methods.initialize(to: gatheringMethods)
    return methods
}()

private let gatheringMethods = sqlite3_io_methods(
    iVersion: 3,
    xClose: { file in
        let flushed = flush(file)
        let real = realFile(file)
        let rc = real.pointee.pMethods.map { $0.pointee.xClose!(real) } ?? SQLITE_OK
        state(file).release()
        return flushed != SQLITE_OK ? flushed : rc
    },
    xRead: { file, buffer, amount, offset in
        let rc = flush(file)
        guard rc == SQLITE_OK else { return rc }
        return realMethods(file).xRead!(realFile(file), buffer, amount, offset)
    },
    xWrite: { file, data, amount, offset in
        let writes = gathered(file)
        let follows = writes.bytes.isEmpty || offset == writes.start + Int64(writes.bytes.count)
        let incoming = UnsafeRawBufferPointer(start: data, count: Int(amount))
        if writes.pageExpected && follows {
            // The page of the frame whose header is gathered.
            writes.bytes.append(contentsOf: incoming)
            writes.pageExpected = false
            // After a commit frame's page, SQLite publishes the commit: its frames go to the file now.
            return writes.commitPending || writes.bytes.count >= WALWriteGathering.limit ? flush(file) : SQLITE_OK
        }
        if !writes.pageExpected && amount == 24 && offset != 0 && follows {
            // A frame header (the WAL's own header is 32 bytes at the start). Bytes 4-7, the
            // database size after the commit, are not zero in a commit frame's header.
            if writes.bytes.isEmpty { writes.start = offset }
            writes.bytes.append(contentsOf: incoming)
            writes.pageExpected = true
            writes.commitPending = (incoming[4] | incoming[5] | incoming[6] | incoming[7]) != 0
            return SQLITE_OK
        }
        // Anything else (the WAL header, a write elsewhere, a frame not written as header then
        // page) goes to the file as it comes, after what is gathered.
        let rc = flush(file)
        guard rc == SQLITE_OK else { return rc }
        return realMethods(file).xWrite!(realFile(file), data, amount, offset)
    },
    xTruncate: { file, size in
        let rc = flush(file)
        guard rc == SQLITE_OK else { return rc }
        return realMethods(file).xTruncate!(realFile(file), size)
    },
    xSync: { file, flags in
        let rc = flush(file)
        guard rc == SQLITE_OK else { return rc }
        return realMethods(file).xSync!(realFile(file), flags)
    },
    xFileSize: { file, size in
        let rc = flush(file)
        guard rc == SQLITE_OK else { return rc }
        return realMethods(file).xFileSize!(realFile(file), size)
    },
    xLock: { file, level in realMethods(file).xLock!(realFile(file), level) },
    xUnlock: { file, level in realMethods(file).xUnlock!(realFile(file), level) },
    xCheckReservedLock: { file, out in realMethods(file).xCheckReservedLock!(realFile(file), out) },
    xFileControl: { file, op, argument in
        let rc = flush(file)
        guard rc == SQLITE_OK else { return rc }
        return realMethods(file).xFileControl!(realFile(file), op, argument)
    },
    xSectorSize: { file in realMethods(file).xSectorSize!(realFile(file)) },
    xDeviceCharacteristics: { file in realMethods(file).xDeviceCharacteristics!(realFile(file)) },
    xShmMap: { file, page, size, extend, out in realMethods(file).xShmMap!(realFile(file), page, size, extend, out) },
    xShmLock: { file, offset, n, flags in realMethods(file).xShmLock!(realFile(file), offset, n, flags) },
    xShmBarrier: { file in realMethods(file).xShmBarrier!(realFile(file)) },
    xShmUnmap: { file, delete in realMethods(file).xShmUnmap!(realFile(file), delete) },
    xFetch: { file, offset, amount, out in
        let rc = flush(file)
        guard rc == SQLITE_OK else { return rc }
        return realMethods(file).xFetch!(realFile(file), offset, amount, out)
    },
    xUnfetch: { file, offset, pointer in realMethods(file).xUnfetch!(realFile(file), offset, pointer) }
)
