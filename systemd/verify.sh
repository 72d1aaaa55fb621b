#!/usr/bin/env bash
# `systemd-analyze verify` on the unit, with its binary path pointed at a built cliper
# (verify insists that ExecStart's binary exists).
#   bash systemd/verify.sh [path/to/cliper]     (default: target/debug/cliper)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/debug/cliper}")
command -v systemd-analyze >/dev/null || apt-get install -y -qq --no-install-recommends systemd >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s|/usr/local/bin/cliper|$bin|g" systemd/cliper.service > "$tmp/cliper.service"
systemd-analyze verify "$tmp/cliper.service"
echo "systemd-analyze verify: cliper.service ok"
