#!/usr/bin/env bash
# The test command (README): installs the two programs the tests run that cargo cannot build —
# mosquitto (a real MQTT broker for tests/mqtt.rs) and openssl (its test CA) — then runs
# `cargo test` with any arguments given. On Debian/Ubuntu it installs them with apt-get (as root,
# or through sudo); elsewhere, install mosquitto and openssl yourself and run `cargo test`.
set -euo pipefail
cd "$(dirname "$0")"

missing=()
[ -x /usr/sbin/mosquitto ] || command -v mosquitto >/dev/null || missing+=(mosquitto)
command -v openssl >/dev/null || missing+=(openssl)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  if ! command -v apt-get >/dev/null || { [ ${#sudo[@]} -gt 0 ] && ! command -v sudo >/dev/null; }; then
    echo "test.sh: the MQTT tests need ${missing[*]}; install them (Debian/Ubuntu: apt-get install ${missing[*]}), then run this again" >&2
    exit 1
  fi
  echo "test.sh: installing ${missing[*]} (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  # Another apt (unattended-upgrades, a parallel CI step) may hold the lock for a while: wait.
  "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 update -qq
  "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
exec cargo test "$@"
