#!/usr/bin/env bash
# .ci/install-real-servers.sh [DIR]
#
# Unpacks Debian 12 (bookworm) builds of vsftpd, ProFTPD (+ mod_tls) and
# Pure-FTPd side by side under DIR (default: <repo>/target/real-servers)
# for tests/real_servers.rs, without installing the (mutually conflicting)
# server packages:
#   DIR/vsftpd/usr/sbin/vsftpd
#   DIR/proftpd/usr/sbin/proftpd           (proftpd-core)
#   DIR/proftpd/usr/lib/proftpd/mod_tls.so (proftpd-mod-crypto; NOT in -core)
#   DIR/pure-ftpd/usr/sbin/pure-ftpd
# The servers' shared libraries and the tools the test harness runs
# (openssl, unshare and mount from util-linux/mount, kill from procps) are
# apt-get installed.
# Idempotent: finished steps are skipped. Must run as root on Debian 12.
# Network: only the configured apt mirror.
set -euo pipefail

if [[ $# -gt 1 ]]; then
  echo "usage: $0 [DIR]" >&2
  exit 2
fi
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIR=${1:-$REPO/target/real-servers}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
DEBS="$DIR/debs"
mkdir -p "$DEBS"
# let the _apt sandbox user write downloads (avoids the "unsandboxed" warning)
chown _apt "$DEBS" 2>/dev/null || true

export DEBIAN_FRONTEND=noninteractive

apt_update_once() {
  if [[ ! -e "$DIR/.apt-updated" ]]; then
    apt-get update
    touch "$DIR/.apt-updated"
  fi
}

# Runtime libraries of the three server binaries (see `apt-cache depends`),
# plus what the harness runs: openssl, unshare (util-linux), kill (procps,
# stops a server's process group) and mount (the
# Pure-FTPd launcher bind-mounts a private /etc/passwd in a mount namespace).
PKGS_NEEDED=(
  openssl ca-certificates util-linux mount procps
  libc6 libcap2 libpam0g libpam-modules libssl3 libwrap0      # vsftpd
  libacl1 libcrypt1 libhiredis0.14 libidn2-0 libmemcached11   # proftpd-core
  libmemcachedutil2 libncursesw6 libpcre2-8-0 libpcre2-posix3
  libtinfo6 zlib1g
  libsodium23                                                 # pure-ftpd
)

missing=()
for p in "${PKGS_NEEDED[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if ((${#missing[@]})); then
  echo ">> apt-get install: ${missing[*]}"
  apt_update_once
  apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo ">> shared libraries and tools already installed"
fi

# name of subfolder -> space separated list of packages to unpack into it
declare -A PKGS=(
  [vsftpd]="vsftpd"
  [proftpd]="proftpd-core proftpd-mod-crypto"
  [pure-ftpd]="pure-ftpd"
)
declare -A BINS=(
  [vsftpd]="usr/sbin/vsftpd"
  [proftpd]="usr/sbin/proftpd"
  [pure-ftpd]="usr/sbin/pure-ftpd"
)

for name in vsftpd proftpd pure-ftpd; do
  dest="$DIR/$name"
  if [[ -x "$dest/${BINS[$name]}" && "$(cat "$dest/.unpacked" 2>/dev/null)" == "${PKGS[$name]}" ]]; then
    echo ">> $name already unpacked in $dest"
    continue
  fi
  for pkg in ${PKGS[$name]}; do
    if ! ls "$DEBS/${pkg}"_*.deb >/dev/null 2>&1; then
      echo ">> apt-get download $pkg"
      if ! (cd "$DEBS" && apt-get download "$pkg"); then
        apt_update_once
        (cd "$DEBS" && apt-get download "$pkg")
      fi
    fi
  done
  rm -rf "$dest"
  mkdir -p "$dest"
  for pkg in ${PKGS[$name]}; do
    for deb in "$DEBS/${pkg}"_*.deb; do
      echo ">> dpkg -x $(basename "$deb") $dest"
      dpkg -x "$deb" "$dest"
    done
  done
  echo "${PKGS[$name]}" > "$dest/.unpacked"
done

# sanity check: every binary/module must resolve all its shared libraries
fail=0
check_ldd() {
  local f=$1
  if [[ ! -e "$f" ]]; then
    echo "!! missing: $f" >&2
    fail=1
  elif ldd "$f" 2>&1 | grep -q "not found"; then
    echo "!! unresolved libraries in $f:" >&2
    ldd "$f" | grep "not found" >&2
    fail=1
  fi
}
for name in vsftpd proftpd pure-ftpd; do
  check_ldd "$DIR/$name/${BINS[$name]}"
done
check_ldd "$DIR/proftpd/usr/lib/proftpd/mod_tls.so"
for tool in openssl unshare mount kill; do
  command -v "$tool" >/dev/null || { echo "!! $tool not on PATH" >&2; fail=1; }
done

echo
echo "Server binaries (FTPS_SCAN_REAL_SERVERS=$DIR):"
for name in vsftpd proftpd pure-ftpd; do
  echo "  $name: $DIR/$name/${BINS[$name]}"
done
echo "  proftpd ModulePath: $DIR/proftpd/usr/lib/proftpd (mod_tls.so)"
exit $fail
