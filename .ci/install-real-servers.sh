#!/usr/bin/env bash
# .ci/install-real-servers.sh [DIR]
#
# Unpacks Debian 12 (bookworm) builds of vsftpd, ProFTPD (+ mod_tls) and
# Pure-FTPd side by side under DIR (default: <repo>/target/real-servers)
# for tests/integration/real_servers.rs, without installing the (mutually conflicting)
# server packages, and installs independent FTPS implementations next to
# them (launchers in tests/servers/):
#   DIR/vsftpd/usr/sbin/vsftpd
#   DIR/proftpd/usr/sbin/proftpd           (proftpd-core)
#   DIR/proftpd/usr/lib/proftpd/mod_tls.so (proftpd-mod-crypto; NOT in -core)
#   DIR/pure-ftpd/usr/sbin/pure-ftpd
#   DIR/ftp-srv/node_modules/ftp-srv       (npm, Node.js `tls`)
#   DIR/unftp/bin/unftp                    (crates.io, rustls; built once and
#                                           kept in ~/.cache/ftps-scan, since
#                                           the build takes minutes)
#   DIR/py/bin/python                      (venv: pyftpdlib + pyOpenSSL,
#                                           tlslite-ng)
# The servers' shared libraries and the tools the test harness runs
# (openssl, unshare and mount from util-linux/mount, kill from procps,
# python3-venv; nodejs/npm when missing) are apt-get installed.
# Idempotent: finished steps are skipped. Must run as root on Debian 12.
# Network: the configured apt mirror, and the npm, PyPI and crates.io
# registries through npm, pip and cargo.
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
  python3 python3-venv                                        # pyftpdlib, tlslite-ng
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

# ---- independent implementations: pinned versions ----
FTP_SRV_VERSION=4.6.3
UNFTP_VERSION=0.16.0
PY_PACKAGES=(pyftpdlib==2.2.0 pyOpenSSL==26.4.0 tlslite-ng==0.8.2)

# ftp-srv (Node.js). The image's nodejs (20) brings npm; a bare Debian 12
# gets Debian's nodejs 18 and npm.
if ! command -v npm >/dev/null || ! command -v node >/dev/null; then
  echo ">> apt-get install nodejs npm"
  apt_update_once
  apt-get install -y --no-install-recommends nodejs npm
fi
FTP_SRV_DIR="$DIR/ftp-srv"
if [[ "$(cat "$FTP_SRV_DIR/.installed" 2>/dev/null)" == "ftp-srv@$FTP_SRV_VERSION" &&
      -f "$FTP_SRV_DIR/node_modules/ftp-srv/package.json" ]]; then
  echo ">> ftp-srv $FTP_SRV_VERSION already installed in $FTP_SRV_DIR"
else
  echo ">> npm install ftp-srv@$FTP_SRV_VERSION"
  rm -rf "$FTP_SRV_DIR"
  mkdir -p "$FTP_SRV_DIR"
  # --ignore-scripts: only dtrace-provider (an optional bunyan dependency)
  # has an install script, a native build nobody needs.
  npm install --prefix "$FTP_SRV_DIR" --no-audit --no-fund --ignore-scripts \
    --omit=dev --save-exact "ftp-srv@$FTP_SRV_VERSION"
  echo "ftp-srv@$FTP_SRV_VERSION" > "$FTP_SRV_DIR/.installed"
fi

# unftp (Rust, rustls). Without default features: anonymous auth and the
# filesystem back end are built in, FTPS is always there; the defaults add
# only the GCS / opendal back ends and REST / JSON auth.
UNFTP_CACHE=${FTPS_SCAN_CACHE:-${HOME:-/root}/.cache/ftps-scan}/unftp-$UNFTP_VERSION
if [[ -x "$DIR/unftp/bin/unftp" && "$(cat "$DIR/unftp/.installed" 2>/dev/null)" == "unftp@$UNFTP_VERSION" ]]; then
  echo ">> unftp $UNFTP_VERSION already installed in $DIR/unftp"
else
  if [[ ! -x "$UNFTP_CACHE/bin/unftp" ]]; then
    command -v cargo >/dev/null || { echo "!! cargo not on PATH (needed to build unftp)" >&2; exit 1; }
    echo ">> cargo install unftp@$UNFTP_VERSION (takes minutes; cached in $UNFTP_CACHE)"
    start=$SECONDS
    cargo install unftp --version "$UNFTP_VERSION" --locked --no-default-features \
      --root "$UNFTP_CACHE"
    echo ">> unftp built in $((SECONDS - start)) s"
  fi
  rm -rf "$DIR/unftp"
  mkdir -p "$DIR/unftp/bin"
  cp "$UNFTP_CACHE/bin/unftp" "$DIR/unftp/bin/unftp"
  echo "unftp@$UNFTP_VERSION" > "$DIR/unftp/.installed"
fi

# pyftpdlib (pyOpenSSL) and tlslite-ng, in a venv of Debian's python3.
PY_DIR="$DIR/py"
if [[ "$(cat "$PY_DIR/.installed" 2>/dev/null)" == "${PY_PACKAGES[*]}" ]] &&
   "$PY_DIR/bin/python" -c 'import pyftpdlib, OpenSSL, tlslite' 2>/dev/null; then
  echo ">> python venv already set up in $PY_DIR"
else
  echo ">> python venv $PY_DIR: ${PY_PACKAGES[*]}"
  rm -rf "$PY_DIR"
  /usr/bin/python3 -m venv "$PY_DIR"
  "$PY_DIR/bin/pip" install --quiet --disable-pip-version-check "${PY_PACKAGES[@]}"
  echo "${PY_PACKAGES[*]}" > "$PY_DIR/.installed"
fi

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
check_ldd "$DIR/unftp/bin/unftp"
"$DIR/unftp/bin/unftp" --version >/dev/null || { echo "!! unftp does not run" >&2; fail=1; }
"$PY_DIR/bin/python" -c 'import pyftpdlib, OpenSSL, tlslite' || { echo "!! python venv broken" >&2; fail=1; }
NODE_PATH="$FTP_SRV_DIR/node_modules" node -e 'require("ftp-srv")' || { echo "!! ftp-srv does not load" >&2; fail=1; }
for tool in openssl unshare mount kill node; do
  command -v "$tool" >/dev/null || { echo "!! $tool not on PATH" >&2; fail=1; }
done

echo
echo "Server binaries (FTPS_SCAN_REAL_SERVERS=$DIR):"
for name in vsftpd proftpd pure-ftpd; do
  echo "  $name: $DIR/$name/${BINS[$name]}"
done
echo "  proftpd ModulePath: $DIR/proftpd/usr/lib/proftpd (mod_tls.so)"
echo "  ftp-srv $FTP_SRV_VERSION: $FTP_SRV_DIR/node_modules (node $(node --version))"
echo "  unftp: $DIR/unftp/bin/unftp ($("$DIR/unftp/bin/unftp" --version 2>/dev/null | head -1))"
echo "  pyftpdlib, tlslite-ng: $PY_DIR/bin/python ($("$PY_DIR/bin/python" --version))"
exit $fail
