# Shared by ops/dev.sh and ops/test.sh: install what Pane needs on a fresh Debian 12 (as root).
set -euo pipefail

pane_install_deps() {
    local need=()
    command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
    command -v redis-cli >/dev/null 2>&1 || need+=(redis-tools)
    command -v wrk >/dev/null 2>&1 || need+=(wrk)  # pane-loadtest reads (and limits)
    command -v systemd-analyze >/dev/null 2>&1 || need+=(systemd)  # the tests verify ops/systemd's units
    command -v stunnel4 >/dev/null 2>&1 || need+=(stunnel4)  # the TLS tunnel to Redis (ops/redis/stunnel-client.conf) and its test
    command -v openssl >/dev/null 2>&1 || need+=(openssl)  # the TLS test makes a throwaway CA and certificate
    [ -f /usr/include/hiredis/hiredis.h ] || need+=(libhiredis-dev)
    [ -f /usr/include/sqlite3.h ] || need+=(libsqlite3-dev)
    if [ ${#need[@]} -gt 0 ]; then
        echo "ops: installing ${need[*]}" >&2
        if [ "$(id -u)" != 0 ]; then
            echo "ops: run as root (apt-get install ${need[*]})" >&2
            exit 1
        fi
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
    fi
    if ! command -v swift >/dev/null 2>&1; then
        if [ -x /opt/swift/usr/bin/swift ]; then
            export PATH="/opt/swift/usr/bin:$PATH"
        else
            echo "ops: the Swift 6.3 toolchain is not on PATH" >&2
            exit 1
        fi
    fi
}

# promtool, from Debian's prometheus package: the tests check ops/prometheus/pane.rules.yml with
# it (`promtool check rules`, `promtool test rules`). Only the tool is unpacked, into
# /usr/local/bin: installing the package would also start a Prometheus server.
pane_install_promtool() {
    command -v promtool >/dev/null 2>&1 && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "ops: run as root (promtool, from Debian's prometheus package)" >&2
        exit 1
    fi
    echo "ops: unpacking promtool from Debian's prometheus package" >&2
    local tmp
    tmp="$(mktemp -d)"
    (cd "$tmp" && apt-get download -qq prometheus 2>/dev/null) || { apt-get update -qq && (cd "$tmp" && apt-get download -qq prometheus); }
    dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -x -C "$tmp" ./usr/bin/promtool
    install -m 0755 "$tmp/usr/bin/promtool" /usr/local/bin/promtool
    rm -rf "$tmp"
}
