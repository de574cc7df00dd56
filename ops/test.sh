#!/usr/bin/env bash
# One command: install, build, start a private redis-server on a free loopback port, run every
# test against it, stop it. Works when another Redis already listens on 6379.
cd "$(dirname "$0")/.."
source ops/lib.sh
pane_install_deps
pane_install_promtool  # the alert rules' tests

swift build --build-tests

workdir="$(mktemp -d /tmp/pane-test.XXXXXX)"
redis_pid=""
cleanup() {
    if [ -n "$redis_pid" ]; then
        kill "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true  # redis writes its log while it shuts down
    fi
    rm -rf "$workdir"
}
trap cleanup EXIT

for attempt in 1 2 3 4 5 6 7 8 9 10; do
    port=$(( 20000 + RANDOM % 40000 ))
    redis-server --port "$port" --bind 127.0.0.1 --dir "$workdir" --save '' --appendonly no \
        --daemonize no --logfile "$workdir/redis.log" &
    redis_pid=$!
    for _ in $(seq 1 50); do
        if redis-cli -p "$port" ping >/dev/null 2>&1; then break 2; fi
        if ! kill -0 "$redis_pid" 2>/dev/null; then break; fi
        sleep 0.1
    done
    kill "$redis_pid" 2>/dev/null || true
    redis_pid=""
done
if [ -z "$redis_pid" ]; then
    echo "ops: could not start redis-server on a free port; see $workdir/redis.log" >&2
    exit 1
fi
echo "ops: redis-server on 127.0.0.1:$port (pid $redis_pid)"

export PANE_TEST_REDIS_URL="redis://127.0.0.1:$port"
export PANE_BIN="$(swift build --show-bin-path)/pane"
# Swift Testing runs every test at once by default. Many tests start real processes (redis-server,
# pane hub, pane spoke, whole Redis Clusters), and on 2 cores a run queue of 50 starved the
# in-process hubs of some tests for a minute. At most 4 tests run at a time
# (PANE_TEST_WIDTH overrides it).
swift test --skip-build --experimental-maximum-parallelization-width "${PANE_TEST_WIDTH:-4}" "$@"
