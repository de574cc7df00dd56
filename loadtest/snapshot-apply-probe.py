#!/usr/bin/env python3
# What a replica's snapshot apply costs SQLite, variant by variant, outside Pane: loads N rows
# (256-byte bodies, ids in order) into the replica's `contexts` table and its two indexes, 2,000
# rows a transaction as a bootstrap does, through the system's libsqlite3 (Python's sqlite3
# module), and prints the process's CPU seconds. Python's own per-row cost is in every variant.
#   python3 loadtest/snapshot-apply-probe.py VARIANT[+VARIANT...] [N] [DIR]
# base: WAL, synchronous NORMAL, autocheckpoint at 1,000 pages, the snapshot upsert, one row a
# statement. Variants: multi (32 rows a statement), plain (INSERT, no ON CONFLICT), off
# (journal_mode OFF, synchronous OFF: outside the WAL), nockpt (no checkpoint until the end,
# counted apart), lateidx (contexts_change built after the load, counted apart), big (20,000
# rows a transaction), cache (64 MiB page cache), excl (locking_mode EXCLUSIVE).
import os, resource, sys, time

variant = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 300_000
directory = sys.argv[3] if len(sys.argv) > 3 else "/tmp/snapshot-apply-probe"
opts = set(variant.split("+"))
import sqlite3

os.makedirs(directory, exist_ok=True)
path = f"{directory}/{variant}.sqlite"
for suffix in ["", "-wal", "-shm", "-journal"]:
    if os.path.exists(path + suffix):
        os.remove(path + suffix)
SCHEMA = """CREATE TABLE contexts(id TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, deleted INTEGER NOT NULL,
 body BLOB NOT NULL, hub_ts INTEGER NOT NULL, applied_ts INTEGER NOT NULL, seq INTEGER NOT NULL DEFAULT 0,
 synced_epoch INTEGER NOT NULL DEFAULT 0, change INTEGER NOT NULL DEFAULT 0);
CREATE TABLE replica_state(name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);
INSERT INTO replica_state VALUES('change', 0);
CREATE TABLE resync_state(id INTEGER PRIMARY KEY, chunks_done INTEGER);"""
INDEX = "CREATE INDEX contexts_change ON contexts(change)"
WINS = ("excluded.version > contexts.version OR (contexts.seq <= 1000000000 AND (excluded.version != contexts.version"
        " OR excluded.deleted != contexts.deleted OR excluded.body != contexts.body))")
COLUMNS = ["deleted", "body", "hub_ts", "applied_ts", "seq", "change", "version"]
UPSERT = (" ON CONFLICT(id) DO UPDATE SET " + ", ".join(f"{c} = CASE WHEN {WINS} THEN excluded.{c} ELSE contexts.{c} END" for c in COLUMNS)
          + ", synced_epoch = excluded.synced_epoch")
WIDTH = 32 if "multi" in opts else 1
INSERT = ("INSERT INTO contexts(id, version, deleted, body, hub_ts, applied_ts, seq, synced_epoch, change) VALUES "
          + ", ".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?)"] * WIDTH) + ("" if "plain" in opts else UPSERT))
ONE = ("INSERT INTO contexts(id, version, deleted, body, hub_ts, applied_ts, seq, synced_epoch, change) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
       + ("" if "plain" in opts else UPSERT))
body = b"x" * 256
rows = [(f"ctx-{i:08d}", 1, 0, body, 1_700_000_000_000, 1_700_000_000_000, i + 1, 7, i + 1) for i in range(n)]
db = sqlite3.connect(path, isolation_level=None)
if "off" in opts:
    db.execute("PRAGMA journal_mode = OFF"); db.execute("PRAGMA synchronous = OFF")
else:
    db.execute("PRAGMA journal_mode = WAL"); db.execute("PRAGMA synchronous = NORMAL")
if "nockpt" in opts: db.execute("PRAGMA wal_autocheckpoint = 0")
if "cache" in opts: db.execute("PRAGMA cache_size = -65536")
if "excl" in opts: db.execute("PRAGMA locking_mode = EXCLUSIVE")
db.executescript(SCHEMA)
if "lateidx" not in opts: db.execute(INDEX)
chunk = 20_000 if "big" in opts else 2_000
cpu = lambda: sum(resource.getrusage(resource.RUSAGE_SELF)[:2])
c0 = cpu(); t0 = time.time()
for k in range(0, n, chunk):
    part = rows[k:k + chunk]
    db.execute("BEGIN IMMEDIATE")
    full = len(part) - len(part) % WIDTH if WIDTH > 1 else 0
    for j in range(0, full, WIDTH):
        db.execute(INSERT, [x for row in part[j:j + WIDTH] for x in row])
    db.executemany(ONE, part[full:])
    db.execute("UPDATE replica_state SET value = ? WHERE name = 'change'", (k + len(part),))
    db.execute("INSERT OR REPLACE INTO resync_state VALUES (1, ?)", (k // chunk,))
    db.execute("COMMIT")
c1 = cpu()
if "lateidx" in opts: db.execute(INDEX)
c2 = cpu()
if "nockpt" in opts: db.execute("PRAGMA wal_checkpoint(PASSIVE)")
c3 = cpu()
print(f"{variant:24s} load {c1 - c0:6.2f} CPU-s  late index {c2 - c1:5.2f}  checkpoint {c3 - c2:5.2f}  "
      f"total {c3 - c0:6.2f}  ({(c3 - c0) / n * 1e6:5.2f} µs a row)  wall {time.time() - t0:6.2f} s")
db.close()
for suffix in ["", "-wal", "-shm", "-journal"]:
    if os.path.exists(path + suffix):
        os.remove(path + suffix)
