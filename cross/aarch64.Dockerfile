# Image for `cross build --target aarch64-unknown-linux-gnu` (named in ../Cross.toml; see README.md
# here). cross runs `docker build` on it before each build; after the first one the layers come
# from Docker's cache.
#
# cross passes CROSS_BASE_IMAGE: the image it would use for the target anyway. For cross installed
# from git that is ghcr.io/cross-rs/aarch64-unknown-linux-gnu:main: Ubuntu 20.04 (glibc 2.31),
# gcc-aarch64-linux-gnu, and the arm64 sysroot (libc6-dev-arm64-cross) in /usr/aarch64-linux-gnu.
ARG CROSS_BASE_IMAGE
FROM $CROSS_BASE_IMAGE

ARG DEBIAN_FRONTEND=noninteractive

# bindgen needs libclang 9 or newer. The images of the cross 0.2.5 release are Ubuntu 16.04,
# whose libclang is 3.8 (and its glibc 2.23): stop here with the fix instead of failing later
# inside v4l2-sys-mit's build script.
RUN . /etc/os-release && case "$VERSION_ID" in \
      16.04|18.04) echo "cross/aarch64.Dockerfile: base image is Ubuntu $VERSION_ID, whose libclang is too old for bindgen;" \
                        "install cross from git: cargo install cross --git https://github.com/cross-rs/cross" >&2; exit 1 ;; \
    esac

# libclang-dev: libclang for bindgen (v4l2-sys-mit turns linux/videodev2.h into Rust at build time).
# clang: the driver bindgen runs to find the target's default include directories.
# libc6-dev-arm64-cross, linux-libc-dev-arm64-cross: arm64 glibc and kernel (UAPI) headers under
#   /usr/aarch64-linux-gnu/include, which videodev2.h and its includes come from. The base image
#   already has them; they are named so this file says what the build relies on.
# pkg-config: for -sys crates that look libraries up (none today; cross sets PKG_CONFIG_PATH).
RUN apt-get update && \
    apt-get install --assume-yes --no-install-recommends \
        clang \
        libclang-dev \
        libc6-dev-arm64-cross \
        linux-libc-dev-arm64-cross \
        pkg-config && \
    rm -rf /var/lib/apt/lists/*

# bindgen reads BINDGEN_EXTRA_CLANG_ARGS_<target> (also with the triple's dashes as underscores)
# before BINDGEN_EXTRA_CLANG_ARGS, and adds --target=aarch64-unknown-linux-gnu itself. The sysroot
# makes clang parse videodev2.h with the arm64 headers. cross's image sets this variable with an
# extra `-idirafter/usr/include` (the build machine's headers as a fallback); it is left out on
# purpose, so a header missing from the arm64 sysroot fails the build instead of being taken from
# x86-64.
ENV BINDGEN_EXTRA_CLANG_ARGS_aarch64_unknown_linux_gnu="--sysroot=/usr/aarch64-linux-gnu"
