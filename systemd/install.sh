#!/usr/bin/env bash
# Install cliper as a service (run as root), from an unpacked release tarball or from the
# repository after `cargo build --release`:
#   binary      /usr/local/bin/cliper
#   config      /etc/cliper/cliper.toml (from the example; an existing one is kept)
#   models      /usr/share/cliper/models, /usr/share/cliper/descriptors (the binary also
#               embeds the defaults; these are for configs that name files)
#   unit        /etc/systemd/system/cliper.service
#   user        cliper, a system user in the video and gpio groups
# Usage: sudo ./install.sh [path/to/cliper]
# CLIPER_INSTALL_ROOT=/some/dir installs into that tree instead and skips users and systemctl
# (used by CI to check a tarball's layout).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=${CLIPER_INSTALL_ROOT:-}
if [ -f "$here/cliper.service" ] && [ -f "$here/cliper.example.toml" ]; then
  # Release tarball: everything beside this script.
  default_bin=$here/cliper example=$here/cliper.example.toml unit=$here/cliper.service
  models=$here/models descriptors=$here/descriptors
else
  # Repository: this script lives in systemd/.
  default_bin=$here/../target/release/cliper example=$here/../config/cliper.example.toml unit=$here/cliper.service
  models=$here/../models descriptors=$here/../descriptors
fi
bin=${1:-$default_bin}
[ -x "$bin" ] || { echo "install: no cliper binary at $bin (build with cargo build --release)" >&2; exit 1; }

install -D -m 0755 "$bin" "$root/usr/local/bin/cliper"
install -d -m 0755 "$root/etc/cliper" "$root/usr/share/cliper/models" "$root/usr/share/cliper/descriptors"
install -m 0644 "$models"/*.onnx "$models"/*.toml "$models"/SHA256SUMS "$root/usr/share/cliper/models/"
install -m 0644 "$descriptors"/*.json "$descriptors"/SHA256SUMS "$root/usr/share/cliper/descriptors/"
if [ ! -f "$root/etc/cliper/cliper.toml" ]; then
  install -m 0644 "$example" "$root/etc/cliper/cliper.toml"
  echo "install: wrote $root/etc/cliper/cliper.toml from the example; edit camera, source and outputs"
fi
install -D -m 0644 "$unit" "$root/etc/systemd/system/cliper.service"
if [ -n "$root" ]; then
  echo "install: installed into $root (no user created, systemd not told)"
  exit 0
fi
for g in video gpio; do getent group "$g" >/dev/null || groupadd --system "$g"; done
id cliper >/dev/null 2>&1 || useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin --groups video,gpio cliper
systemctl daemon-reload
/usr/local/bin/cliper validate --config /etc/cliper/cliper.toml || echo "install: fix the config above, then: systemctl enable --now cliper"
echo "install: done; start with: systemctl enable --now cliper"
