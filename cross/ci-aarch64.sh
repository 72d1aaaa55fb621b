#!/usr/bin/env bash
# The aarch64 part of CI, in two steps so .ci/run can start the build first and run the
# x86-64 suites while it compiles:
#   bash cross/ci-aarch64.sh build   tools, then ONE cargo-zigbuild graph (profile `ci`: release
#                                    code without LTO, glibc 2.31): the library and integration
#                                    test binaries and the cliper binary they spawn
#   bash cross/ci-aarch64.sh test    under qemu-aarch64: library tests, model-parity
#                                    tests; aarch64 vs x86-64 results on the photos; the
#                                    tarball packed from the same binary, installed and checked
# `test` needs target/debug/cliper (x86-64, from the README's test command), qemu-user and
# binutils-aarch64-linux-gnu (objdump, for the glibc check); `build` needs nothing from apt:
# zig (PyPI ziglang, pulled in by PyPI's cargo-zigbuild wheel) is its C compiler and linker.
# Shipped tarballs are built with LTO by cross/release.sh from the `release` profile.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
stamp() { echo "== aarch64 [$(( $(date +%s) - t0 ))s] $*"; }
target=aarch64-unknown-linux-gnu
tools=target/ci-tools
export PATH="$PWD/$tools/bin:$PATH"
export PYTHONPATH="$PWD/$tools${PYTHONPATH:+:$PYTHONPATH}"
zigbuild=(cargo-zigbuild test --locked --profile ci --target "$target.2.31")

case "${1:-}" in
build)
  stamp "tools: rustup target, cargo-zigbuild + zig from PyPI (prebuilt, nothing compiled)"
  rustup target add "$target"
  python3 -m pip install -q --disable-pip-version-check --target "$tools" cargo-zigbuild==0.24.1 ziglang==0.17.1
  cargo-zigbuild --version
  stamp "build: library + integration tests + cliper (profile ci)"
  "${zigbuild[@]}" --no-run 2>&1
  stamp "build done"
  ;;
test)
  qemu=(qemu-aarch64 -L /usr/aarch64-linux-gnu)
  bin=target/$target/ci/cliper
  stamp "library tests under qemu-aarch64"
  "${zigbuild[@]}" --lib 2>&1
  stamp "model parity tests under qemu-aarch64"
  # The models' numerics are what differ between architectures. The CLI tests (argument and
  # error handling, validate) are not run here: the comparison below runs the aarch64 binary
  # end to end on every bundled photo, and the tarball check runs it once more.
  CLIPER_TEST_RUNNER="${qemu[*]}" "${zigbuild[@]}" --test integration -- golden_ ort_parity:: cliper_parity:: 2>&1

  stamp "classify: aarch64 (qemu) vs x86-64"
  [ -x target/debug/cliper ] || { echo "ci-aarch64: target/debug/cliper missing (run the tests first)" >&2; exit 1; }
  # The model path on the committed face crops (no detection or alignment): within 1e-4.
  RUST_LOG=warn target/debug/cliper classify --aligned --json tests/fixtures/faces > target/aligned-x86_64.jsonl
  RUST_LOG=warn "${qemu[@]}" "$bin" classify --aligned --json tests/fixtures/faces > target/aligned-aarch64.jsonl
  python3 cross/compare_classify.py --tol 1e-4 target/aligned-x86_64.jsonl target/aligned-aarch64.jsonl
  # The whole pipeline on the bundled photos: same faces, boxes and labels, within 1e-4
  # (measured 6.8e-5: the detectors' keypoints differ by ~1e-4 px; see cross/README.md).
  # Whole image only (--min-face 0): the tiled sweep runs the same detector over ~45 windows a
  # photo, which under qemu took over 400 s for the six photos; tiling itself is pure geometry,
  # tested natively.
  RUST_LOG=warn target/debug/cliper classify --min-face 0 --json samples > target/classify-x86_64.jsonl
  RUST_LOG=warn "${qemu[@]}" "$bin" classify --min-face 0 --json samples > target/classify-aarch64.jsonl
  python3 cross/compare_classify.py --tol 1e-4 target/classify-x86_64.jsonl target/classify-aarch64.jsonl

  stamp "tarball from the same binary (glibc ≤ 2.31 checked), installed into a scratch root and checked"
  CLIPER_PROFILE=ci CLIPER_PREBUILT=1 bash cross/release.sh aarch64
  bash cross/check-tarball.sh "$(ls dist/cliper-*-aarch64-linux-gnu.tar.gz)" target/aligned-aarch64.jsonl "${qemu[@]}"
  stamp "done"
  ;;
*)
  echo "usage: bash cross/ci-aarch64.sh build|test" >&2
  exit 2
  ;;
esac
