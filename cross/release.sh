#!/usr/bin/env bash
# Release tarballs: one per architecture, built with cargo-zigbuild against glibc 2.31 so the
# binary runs on Raspberry Pi OS Bullseye/Bookworm, Ubuntu 20.04+, JetPack 5/6.
#   bash cross/release.sh [aarch64] [x86_64]          (default: aarch64)
# Needs cargo-zigbuild and zig (`pip install cargo-zigbuild` brings both) and the rustup
# target; see cross/README.md. Writes dist/cliper-<version>-<arch>-linux-gnu.tar.gz and fails
# if the binary asks for a glibc symbol newer than 2.31.
#   CARGO_FEATURES   (e.g. "ort") adds cargo features to the build
#   CLIPER_PROFILE   cargo profile (default release: thin LTO); CI packs from `ci` (no LTO)
#   CLIPER_PREBUILT=1  pack target/<triple>/<profile>/cliper as it is, without building
#                    (CI's binary comes from the same `cargo zigbuild test` as its tests)
set -euo pipefail
cd "$(dirname "$0")/.."
glibc=2.31
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
features=()
[ -n "${CARGO_FEATURES:-}" ] && features=(--features "$CARGO_FEATURES")
profile=${CLIPER_PROFILE:-release}
[ $# -gt 0 ] || set -- aarch64

for arch in "$@"; do
  case "$arch" in aarch64|x86_64) ;; *) echo "release: unknown architecture $arch (aarch64, x86_64)" >&2; exit 2;; esac
  target=$arch-unknown-linux-gnu
  if [ "${CLIPER_PREBUILT:-}" != 1 ]; then
    cargo zigbuild --profile "$profile" --locked --target "$target.$glibc" --bin cliper ${features[@]+"${features[@]}"}
  fi
  bin=target/$target/$profile/cliper

  objdump=objdump
  command -v "$arch-linux-gnu-objdump" >/dev/null && objdump=$arch-linux-gnu-objdump
  newest=$("$objdump" -T "$bin" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)
  if [ "$(printf '%s\n%s\n' "$newest" "$glibc" | sort -V | tail -1)" != "$glibc" ]; then
    echo "release: $bin needs glibc $newest, more than $glibc" >&2
    exit 1
  fi
  echo "release: $bin: newest glibc symbol $newest (limit $glibc)"

  name=cliper-$version-$arch-linux-gnu
  stage=dist/$name
  rm -rf "$stage" && mkdir -p "$stage/models" "$stage/descriptors"
  install -m 0755 "$bin" "$stage/cliper"
  install -m 0755 systemd/install.sh "$stage/install.sh"
  install -m 0644 systemd/cliper.service "$stage/cliper.service"
  install -m 0644 config/cliper.example.toml "$stage/cliper.example.toml"
  install -m 0644 models/*.onnx models/*.toml models/SHA256SUMS models/README.md "$stage/models/"
  install -m 0644 descriptors/*.json descriptors/SHA256SUMS "$stage/descriptors/"
  install -m 0644 README.md LICENSE "$stage/"
  install -m 0644 docs/deploy.md "$stage/DEPLOY.md"
  (cd "$stage" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort | xargs sha256sum > SHA256SUMS)
  tar -C dist --sort=name --owner=0 --group=0 --numeric-owner --mtime="@$epoch" -cf - "$name" | gzip -n > "dist/$name.tar.gz"
  echo "release: dist/$name.tar.gz"
done
