#!/usr/bin/env bash
# V4L2 integration test against a real kernel driver: boots Debian's amd64 kernel in
# qemu (software emulation) with a busybox initramfs that loads vivid and runs
# examples/vivid_probe.rs (cliper's capture code), then checks the probe's verdict.
# Installs its own Debian packages; needs root for apt-get. Exits non-zero on failure.
#   CLIPER_VM_CACHE  where the kernel package is unpacked (default ~/.cache/cliper-vm)
#   CLIPER_VM_TIMEOUT  seconds before the VM is killed (default 240)
set -euo pipefail
cd "$(dirname "$0")/../.."
started=$(date +%s)
cache=${CLIPER_VM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cliper-vm}
mkdir -p "$cache"

echo "== vm: packages"
export DEBIAN_FRONTEND=noninteractive
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
[ -x /bin/busybox ] && grep -qx insmod <(/bin/busybox --list) || missing+=(busybox-static)
command -v depmod >/dev/null || missing+=(kmod)
command -v strip >/dev/null || missing+=(binutils)
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# busybox (the dynamic one) can shadow busybox-static; only a static one runs alone in the VM.
if ldd /bin/busybox >/dev/null 2>&1; then
  echo "vm: /bin/busybox is not static (install busybox-static)" >&2
  exit 1
fi

echo "== vm: kernel"
# The kernel the linux-image-amd64 meta-package points at today, unpacked, not installed.
kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
if [ -z "$kpkg" ]; then
  apt-get update -qq
  kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
fi
kver=${kpkg#linux-image-}
kdir=$cache/$kpkg
if [ ! -f "$kdir/lib/modules/$kver/modules.dep" ]; then
  rm -rf "$kdir" "$cache"/*.deb
  (cd "$cache" && apt-get download "$kpkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  dpkg -x "$cache"/"$kpkg"_*.deb "$kdir"
  rm -f "$cache"/"$kpkg"_*.deb
  depmod -b "$kdir" "$kver"
fi
echo "vm: $kpkg"

echo "== vm: probe"
cargo build --quiet --example vivid_probe
probe=target/debug/examples/vivid_probe

echo "== vm: initramfs"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,modules}
cp /bin/busybox "$root/bin/busybox"
cp tests/vm/init "$root/init"
chmod +x "$root/init"
strip -o "$root/vivid_probe" "$probe"
# The probe's shared libraries, at the paths the dynamic loader looks for them.
for lib in $(ldd "$probe" | grep -o '/[^ ]*'); do
  cp -L --parents "$lib" "$root/"
done
# vivid's dependencies, in load order: modules.dep lists them so the last loads first.
moddir=$kdir/lib/modules/$kver
deps=$(awk -F': ' '$1 ~ /\/vivid\.ko$/ {print $2}' "$moddir/modules.dep")
[ -n "$deps" ] || { echo "vm: vivid not in $moddir/modules.dep" >&2; exit 1; }
: > "$root/modules.order"
for m in $(echo "$deps" | tr ' ' '\n' | tac); do
  cp "$moddir/$m" "$root/modules/"
  basename "$m" >> "$root/modules.order"
done
cp "$moddir/kernel/drivers/media/test-drivers/vivid/vivid.ko" "$root/modules/"
initrd=$cache/vivid-initrd.cpio.gz
(cd "$root" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > "$initrd")

echo "== vm: boot"
log=$cache/vivid-console.log
# TCG, not KVM: KVM hangs on some CI hosts, and software emulation boots in seconds.
timeout "${CLIPER_VM_TIMEOUT:-240}" qemu-system-x86_64 -nographic -no-reboot -accel tcg -m 512M \
  -kernel "$kdir/boot/vmlinuz-$kver" -initrd "$initrd" \
  -append 'console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init' < /dev/null | tee "$log" || true

echo "== vm: verdict ($(( $(date +%s) - started )) s including build)"
# list_devices (the `cliper devices` listing) must show vivid and its YUYV 640x360 rates.
if grep -q '^/dev/video0: vivid (driver vivid' "$log" && grep -q '^    640x360: .*25 fps' "$log" \
   && grep -q '^vivid_probe: PASS' "$log" && grep -q 'vm: probe exit=0' "$log"; then
  echo "vm: vivid capture test passed"
else
  echo "vm: vivid capture test FAILED (console log: $log)" >&2
  exit 1
fi
