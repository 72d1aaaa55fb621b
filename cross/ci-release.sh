#!/usr/bin/env bash
# The release part of CI (called by .ci/run after the x86-64 tests, whose target/debug/cliper
# it compares against): the aarch64 build tested under emulation, and both release tarballs.
# Builds with cargo-zigbuild against glibc 2.31 — the same build the release tarball ships —
# then:
#   1. runs the library tests and the model-parity and end-to-end classify tests under
#      qemu-aarch64 (cargo's runner from .cargo/config.toml; CLIPER_TEST_RUNNER for the
#      binary the tests spawn);
#   2. packs the release tarball (cross/release.sh checks the newest GLIBC_ symbol ≤ 2.31);
#   3. compares `cliper classify --json samples/` of the aarch64 binary with x86-64's: same
#      faces and labels, probabilities within 1e-4;
#   4. installs the tarball into a scratch root and classifies with the installed model files
#      (cross/check-tarball.sh);
#   5. builds, installs and checks the x86-64 tarball the same way.
# Needs: qemu-user, gcc-aarch64-linux-gnu, libc6-dev-arm64-cross, binutils-aarch64-linux-gnu,
# libclang-dev, python3-venv (from .ci/run's apt line).
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$(date +%s)
stamp() { echo "== release [$(( $(date +%s) - t0 ))s] $*"; }
target=aarch64-unknown-linux-gnu
qemu=(qemu-aarch64 -L /usr/aarch64-linux-gnu)

stamp "tools: rustup target, zig (PyPI ziglang), cargo-zigbuild (crates.io)"
rustup target add "$target"
venv=target/ci-zig
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install -q ziglang==0.17.1
command -v cargo-zigbuild >/dev/null || cargo install --locked cargo-zigbuild --version 0.24.1
export PATH="$PWD/$venv/bin:$PATH"
. cross/zig-bindgen-env.sh
zig_bindgen_env aarch64

stamp "library tests under qemu-aarch64"
cargo-zigbuild test --release --locked --target "$target.2.31" --lib 2>&1

stamp "model parity and end-to-end classify tests under qemu-aarch64"
CLIPER_TEST_RUNNER="${qemu[*]}" cargo-zigbuild test --release --locked --target "$target.2.31" --test integration -- \
  golden_ ort_parity:: cliper_parity:: cli:: 2>&1

stamp "release tarball (glibc ≤ 2.31 checked)"
bash cross/release.sh aarch64
tarball=$(ls dist/cliper-*-aarch64-linux-gnu.tar.gz)

stamp "classify: aarch64 (qemu) vs x86-64"
[ -x target/debug/cliper ] || env -u BINDGEN_EXTRA_CLANG_ARGS cargo build --locked
arm=("${qemu[@]}" "target/$target/release/cliper")
# The model path on the committed face crops (no detection or alignment): within 1e-4.
RUST_LOG=warn target/debug/cliper classify --aligned --json tests/fixtures/faces > target/aligned-x86_64.jsonl
RUST_LOG=warn "${arm[@]}" classify --aligned --json tests/fixtures/faces > target/aligned-aarch64.jsonl
python3 cross/compare_classify.py --tol 1e-4 target/aligned-x86_64.jsonl target/aligned-aarch64.jsonl
# The whole pipeline on the bundled photos: same faces, boxes and labels, within 1e-4
# (measured 6.8e-5: the detectors' keypoints differ by ~1e-4 px; see cross/README.md).
RUST_LOG=warn target/debug/cliper classify --json samples > target/classify-x86_64.jsonl
RUST_LOG=warn "${arm[@]}" classify --json samples > target/classify-aarch64.jsonl
python3 cross/compare_classify.py --tol 1e-4 target/classify-x86_64.jsonl target/classify-aarch64.jsonl

stamp "aarch64 tarball: checksums, install into a scratch root, classify with the installed files"
bash cross/check-tarball.sh "$tarball" target/aligned-aarch64.jsonl "${qemu[@]}"

stamp "x86-64 tarball (glibc ≤ 2.31 checked), installed and checked the same way"
bash cross/release.sh x86_64
bash cross/check-tarball.sh "$(ls dist/cliper-*-x86_64-linux-gnu.tar.gz)" target/aligned-x86_64.jsonl

stamp "done"
