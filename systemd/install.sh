#!/usr/bin/env bash
# Install cliper as a service on this machine (run as root from a release tarball or the
# repository): binary to /usr/local/bin, config to /etc/cliper (kept if present), unit to
# /etc/systemd/system, a dedicated system user in the video and gpio groups.
#   sudo bash systemd/install.sh [path/to/cliper]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${1:-$here/../target/release/cliper}
[ -x "$bin" ] || { echo "install: no cliper binary at $bin (build with cargo build --release)" >&2; exit 1; }
install -m 0755 "$bin" /usr/local/bin/cliper
install -d -m 0755 /etc/cliper
if [ ! -f /etc/cliper/cliper.toml ]; then
  install -m 0644 "$here/../config/cliper.example.toml" /etc/cliper/cliper.toml
  echo "install: wrote /etc/cliper/cliper.toml from the example; edit camera, source and outputs"
fi
for g in video gpio; do getent group "$g" >/dev/null || groupadd --system "$g"; done
id cliper >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --groups video,gpio cliper
install -m 0644 "$here/cliper.service" /etc/systemd/system/cliper.service
systemctl daemon-reload
/usr/local/bin/cliper validate --config /etc/cliper/cliper.toml || echo "install: fix the config above, then: systemctl enable --now cliper"
echo "install: done; start with: systemctl enable --now cliper"
