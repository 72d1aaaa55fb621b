# Sourced by cross/release.sh and cross/ci-release.sh: `zig_bindgen_env ARCH` points bindgen
# (v4l2-sys-mit's build script) at zig's own headers for ARCH's glibc target.
# cargo-zigbuild passes `-nostdinc` plus the include directories it collects from `zig cc`
# to bindgen; on a fresh machine that collection came back empty and bindgen could not find
# linux/videodev2.h. The directories below are the ones zig compiles glibc targets against.
# cargo-zigbuild appends its own options to BINDGEN_EXTRA_CLANG_ARGS, so both apply.
zig_bindgen_env() {
  local arch=$1 lib
  lib=$(python3 -c 'import os, ziglang; print(os.path.join(os.path.dirname(ziglang.__file__), "lib"))' 2>/dev/null) ||
    lib=$(zig env | python3 -c 'import json, sys; print(json.load(sys.stdin)["lib_dir"])')
  local family=$arch
  [ "$arch" = x86_64 ] && family=x86
  export BINDGEN_EXTRA_CLANG_ARGS="-isystem $lib/include -isystem $lib/libc/include/$family-linux-gnu \
-isystem $lib/libc/include/generic-glibc -isystem $lib/libc/include/$family-linux-any \
-isystem $lib/libc/include/any-linux-any"
}
