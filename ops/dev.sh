#!/usr/bin/env bash
# One command: install, build, and run `pane dev` (a private Redis, a hub and spokes on loopback).
# Extra arguments go to `pane dev`, e.g. `bash ops/dev.sh --regions 5`.
cd "$(dirname "$0")/.."
source ops/lib.sh
pane_install_deps
swift build -c release --product pane
exec "$(swift build -c release --show-bin-path)/pane" dev "$@"
