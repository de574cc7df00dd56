#!/usr/bin/env bash
# A/B of two release builds on this machine, in one sitting: the runs alternate base and new so
# both see the same machine. Writes every run's report under OUT and OUT/summary.md (medians).
#
#   loadtest/compare.sh --base DIR --new DIR --out OUT [--rounds N] [--only "steady batch ..."]
#
# DIR holds a release `pane` and the `pane-loadtest` built with it. Each side runs its own runner
# (a runner seeds and migrates hub files with its own schema, and `limits` measures code linked
# into it); `limits`' figures are ratios against redis-benchmark and raw SQLite in the same run.
set -euo pipefail

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
BASE="" NEW="" OUT="" ROUNDS=2
ONLY="reads steady batch drain wide chaos bootstrap limits"
while [ $# -gt 0 ]; do
    case "$1" in
        --base) BASE="$2"; shift 2 ;;
        --new) NEW="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        --rounds) ROUNDS="$2"; shift 2 ;;
        --only) ONLY="$2"; shift 2 ;;
        -h|--help) usage 0 ;;
        *) echo "compare.sh: unknown argument '$1'" >&2; usage 2 ;;
    esac
done
[ -n "$BASE" ] && [ -n "$NEW" ] && [ -n "$OUT" ] || { echo "compare.sh: --base, --new and --out are required" >&2; usage 2; }
for side in "$BASE" "$NEW"; do
    for bin in pane pane-loadtest; do
        [ -x "$side/$bin" ] || { echo "compare.sh: no executable $side/$bin" >&2; exit 2; }
    done
done
case "$ROUNDS" in ''|*[!0-9]*) echo "compare.sh: --rounds must be a whole number, got '$ROUNDS'" >&2; exit 2 ;; esac
HERE="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$OUT"

step() { echo "[$(date -u +%H:%M:%S)] $*  (load $(cut -d' ' -f1-3 /proc/loadavg))"; }

for round in $(seq 1 "$ROUNDS"); do
    for what in $ONLY; do
        for side in base new; do
            dir="$BASE"; [ "$side" = new ] && dir="$NEW"
            dest="$OUT/$what-$side-$round"
            LT="$dir/pane-loadtest"
            mkdir -p "$dest"
            step "$what $side round $round"
            case "$what" in
                reads) "$LT" reads --seconds 5 --rounds 3 --pane "$dir/pane" --out "$dest" > "$dest/stdout" 2>&1 || true ;;
                bootstrap) "$LT" bootstrap --contexts 1000000 --pane "$dir/pane" --out "$dest" > "$dest/stdout" 2>&1 || true ;;
                limits) "$LT" limits --read-seconds 0 --out "$dest" > "$dest/stdout" 2>&1 || true ;;
                *) "$LT" run "$HERE/scenarios/$what.json" --pane "$dir/pane" --out "$dest" --quiet > "$dest/stdout" 2>&1 || true ;;
            esac
            tail -1 "$dest/stdout"
        done
    done
done

python3 - "$OUT" <<'PY'
import json, os, statistics, sys
out = sys.argv[1]
runs = {}
for name in sorted(os.listdir(out)):
    path = os.path.join(out, name)
    if not os.path.isdir(path) or name.count("-") < 2:
        continue
    what, side, rnd = name.rsplit("-", 2)
    runs.setdefault((what, side), []).append(path)

def load(path, file):
    try:
        with open(os.path.join(path, file)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def fmt(x, digits=2):
    return "–" if x is None else f"{x:,.{digits}f}"

def scenario_row(path):
    r = load(path, "report.json")
    if r is None:
        return None
    writes = r.get("writes") or 0
    def cpu(pred):
        ps = [p for p in r.get("processes", []) if pred(p["name"])]
        if not ps or not writes:
            return None
        return sum(p["cpuSeconds"] for p in ps) / len(ps) * 1e6 / writes
    offered = float(r["setup"]["writeRate"]) if r["setup"].get("writeRate", "max") != "max" else None
    lat = r.get("latencyMs", {})
    return {
        "accepted/s": r.get("writeRate"),
        "of offered %": (100 * r["writeRate"] / offered) if offered else None,
        "p50 ms": lat.get("p50"), "p99 ms": lat.get("p99"), "p99.9 ms": lat.get("p999"),
        "write answer p99 ms (from send)": (r.get("writeServiceMs") or {}).get("p99"),
        "write answer p99 ms (from schedule)": (r.get("writeAnswerMs") or {}).get("p99"),
        "hub µs/write": cpu(lambda n: n == "hub"),
        "spoke µs/write (each)": cpu(lambda n: n.startswith("spoke")),
        "runner µs/write": cpu(lambda n: n == "pane-loadtest"),
        "verdict": r.get("verdict"),
    }

def reads_row(path):
    r = load(path, "reads.json")
    if r is None:
        return None
    h, p, l = r["healthz"], r["pointRead"], r["list"]
    return {
        "/healthz /s": h["requestsPerSecond"], "point /s": p["requestsPerSecond"],
        "point of /healthz %": 100 * p["requestsPerSecond"] / h["requestsPerSecond"],
        "CPU µs /healthz": h.get("cpuMicrosPerRequest"), "CPU µs point": p.get("cpuMicrosPerRequest"),
        "list /s": l["requestsPerSecond"],
    }

def bootstrap_row(path):
    r = load(path, "bootstrap.json")
    if r is None:
        return None
    return {
        "bootstrap s": r["bootstrapSeconds"], "apply s": r["applySeconds"],
        "hub CPU s": r.get("hubCPUSeconds"), "spoke CPU s": r.get("spokeCPUSeconds"), "peak RSS MB": r["spokePeakRSSMB"],
    }

def limits_row(path):
    r = load(path, "limits.json")
    if r is None:
        return None
    return {
        "publish of XADD 1 client %": 100 * r["publish"] / r["redisXaddOneClient"],
        "apply of raw upsert %": 100 * r["apply"] / r["rawSQLiteUpsert"],
        "apply of raw per CPU-s %": (100 * r["rawSQLiteCPUSeconds"] / r["applyCPUSeconds"]
                                     if r.get("rawSQLiteCPUSeconds") and r.get("applyCPUSeconds") else None),
        "raw CPU-s": r.get("rawSQLiteCPUSeconds"), "apply CPU-s": r.get("applyCPUSeconds"),
        "hub writes /s": r.get("hubWrites"), "hub group writes /s": r.get("hubGroupWrites"),
    }

lines = [f"# A/B summary ({out})", "", "Medians over the rounds; each cell lists the rounds in brackets.", ""]
kinds = sorted({w for w, _ in runs})
for what in kinds:
    maker = {"reads": reads_row, "bootstrap": bootstrap_row, "limits": limits_row}.get(what, scenario_row)
    table = {}
    for side in ("base", "new"):
        rows = [maker(p) for p in runs.get((what, side), [])]
        rows = [r for r in rows if r]
        if rows:
            table[side] = rows
    if not table:
        continue
    cols = list(next(iter(table.values()))[0].keys())
    lines += [f"## {what}", "", "| side | " + " | ".join(cols) + " |", "|---|" + "---:|" * len(cols)]
    for side, rows in table.items():
        cells = []
        for c in cols:
            vals = [r.get(c) for r in rows]
            if all(v is None for v in vals):
                cells.append("–")
            elif all(isinstance(v, str) or v is None for v in vals):
                cells.append(" / ".join(str(v) for v in vals))
            else:
                cells.append(f"{fmt(med(vals))} [{', '.join(fmt(v) for v in vals)}]")
        lines.append(f"| {side} | " + " | ".join(cells) + " |")
    lines.append("")
with open(os.path.join(out, "summary.md"), "w") as f:
    f.write("\n".join(lines))
print("\n".join(lines))
PY
