//! Raw V4L2 bindings: what the crates.io `v4l2-sys-mit` 0.3.0 generates with bindgen at
//! build time (needing libclang on every build machine), generated once per architecture
//! by `generate.sh` from Debian's Linux UAPI and glibc headers and committed. `v4l` 0.14
//! sees the same API. CI regenerates them and fails on any difference.
//!
//! The definitions come from `<linux/videodev2.h>`, which is covered by the Linux
//! syscall note (GPL-2.0 WITH Linux-syscall-note): using them from user space is what the
//! note allows.

#![allow(clippy::all)]
#![allow(deref_nullptr)]
#![allow(non_camel_case_types)]
#![allow(non_snake_case)]
#![allow(non_upper_case_globals)]

#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
include!("x86_64.rs");

#[cfg(all(target_arch = "aarch64", target_os = "linux"))]
include!("aarch64.rs");

#[cfg(not(all(target_os = "linux", any(target_arch = "x86_64", target_arch = "aarch64"))))]
compile_error!(
    "no committed V4L2 bindings for this target: add it to crates/v4l2-sys-mit/generate.sh, \
     or build cliper with --no-default-features (no V4L2 camera support)"
);
