#!/usr/bin/env python3
# The disk's sync latency: appends 4 KiB to FILE and fdatasyncs it N times; prints percentiles.
#   python3 loadtest/fsync-probe.py FILE N
import os, time, statistics, sys
path = sys.argv[1]; n = int(sys.argv[2])
fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
buf = b"x" * 4096
lat = []
for i in range(n):
    os.write(fd, buf)
    t = time.perf_counter(); os.fdatasync(fd); lat.append((time.perf_counter() - t) * 1000)
os.close(fd); os.unlink(path)
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print(f"fdatasync of an appended 4 KiB, {n} times: p50 {q(.5):.2f} ms, p90 {q(.9):.2f}, p99 {q(.99):.2f}, p99.9 {q(.999):.2f}, max {lat[-1]:.2f}")
