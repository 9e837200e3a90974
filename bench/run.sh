#!/usr/bin/env bash
# bench/run.sh: ftps-scan throughput, CPU and memory on loopback.
#
#   bash bench/run.sh                      # everything, full sizes (about 5 minutes on 2 cores)
#   CASES=dead DEAD_N=5000 bash bench/run.sh        # one quick case
#   DEAD_N=2000 STREAM_NS="2000 4000" FLEET_N=20 SSLYZE_N=5 REPS=1 bash bench/run.sh  # smoke run
#
# Cases (CASES, space-separated; default "dead stream fleet"; "order",
# "latency" and "compare" run when named):
#   dead    DEAD_N (65536) targets 127.77.x.y:21, nothing listening (connection
#           refused), -c DEAD_C (2000); the same file through bench/baseline
#           (a bare tokio connect loop) at the same concurrency; REPS (3) runs
#           each, alternating. Plus one run of the CIDR form -t 127.77.0.0/16.
#   stream  STREAM_NS ("100000 1000000") targets streamed from a file
#           (127.1.0.0 upwards, port STREAM_PORT=21, nothing listening):
#           peak RSS against target count, as rows finish and with
#           --sort input (rows spooled to disk and merged at the end).
#   fleet   one vsftpd (explicit FTPS, TLS 1.2+1.3, self-signed RSA-2048 made
#           here by openssl) listening on every address, FLEET_N (1000)
#           targets 127.0.x.y:FLEET_PORT: ftps-scan default scan (data checks
#           on), --no-data, --no-posture, --no-posture --ciphers; then sslyze
#           (pip, own venv) on SSLYZE_N (default 100: sslyze needs about 1 s of
#           server CPU per endpoint here, so 1000 would take over 10 minutes;
#           set SSLYZE_N=1000 for all of them, SSLYZE_N=0 to skip sslyze),
#           capped by SSLYZE_TIMEOUT (1200 s). Each fleet run also reports
#           TCP connections per endpoint (growth of Tcp ActiveOpens in
#           /proc/net/snmp of the namespace: the measured program is the only
#           active opener there, vsftpd only accepts in passive mode) and the
#           ftps-scan results counted by status, prot_c, data_tls and
#           data_tls_reuse_required. FLEET_SCANS ("default nodata
#           noposture ciphers") picks the ftps-scan runs, FLEET_REPS (1) runs
#           each that many times in turn and prints the median CPU per
#           endpoint; "floor" in FLEET_SCANS also runs bench/floor
#           (ftps-floor: the default scan's connections, handshakes and FTP
#           commands with nothing recorded, the yardstick for its CPU per
#           endpoint; explicit FTPS only, no JSON Lines) on the same fleet,
#           in turn with the others;
#           FLEET_WRAP is a command prefix for ftps-scan and ftps-floor (e.g.
#           FLEET_WRAP="valgrind --tool=callgrind --callgrind-out-file=F",
#           with a small FLEET_N and FLEET_C: instruction counts that do not
#           depend on the machine's load). FLEET_JSONL=1 also writes
#           $WORK/fleet-SCAN.jsonl (to compare the facts of two builds).
#   compare COMPARE_N (100) endpoints 127.0.x.y:COMPARE_PORT (21: nmap's
#           ssl scripts speak STARTTLS for FTP on the ftp port) served by one
#           vsftpd set up as for the fleet case, scanned in the same run by
#           ftps-scan (default, --no-posture, --no-posture --ciphers), nmap
#           (NMAP, default "nmap" from PATH: -n -Pn -sT -p COMPARE_PORT
#           --script ssl-enum-ciphers,ssl-cert,sslv2, plus NMAP_ARGS) and
#           sslyze (as in the fleet case; SSLYZE_N=0 skips it); each capped
#           by COMPARE_TIMEOUT (1800 s). Reports wall time, client and
#           server CPU per endpoint, the ratios to ftps-scan, and
#           bench/compare_facts.py's check that the three establish the same
#           facts per endpoint (accepted versions SSLv2 ... TLS 1.3, leaf
#           certificate SHA-256), with COMPARE_SHOW (3) endpoints printed
#           side by side.
#
#   order   stalling endpoints (bench/silent_listener.py accepts and never
#           speaks, so each endpoint waits ORDER_READ (1) s for a greeting):
#           ORDER_HOSTS (250) addresses 127.2.x.y times ORDER_PORTS (20) ports
#           from ORDER_BASE_PORT (30001), -c ORDER_C (2000), --per-host 2, the
#           same endpoints sorted by host and shuffled; reports the ratio of
#           the two wall times (1.0 = order-independent).
#   latency LAT_N (20) endpoints 127.3.0.x:FLEET_PORT, each through
#           bench/delay_proxy.py (which adds a round-trip time to every
#           request and reply, control and passive data connections alike)
#           to one vsftpd on 127.0.0.1 (passive ports LAT_PASV_MIN (20000) and
#           the next LAT_PASV_PORTS-1), the default scan at each RTT in
#           LAT_RTTS ("0 50 100" ms); reports the median endpoint duration
#           and the round trips on the critical path (the slope of the median
#           duration between consecutive RTTs, e.g. (median at 100 ms -
#           median at 50 ms) / 50).
#
# Every figure printed: wall seconds, endpoints/second, the measured
# program's CPU (user+sys from /usr/bin/time -v, children included) per
# endpoint, and its peak RSS. Results also go to $WORK/results.tsv.
# VSFTPD_STRACE=FILE (fleet case, verification only: it slows the server)
# runs vsftpd under `strace -f -e trace=connect -o FILE`, to check that the
# server opens no TCP connection of its own.
#
# Network: only 127.0.0.0/8. By default the measurements run in a private
# network namespace (unshare --net, loopback only), so nothing can leave the
# machine and vsftpd's wildcard listener is reachable from loopback only.
# BENCH_NETNS=0 runs in the host namespace instead (vsftpd then listens on
# 0.0.0.0 of the host). Needs: bash, cargo, /usr/bin/time, python3, openssl,
# and for the fleet case vsftpd (VSFTPD=path, or found in PATH, or unpacked
# here from `apt-get download vsftpd`; it is never installed as a service).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$HERE")

: "${CASES:=dead stream fleet}"
: "${REPS:=3}"
: "${DEAD_N:=65536}"
: "${DEAD_C:=2000}"
: "${DEAD_PORT:=21}"
: "${STREAM_NS:=100000 1000000}"
: "${STREAM_C:=$DEAD_C}"
: "${STREAM_PORT:=21}"
: "${ORDER_HOSTS:=250}"
: "${ORDER_PORTS:=20}"
: "${ORDER_BASE_PORT:=30001}"
: "${ORDER_C:=2000}"
: "${ORDER_READ:=1}"
: "${LAT_N:=20}"
: "${LAT_RTTS:=0 50 100}"
: "${LAT_PASV_MIN:=20000}"
: "${LAT_PASV_PORTS:=40}"
: "${FLEET_N:=1000}"
: "${FLEET_PORT:=21021}"
: "${FLEET_MODE:=explicit}"
: "${FLEET_C:=64}"
: "${FLEET_SCANS:=default nodata noposture ciphers}"
: "${FLEET_REPS:=1}"
: "${PASV_MIN:=10000}"
: "${PASV_MAX:=19999}"
: "${SSLYZE_N:=100}"
: "${SSLYZE_VERSION:=6.3.1}"
: "${SSLYZE_TIMEOUT:=1200}"
: "${CASE_TIMEOUT:=900}"
: "${COMPARE_N:=100}"
: "${COMPARE_PORT:=21}"
: "${COMPARE_TIMEOUT:=1800}"
: "${COMPARE_SHOW:=3}"
: "${NMAP:=nmap}"
: "${NMAP_ARGS:=}"
: "${WORK:=$ROOT/target/bench}"
: "${BENCH_NETNS:=auto}"
: "${NOFILE:=20000}"

# BUILD_PROFILE: the cargo profile built and measured (release, or dist:
# release with fat LTO, the Dockerfile's). BIN=path measures another build
# (e.g. an older commit's) with the same cases.
: "${BUILD_PROFILE:=release}"
: "${BIN:=$ROOT/target/$BUILD_PROFILE/ftps-scan}"
BASE=$ROOT/bench/baseline/target/release/bare-connect
FLOOR=$ROOT/bench/floor/target/release/ftps-floor
VENV=$WORK/sslyze-venv
RESULTS=$WORK/results.tsv

say() { printf '%s\n' "$*" >&2; }
die() { say "bench: $*"; exit 1; }
has_case() { [[ " $CASES " == *" $1 "* ]]; }

# --------------------------------------------------------------------------
# Preparation (host network namespace: builds and package downloads)
# --------------------------------------------------------------------------
prepare() {
  mkdir -p "$WORK"
  [[ -x /usr/bin/time ]] || die "/usr/bin/time missing (apt-get install time)"
  command -v python3 >/dev/null || die "python3 missing"
  say "== build ($BUILD_PROFILE)"
  (cd "$ROOT" && timeout 1800 cargo build --profile "$BUILD_PROFILE" --locked --bin ftps-scan) >&2
  if has_case dead; then
    timeout 900 cargo build --release --locked --manifest-path "$HERE/baseline/Cargo.toml" >&2
  fi
  if has_case fleet && [[ " $FLEET_SCANS " == *" floor "* ]]; then
    timeout 1800 cargo build --release --locked --manifest-path "$HERE/floor/Cargo.toml" >&2
  fi
  if has_case fleet || has_case latency || has_case compare; then
    find_vsftpd
    command -v openssl >/dev/null || die "openssl missing (apt-get install openssl)"
    if has_case compare; then
      command -v "$NMAP" >/dev/null || die "nmap missing (apt-get install nmap, or NMAP=/path/to/nmap)"
    fi
    if { has_case fleet || has_case compare; } && ((SSLYZE_N > 0)) && [[ ! -x $VENV/bin/sslyze ]]; then
      say "== pip install sslyze==$SSLYZE_VERSION into $VENV"
      python3 -m venv "$VENV"
      timeout 900 "$VENV/bin/pip" install -q "sslyze==$SSLYZE_VERSION" >&2
    fi
  fi
}

find_vsftpd() {
  if [[ -n ${VSFTPD:-} ]]; then
    [[ -x $VSFTPD ]] || die "VSFTPD=$VSFTPD is not executable"
  elif command -v vsftpd >/dev/null; then
    VSFTPD=$(command -v vsftpd)
  elif [[ -x /usr/sbin/vsftpd ]]; then
    VSFTPD=/usr/sbin/vsftpd
  else
    # Unpack the Debian package; installing it would start a system service.
    local dir=$WORK/vsftpd-pkg
    if [[ ! -x $dir/usr/sbin/vsftpd ]]; then
      say "== apt-get download vsftpd (unpacked into $dir, not installed)"
      mkdir -p "$dir/debs"
      (cd "$dir/debs" && timeout 300 apt-get download vsftpd) >&2 \
        || die "cannot download vsftpd: run apt-get update, or set VSFTPD=/path/to/vsftpd"
      dpkg -x "$dir"/debs/vsftpd_*.deb "$dir"
    fi
    VSFTPD=$dir/usr/sbin/vsftpd
  fi
  if ldd "$VSFTPD" | grep -q "not found"; then
    ldd "$VSFTPD" | grep "not found" >&2
    die "vsftpd misses shared libraries (Debian 12: apt-get install libwrap0 libcap2 libpam0g libssl3)"
  fi
  export VSFTPD
}

machine() {
  say "== machine"
  say "nproc:   $(nproc)"
  say "cpu:     $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  say "memory:  $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  say "kernel:  $(uname -sr)"
  say "rustc:   $(rustc --version 2>/dev/null || echo '?')"
  say "commit:  $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')"
  # What the measured binary was built from: uncommitted source changes count.
  local dirty
  dirty=$(git -C "$ROOT" status --porcelain -- src Cargo.toml Cargo.lock build.rs 2>/dev/null | awk '{print $2}' | tr '\n' ' ')
  say "source:  ${dirty:+uncommitted changes in }${dirty:-clean (src, Cargo.toml, Cargo.lock)}"
  say "profile: $BUILD_PROFILE (BIN=$BIN)"
  say "binary:  sha256 $(sha256sum "$BIN" 2>/dev/null | cut -c1-16 || echo '?'), built $(date -u -r "$BIN" +%FT%TZ 2>/dev/null || echo '?')"
  if [[ -n ${BENCH_IN_NETNS:-} ]]; then say "netns:   private (unshare --net, loopback only)"; else say "netns:   host"; fi
  say "ulimit:  -n $(ulimit -n)"
  if has_case compare; then
    say "nmap:    $("$NMAP" --version 2>/dev/null | head -1 || echo '?')"
    say "sslyze:  $("$VENV/bin/pip" show sslyze 2>/dev/null | awk '/^Version/{print $2}' || echo '?') ($("$VENV/bin/python" --version 2>&1 || echo '?'))"
  fi
  if has_case fleet || has_case latency || has_case compare; then
    say "openssl: $(openssl version 2>/dev/null || echo '?')"
  fi
}

# --------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------

# measure LABEL N CMD...: runs CMD under /usr/bin/time -v and a timeout,
# stdout to $WORK/LABEL.out, stderr to $WORK/LABEL.err; prints and records
# wall, rate, CPU per endpoint and max RSS. Exit codes 0 and 1 are a finished
# scan (1 = some endpoint failed the policy); anything else is flagged.
measure() {
  local label=$1 n=$2
  shift 2
  local tfile=$WORK/$label.time rc=0 t0 t1
  say "-- $label: $*"
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$tfile" timeout -k 10 "${MEASURE_TIMEOUT:-$CASE_TIMEOUT}" "$@" \
    >"$WORK/$label.out" 2>"$WORK/$label.err" || rc=$?
  t1=$(date +%s.%N)
  local user sys rss
  user=$(awk -F': ' '/User time \(seconds\)/{print $2}' "$tfile")
  sys=$(awk -F': ' '/System time \(seconds\)/{print $2}' "$tfile")
  rss=$(awk -F': ' '/Maximum resident set size/{print $2}' "$tfile")
  local note=ok
  case $rc in
    0 | 1) ;;
    124 | 137) note="TIMEOUT(${MEASURE_TIMEOUT:-$CASE_TIMEOUT}s)" ;;
    *) note="exit-$rc" ;;
  esac
  awk -v label="$label" -v n="$n" -v t0="$t0" -v t1="$t1" -v u="$user" -v s="$sys" \
      -v rss="$rss" -v note="$note" 'BEGIN {
    wall = t1 - t0; cpu = u + s
    per = cpu / n
    unit = (per < 0.001) ? sprintf("%.1f us", per * 1e6) : sprintf("%.2f ms", per * 1e3)
    printf "%-28s %9d endpoints %9.2f s %10.0f endpoints/s  cpu %7.2f s (user %.2f sys %.2f) = %s/endpoint  max RSS %6.1f MiB  %s\n",
      label, n, wall, n / wall, cpu, u, s, unit, rss / 1024, note > "/dev/stderr"
    printf "%s\t%d\t%.3f\t%.1f\t%.2f\t%.2f\t%.2f\t%.1f\t%s\n",
      label, n, wall, n / wall, u, s, cpu / n * 1e6, rss / 1024, note >> ENVIRON["RESULTS"]
  }'
  [[ $note == ok ]] || say "   ($label: $note; see $WORK/$label.err)"
  LAST_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f", b - a}')
}
export RESULTS

# csv_statuses FILE: "status=count ..." from an ftps-scan CSV report.
csv_statuses() {
  python3 - "$1" <<'EOF'
import csv, sys, collections
with open(sys.argv[1], newline="") as f:
    rows = csv.DictReader(f)
    c = collections.Counter(r["status"] for r in rows)
print(" ".join(f"{k}={v}" for k, v in sorted(c.items())) or "no rows")
EOF
}

# csv_counts FILE: the fleet report counted by status and by the data-check
# columns, so the figures show which checks ran and what they found.
csv_counts() {
  python3 - "$1" <<'EOF'
import csv, sys, collections
with open(sys.argv[1], newline="") as f:
    rows = list(csv.DictReader(f))
def count(key):
    c = collections.Counter(r.get(key, "?") or "(empty)" for r in rows)
    return " ".join(f"{k}={v}" for k, v in sorted(c.items()))
for key in ("status", "prot_c", "data_tls", "data_tls_reuse_required", "data_tls_resumed"):
    print(f"   {key}: {count(key)}")
# The code of the reply that decided prot_c (e.g. 522 = transfer refused).
c = collections.Counter((r.get("prot_c_transfer_reply") or "(empty)")[:48] for r in rows)
print("   prot_c_transfer_reply: " + "; ".join(f"{k!r}={v}" for k, v in c.most_common(4)))
# Version probes without a verdict (e.g. no answer before the TLS timeout).
v = {k: sum(1 for r in rows if r.get(k) == "unknown") for k in ("sslv2", "sslv3", "tls1_0", "tls1_1", "tls1_2", "tls1_3")}
print("   version probes 'unknown': " + (" ".join(f"{k}={n}" for k, n in v.items() if n) or "none"))
d = sorted(int(r["duration_ms"]) for r in rows if r.get("duration_ms"))
if d:
    q = lambda p: d[min(len(d) - 1, int(len(d) * p))]
    print(f"   endpoint duration ms: median {q(0.5)} p90 {q(0.9)} p99 {q(0.99)} max {d[-1]}")
f = collections.Counter(i for r in rows for i in (r.get("findings") or "").split(";") if i)
print("   findings: " + (" ".join(f"{k}={v}" for k, v in sorted(f.items())) or "none"))
bad = [r for r in rows if r.get("status") != "ok"]
for r in bad[:5]:
    print(f"   not ok: {r['target']} {r['status']} phase={r.get('failed_phase')} {r.get('error', '')[:80]}")
EOF
}

# tcp_counters: "ActiveOpens PassiveOpens AttemptFails ListenOverflows
# TCPSynRetrans" of this network namespace (/proc/net is per namespace).
tcp_counters() {
  awk '
    FILENAME ~ /snmp/ && $1 == "Tcp:" { if (!h) { for (i = 2; i <= NF; i++) col[$i] = i; h = 1 }
      else { a = $col["ActiveOpens"]; p = $col["PassiveOpens"]; f = $col["AttemptFails"] } }
    FILENAME ~ /netstat/ && $1 == "TcpExt:" { if (!x) { for (i = 2; i <= NF; i++) xc[$i] = i; x = 1 }
      else { lo = $xc["ListenOverflows"]; sr = $xc["TCPSynRetrans"] } }
    END { print a, p, f, lo, sr }' /proc/net/snmp /proc/net/netstat
}

# port_free PORT: nothing listens on PORT (any address) in this namespace.
port_free() {
  ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# ratio A B: A/B with 2 decimals.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END{ if (NR%2) print v[(NR+1)/2]; else printf "%.1f\n", (v[NR/2]+v[NR/2+1])/2 }'; }

# --------------------------------------------------------------------------
# Case 1: dead sweep
# --------------------------------------------------------------------------
case_dead() {
  say ""
  say "== case 1: dead sweep, $DEAD_N targets 127.77.x.y:$DEAD_PORT (nothing listening), concurrency $DEAD_C"
  port_free "$DEAD_PORT" || die "something listens on port $DEAD_PORT; set DEAD_PORT"
  local file=$WORK/dead.txt
  awk -v n="$DEAD_N" -v p="$DEAD_PORT" 'BEGIN{ for (i = 0; i < n; i++)
    printf "127.%d.%d.%d:%d\n", 77 + int(i / 65536), int(i / 256) % 256, i % 256, p }' >"$file"
  local scan_rates="" base_rates="" r
  for ((r = 1; r <= REPS; r++)); do
    measure "dead-scan-$r" "$DEAD_N" "$BIN" -q -f csv -o "$WORK/dead-scan.csv" -c "$DEAD_C" "$file"
    scan_rates+=" $(awk -v n="$DEAD_N" -v w="$LAST_WALL" 'BEGIN{printf "%.0f", n / w}')"
    say "   statuses: $(csv_statuses "$WORK/dead-scan.csv")"
    measure "dead-bare-$r" "$DEAD_N" "$BASE" "$file" "$DEAD_C" 5
    base_rates+=" $(awk -v n="$DEAD_N" -v w="$LAST_WALL" 'BEGIN{printf "%.0f", n / w}')"
    say "   $(cat "$WORK/dead-bare-$r.out")"
  done
  local ms mb
  ms=$(median <<<"$scan_rates")
  mb=$(median <<<"$base_rates")
  say "   median: ftps-scan $ms endpoints/s, bare loop $mb connects/s, ratio $(ratio "$ms" "$mb") (target >= 0.67)"
  printf 'dead-median\tscan=%s\tbare=%s\tratio=%s\n' "$ms" "$mb" "$(ratio "$ms" "$mb")" >>"$RESULTS"

  # The CIDR form: a /16 is 65,534 host addresses (network and broadcast skipped).
  if ((DEAD_N == 65536)); then
    measure "dead-scan-cidr16" 65534 "$BIN" -q -f csv -o "$WORK/dead-cidr.csv" -c "$DEAD_C" \
      -t 127.77.0.0/16 --ports "$DEAD_PORT" --mode explicit
    say "   statuses: $(csv_statuses "$WORK/dead-cidr.csv")"
  fi
  rm -f "$WORK/dead-scan.csv" "$WORK/dead-cidr.csv"
}

# --------------------------------------------------------------------------
# Case 2: streamed targets, memory against count
# --------------------------------------------------------------------------
case_stream() {
  say ""
  say "== case 2: targets streamed from a file, 127.1.0.0 upwards, port $STREAM_PORT (nothing listening), concurrency $STREAM_C"
  port_free "$STREAM_PORT" || die "something listens on port $STREAM_PORT; set STREAM_PORT"
  local n file
  for n in $STREAM_NS; do
    file=$WORK/stream-$n.txt
    awk -v n="$n" -v p="$STREAM_PORT" 'BEGIN{ base = 65536; for (i = 0; i < n; i++) { a = base + i
      printf "127.%d.%d.%d:%d\n", int(a / 65536) % 256, int(a / 256) % 256, a % 256, p } }' >"$file"
    measure "stream-$n" "$n" "$BIN" -q -f csv -o "$WORK/stream.csv" -c "$STREAM_C" "$file"
    say "   statuses: $(csv_statuses "$WORK/stream.csv")"
    # --sort input: rows spooled to disk, external merge at the end.
    measure "stream-sorted-$n" "$n" "$BIN" -q --sort input -f csv -o "$WORK/stream.csv" -c "$STREAM_C" "$file"
    say "   statuses: $(csv_statuses "$WORK/stream.csv"); rows in input order: $(awk -F, 'NR > 1 { if ($1 != NR - 2) bad++ } END { print (bad ? "NO (" bad " out of place)" : "yes") }' "$WORK/stream.csv")"
    rm -f "$WORK/stream.csv" "$file"
  done
}

# --------------------------------------------------------------------------
# Case 3: a fleet of FTPS endpoints (one vsftpd, many loopback addresses)
# --------------------------------------------------------------------------
VS_PID=""
FLEET_DIR=""
cleanup() {
  if [[ -n ${PROXY_PID:-} ]]; then
    kill "$PROXY_PID" 2>/dev/null || true
    PROXY_PID=""
  fi
  if [[ -n ${ORDER_PID:-} ]]; then
    kill "$ORDER_PID" 2>/dev/null || true
    ORDER_PID=""
  fi
  if [[ -n $VS_PID ]]; then
    kill -TERM -- "-$VS_PID" 2>/dev/null || true
    wait "$VS_PID" 2>/dev/null || true
    VS_PID=""
  fi
  if [[ -n $FLEET_DIR && -d $FLEET_DIR ]]; then rm -rf "$FLEET_DIR"; fi
}

start_vsftpd() {
  port_free "$FLEET_PORT" || die "something listens on port $FLEET_PORT; set FLEET_PORT"
  # Its own world-traversable directory: vsftpd switches to unprivileged users.
  FLEET_DIR=$(mktemp -d /tmp/ftps-bench.XXXXXX)
  chmod 755 "$FLEET_DIR"
  mkdir -m 755 "$FLEET_DIR/anon" "$FLEET_DIR/empty"
  echo hello >"$FLEET_DIR/anon/hello.txt"
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$FLEET_DIR/key.pem" -out "$FLEET_DIR/cert.pem" \
    -days 365 -subj /CN=localhost 2>/dev/null
  chmod 600 "$FLEET_DIR/key.pem"
  local implicit=NO
  [[ $FLEET_MODE == implicit ]] && implicit=YES
  # No listen_address: vsftpd listens on every address, so every 127.x.y.z
  # reaches it. max_clients / max_per_ip default to 0 (unlimited) in vsftpd
  # 3.0.3; set explicitly so a packaged default cannot cap the run (all
  # scanner connections come from 127.0.0.1).
  cat >"$FLEET_DIR/vsftpd.conf" <<EOF
${VS_LISTEN_ADDRESS:+listen_address=$VS_LISTEN_ADDRESS}
listen=YES
listen_ipv6=NO
listen_port=$FLEET_PORT
background=NO
seccomp_sandbox=NO
anonymous_enable=YES
local_enable=NO
write_enable=NO
anon_root=$FLEET_DIR/anon
ftp_username=daemon
secure_chroot_dir=$FLEET_DIR/empty
xferlog_enable=NO
max_clients=0
max_per_ip=0
pasv_enable=YES
pasv_min_port=$PASV_MIN
pasv_max_port=$PASV_MAX
ssl_enable=YES
implicit_ssl=$implicit
allow_anon_ssl=YES
force_anon_logins_ssl=YES
force_anon_data_ssl=YES
force_local_logins_ssl=NO
force_local_data_ssl=NO
rsa_cert_file=$FLEET_DIR/cert.pem
rsa_private_key_file=$FLEET_DIR/key.pem
ssl_ciphers=HIGH
EOF
  # vsftpd reports fatal config errors on fd 0, so that is a writable file.
  # setsid: its own process group, killed as a whole by cleanup().
  local wrap=()
  [[ -n ${VSFTPD_STRACE:-} ]] && wrap=(strace -f -qq -e trace=connect -o "$VSFTPD_STRACE")
  setsid "${wrap[@]}" "$VSFTPD" "$FLEET_DIR/vsftpd.conf" 0<>"$FLEET_DIR/vsftpd.fd0" >"$FLEET_DIR/vsftpd.out" 2>&1 &
  VS_PID=$!
  local i
  for ((i = 0; i < 50; i++)); do
    kill -0 "$VS_PID" 2>/dev/null || die "vsftpd exited: $(cat "$FLEET_DIR/vsftpd.fd0" "$FLEET_DIR/vsftpd.out")"
    if ! port_free "$FLEET_PORT"; then break; fi
    sleep 0.1
  done
  port_free "$FLEET_PORT" && die "vsftpd not listening on $FLEET_PORT after 5 s"
  say "   $("$VSFTPD" -v 0>&1 2>/dev/null | head -1 || true), pid $VS_PID on *:$FLEET_PORT ($FLEET_MODE, ssl_ciphers=HIGH: TLS 1.2 + 1.3)"
}

# CPU seconds (user+sys) of vsftpd's finished sessions: the listener reaps
# them, so they add up in its cutime/cstime.
server_cpu() {
  local pid=$VS_PID
  # Under strace the listener is strace's child.
  [[ -n ${VSFTPD_STRACE:-} ]] && pid=$(pgrep -P "$VS_PID" | head -1)
  awk -v hz="$(getconf CLK_TCK)" '{ print ($16 + $17) / hz }' "/proc/$pid/stat"
}

fleet_run() {
  # fleet_run LABEL N CMD...: measure plus the server's CPU and the TCP
  # connections opened over the run.
  local label=$1 n=$2 before after tcp0 tcp1
  before=$(server_cpu)
  tcp0=$(tcp_counters)
  measure "$@"
  tcp1=$(tcp_counters)
  after=$(server_cpu)
  awk -v a="$after" -v b="$before" -v n="$n" -v l="$label" -v t0="$tcp0" -v t1="$tcp1" 'BEGIN{
    split(t0, x, " "); split(t1, y, " ")
    act = y[1] - x[1]; pas = y[2] - x[2]; fail = y[3] - x[3]; ovf = y[4] - x[4]; syn = y[5] - x[5]
    printf "   server (vsftpd) cpu during %s: %.2f s = %.2f ms/endpoint\n", l, a - b, (a - b) / n * 1000 > "/dev/stderr"
    printf "   tcp during %s: %d active opens = %.2f connections/endpoint; %d passive opens, %d attempt fails, %d listen overflows, %d SYN retransmits\n",
      l, act, act / n, pas, fail, ovf, syn > "/dev/stderr"
    printf "%s-server-cpu\t%.2f\n", l, a - b >> ENVIRON["RESULTS"]
    printf "%s-tcp\tactive=%d\tper_endpoint=%.2f\tpassive=%d\tattempt_fails=%d\tlisten_overflows=%d\tsyn_retrans=%d\n",
      l, act, act / n, pas, fail, ovf, syn >> ENVIRON["RESULTS"] }'
}

case_fleet() {
  say ""
  say "== case 3: fleet of $FLEET_N FTPS endpoints 127.0.x.y:$FLEET_PORT, one vsftpd"
  start_vsftpd
  local file=$WORK/fleet.txt mode_args=()
  [[ $FLEET_MODE == implicit ]] && mode_args=(--mode implicit)
  awk -v n="$FLEET_N" -v p="$FLEET_PORT" 'BEGIN{ for (i = 0; i < n; i++)
    printf "127.0.%d.%d:%d\n", 1 + int(i / 250), 1 + i % 250, p }' >"$file"

  # FLEET_SCANS of: default (versions + certificate + posture + data
  # checks), nodata, noposture, ciphers; FLEET_REPS runs of each, in turn.
  local scan rep walls_def="" walls_nd="" walls_np="" walls_ci="" cpus
  local -A cpu_of=()
  for ((rep = 1; rep <= FLEET_REPS; rep++)); do
    for scan in $FLEET_SCANS; do
      local extra=() label=fleet-scan-$scan
      case $scan in
        default) ;;
        nodata) extra=(--no-data) ;;
        noposture) extra=(--no-posture) ;;
        ciphers) extra=(--no-posture --ciphers) ;;
        floor) ;;
        *) die "unknown FLEET_SCANS entry $scan" ;;
      esac
      ((FLEET_REPS > 1)) && label+="-$rep"
      if [[ $scan == floor ]]; then
        [[ $FLEET_MODE == explicit ]] || die "the floor speaks explicit FTPS only (FLEET_MODE=$FLEET_MODE)"
        # shellcheck disable=SC2086 # FLEET_WRAP is a command prefix, split on purpose
        fleet_run "$label" "$FLEET_N" ${FLEET_WRAP:-} "$FLOOR" "$file" "$FLEET_C"
        cpu_of[$scan]+=" $(awk -F'\t' -v l="$label" '$1 == l {v = $7} END {print v}' "$RESULTS")"
        continue
      fi
      # shellcheck disable=SC2086 # FLEET_WRAP is a command prefix, split on purpose
      [[ -n ${FLEET_JSONL:-} ]] && extra+=(--jsonl "$WORK/fleet-$scan.jsonl")
      fleet_run "$label" "$FLEET_N" ${FLEET_WRAP:-} "$BIN" -q -f csv -o "$WORK/fleet-$scan.csv" -c "$FLEET_C" "${extra[@]}" "${mode_args[@]}" "$file"
      csv_counts "$WORK/fleet-$scan.csv" >&2
      cpu_of[$scan]+=" $(awk -F'\t' -v l="$label" '$1 == l {v = $7} END {print v}' "$RESULTS")"
      case $scan in
        default) walls_def+=" $LAST_WALL" ;;
        nodata) walls_nd+=" $LAST_WALL" ;;
        noposture) walls_np+=" $LAST_WALL" ;;
        ciphers) walls_ci+=" $LAST_WALL" ;;
      esac
    done
  done
  if ((FLEET_REPS > 1)); then
    for scan in $FLEET_SCANS; do
      cpus=${cpu_of[$scan]}
      say "   median of $FLEET_REPS runs, $scan: cpu $(median <<<"$cpus" | awk '{printf "%.2f ms", $1 / 1000}')/endpoint (runs:$(for c in $cpus; do awk -v c="$c" 'BEGIN{printf " %.2f", c / 1000}'; done) ms)"
      printf 'fleet-median-%s	cpu_us_per_endpoint=%s
' "$scan" "$(median <<<"$cpus")" >>"$RESULTS"
    done
  fi

  local r_def=n/a r_nd=n/a r_np=n/a r_ci=n/a r_sl=n/a
  rate_of() { [[ -n $1 ]] && awk -v n="$FLEET_N" -v w="$(median <<<"$1")" 'BEGIN{printf "%.2f", n / w}' || echo n/a; }
  r_def=$(rate_of "$walls_def")
  r_nd=$(rate_of "$walls_nd")
  r_np=$(rate_of "$walls_np")
  r_ci=$(rate_of "$walls_ci")
  if ((SSLYZE_N == 0)); then
    say "   endpoints/s: ftps-scan default $r_def, --no-data $r_nd, --no-posture $r_np, --no-posture --ciphers $r_ci; sslyze skipped (SSLYZE_N=0)"
    printf 'fleet-rates\tdefault=%s\tnodata=%s\tnoposture=%s\tciphers=%s\tsslyze=skipped\n' \
      "$r_def" "$r_nd" "$r_np" "$r_ci" >>"$RESULTS"
    cleanup
    return
  fi

  local sfile=$WORK/fleet-sslyze.txt starttls=()
  head -n "$SSLYZE_N" "$file" >"$sfile"
  [[ $FLEET_MODE == explicit ]] && starttls=(--starttls ftp)
  MEASURE_TIMEOUT=$SSLYZE_TIMEOUT fleet_run "sslyze-$SSLYZE_N" "$SSLYZE_N" "$VENV/bin/sslyze" --quiet \
    --json_out "$WORK/sslyze.json" "${starttls[@]}" --mozilla_config disable \
    --sslv2 --sslv3 --tlsv1 --tlsv1_1 --tlsv1_2 --tlsv1_3 --certinfo --targets_in "$sfile"
  local sl_wall=$LAST_WALL
  if [[ -s $WORK/sslyze.json ]]; then
    say "   sslyze results: $(python3 - "$WORK/sslyze.json" <<'EOF'
import json, sys, collections
d = json.load(open(sys.argv[1]))
c = collections.Counter(r.get("scan_status", "?") for r in d.get("server_scan_results", []))
errs = sum(1 for r in d.get("server_scan_results", []) for k, v in (r.get("scan_result") or {}).items()
           if isinstance(v, dict) and v.get("status") == "ERROR")
print(" ".join(f"{k}={v}" for k, v in sorted(c.items())), f"scan-command errors={errs}",
      f"connectivity errors={len(d.get('server_connectivity_errors', []) or [])}")
EOF
)"
  fi
  # Per-endpoint rates, so a subset (SSLYZE_N < FLEET_N) compares fairly.
  r_sl=$(awk -v n="$SSLYZE_N" -v w="$sl_wall" 'BEGIN{printf "%.2f", n / w}')
  say "   endpoints/s: ftps-scan default $r_def, --no-data $r_nd, --no-posture $r_np, --no-posture --ciphers $r_ci, sslyze $r_sl (on $SSLYZE_N)"
  say "   ratio to sslyze: default $(ratio "$r_def" "$r_sl")x, --no-data $(ratio "$r_nd" "$r_sl")x, --no-posture $(ratio "$r_np" "$r_sl")x, --ciphers $(ratio "$r_ci" "$r_sl")x"
  printf 'fleet-rates\tdefault=%s\tnodata=%s\tnoposture=%s\tciphers=%s\tsslyze=%s\tsslyze_n=%s\n' \
    "$r_def" "$r_nd" "$r_np" "$r_ci" "$r_sl" "$SSLYZE_N" >>"$RESULTS"
  cleanup
}

# --------------------------------------------------------------------------
# Case 6: ftps-scan, nmap and sslyze side by side on the same endpoints
# --------------------------------------------------------------------------
case_compare() {
  say ""
  local n=$COMPARE_N
  say "== case 6: $n FTPS endpoints 127.0.x.y:$COMPARE_PORT, one vsftpd: ftps-scan, nmap and sslyze side by side"
  # Port 21: nmap's ssl scripts use STARTTLS for FTP on the ftp port (its
  # service table maps 21 to ftp; -sV is not used, it would add probes).
  local FLEET_PORT=$COMPARE_PORT
  start_vsftpd
  local file=$WORK/compare.txt
  awk -v n="$n" -v p="$COMPARE_PORT" 'BEGIN{ for (i = 0; i < n; i++)
    printf "127.0.%d.%d:%d\n", 1 + int(i / 250), 1 + i % 250, p }' >"$file"
  local hosts=$WORK/compare-hosts.txt
  cut -d: -f1 "$file" >"$hosts"
  local w_def w_np w_ci w_nm w_sl c_def c_np c_ci c_nm c_sl
  cpu_per() { awk -F'\t' -v l="$1" '$1 == l {v = $7} END {printf "%.2f", v / 1000}' "$RESULTS"; }

  fleet_run compare-ftps-scan "$n" "$BIN" -q -f csv -o "$WORK/compare-default.csv" --jsonl "$WORK/compare-default.jsonl" -c "$FLEET_C" "$file"
  csv_counts "$WORK/compare-default.csv" >&2
  w_def=$LAST_WALL c_def=$(cpu_per compare-ftps-scan)
  fleet_run compare-ftps-scan-noposture "$n" "$BIN" -q -f csv -o "$WORK/compare-noposture.csv" -c "$FLEET_C" --no-posture "$file"
  w_np=$LAST_WALL c_np=$(cpu_per compare-ftps-scan-noposture)
  fleet_run compare-ftps-scan-ciphers "$n" "$BIN" -q -f csv -o "$WORK/compare-ciphers.csv" -c "$FLEET_C" --no-posture --ciphers "$file"
  w_ci=$LAST_WALL c_ci=$(cpu_per compare-ftps-scan-ciphers)

  # shellcheck disable=SC2086 # NMAP_ARGS: extra options, split on purpose
  MEASURE_TIMEOUT=$COMPARE_TIMEOUT fleet_run compare-nmap "$n" "$NMAP" -n -Pn -sT -p "$COMPARE_PORT" \
    --script ssl-enum-ciphers,ssl-cert,sslv2 $NMAP_ARGS -oX "$WORK/compare-nmap.xml" -iL "$hosts"
  w_nm=$LAST_WALL c_nm=$(cpu_per compare-nmap)
  say "   nmap: $(grep -c '<host ' "$WORK/compare-nmap.xml" 2>/dev/null || echo 0) hosts in the XML, $(grep -c 'id="ssl-enum-ciphers"' "$WORK/compare-nmap.xml" 2>/dev/null || echo 0) with ssl-enum-ciphers output"

  if ((SSLYZE_N > 0)); then
    MEASURE_TIMEOUT=$COMPARE_TIMEOUT fleet_run compare-sslyze "$n" "$VENV/bin/sslyze" --quiet \
      --json_out "$WORK/compare-sslyze.json" --starttls ftp --mozilla_config disable \
      --sslv2 --sslv3 --tlsv1 --tlsv1_1 --tlsv1_2 --tlsv1_3 --certinfo --targets_in "$file"
    w_sl=$LAST_WALL c_sl=$(cpu_per compare-sslyze)
  else
    w_sl=0 c_sl=0
    echo '{"server_scan_results": []}' >"$WORK/compare-sslyze.json"
    say "   sslyze skipped (SSLYZE_N=0)"
  fi

  python3 "$HERE/compare_facts.py" "$WORK/compare-default.csv" "$WORK/compare-nmap.xml" \
    "$WORK/compare-sslyze.json" "$COMPARE_SHOW" >&2 || say "   (fact comparison failed)"

  say "   side by side on $n endpoints (wall s, client CPU ms/endpoint; ratio = other tool / ftps-scan):"
  local row
  for row in "ftps-scan default:$w_def:$c_def" "ftps-scan --no-posture:$w_np:$c_np" \
      "ftps-scan --no-posture --ciphers:$w_ci:$c_ci" "nmap ssl-enum-ciphers,ssl-cert,sslv2:$w_nm:$c_nm" \
      "sslyze:$w_sl:$c_sl"; do
    IFS=: read -r name w c <<<"$row"
    say "$(printf '   %-40s wall %8.2f s  cpu %8.2f ms/endpoint  wall ratio: vs default %7s, vs --ciphers %7s;  cpu ratio: vs default %7s, vs --ciphers %7s' \
      "$name" "$w" "$c" "$(ratio "$w" "$w_def")" "$(ratio "$w" "$w_ci")" "$(ratio "$c" "$c_def")" "$(ratio "$c" "$c_ci")")"
  done
  printf 'compare\tn=%s\twall_default=%s\twall_noposture=%s\twall_ciphers=%s\twall_nmap=%s\twall_sslyze=%s\tcpu_ms_default=%s\tcpu_ms_noposture=%s\tcpu_ms_ciphers=%s\tcpu_ms_nmap=%s\tcpu_ms_sslyze=%s\n' \
    "$n" "$w_def" "$w_np" "$w_ci" "$w_nm" "$w_sl" "$c_def" "$c_np" "$c_ci" "$c_nm" "$c_sl" >>"$RESULTS"
  cleanup
}

# --------------------------------------------------------------------------
# Case 4: input order, stalling endpoints
# --------------------------------------------------------------------------
case_order() {
  say ""
  local n=$((ORDER_HOSTS * ORDER_PORTS))
  say "== case 4: $n stalling endpoints ($ORDER_HOSTS hosts x $ORDER_PORTS ports), -c $ORDER_C, --per-host 2, read timeout ${ORDER_READ}s"
  local last=$((ORDER_BASE_PORT + ORDER_PORTS - 1)) p
  for ((p = ORDER_BASE_PORT; p <= last; p++)); do
    port_free "$p" || die "something listens on port $p; set ORDER_BASE_PORT"
  done
  python3 "$HERE/silent_listener.py" "$ORDER_BASE_PORT" "$ORDER_PORTS" &
  ORDER_PID=$!
  local i
  for ((i = 0; i < 50; i++)); do port_free "$last" || break; sleep 0.1; done
  local sorted=$WORK/order-by-host.txt shuffled=$WORK/order-shuffled.txt
  awk -v h="$ORDER_HOSTS" -v np="$ORDER_PORTS" -v b="$ORDER_BASE_PORT" 'BEGIN{ for (i = 0; i < h; i++) for (j = 0; j < np; j++)
    printf "127.2.%d.%d:%d\n", int(i / 250), i % 250 + 1, b + j }' >"$sorted"
  shuf --random-source=<(yes) "$sorted" >"$shuffled"
  measure "order-by-host" "$n" "$BIN" -q -f csv -o "$WORK/order.csv" -c "$ORDER_C" --per-host 2 --no-versions --read-timeout "$ORDER_READ" "$sorted"
  local by_host=$LAST_WALL
  say "   statuses: $(csv_statuses "$WORK/order.csv")"
  measure "order-shuffled" "$n" "$BIN" -q -f csv -o "$WORK/order.csv" -c "$ORDER_C" --per-host 2 --no-versions --read-timeout "$ORDER_READ" "$shuffled"
  local shuffled_wall=$LAST_WALL
  say "   statuses: $(csv_statuses "$WORK/order.csv")"
  say "   host-sorted / shuffled wall time: $(ratio "$by_host" "$shuffled_wall")"
  kill "$ORDER_PID" 2>/dev/null || true
  wait "$ORDER_PID" 2>/dev/null || true
  rm -f "$WORK/order.csv" "$WORK/order.csv.run.json" "$sorted" "$shuffled"
}

# --------------------------------------------------------------------------
# Case 5: latency, the default scan through a delay proxy
# --------------------------------------------------------------------------
# median_duration FILE: the median duration_ms of a report's rows.
median_duration() {
  python3 - "$1" <<'EOF'
import csv, sys
d = sorted(int(r["duration_ms"]) for r in csv.DictReader(open(sys.argv[1], newline="")) if r.get("duration_ms"))
print(d[len(d) // 2] if d else 0)
EOF
}

case_latency() {
  say ""
  say "== case 5: $LAT_N FTPS endpoints 127.3.0.x:$FLEET_PORT through bench/delay_proxy.py to one vsftpd on 127.0.0.1, round-trip times: $LAT_RTTS ms"
  local PASV_MIN=$LAT_PASV_MIN PASV_MAX=$((LAT_PASV_MIN + LAT_PASV_PORTS - 1)) VS_LISTEN_ADDRESS=127.0.0.1
  start_vsftpd
  local ports=("$FLEET_PORT") p
  for ((p = PASV_MIN; p <= PASV_MAX; p++)); do ports+=("$p"); done
  local file=$WORK/latency.txt
  awk -v n="$LAT_N" -v p="$FLEET_PORT" 'BEGIN{ for (i = 0; i < n; i++) printf "127.3.0.%d:%d\n", 1 + i, p }' >"$file"
  local rtt prev_rtt="" prev_median="" median i
  for rtt in $LAT_RTTS; do
    python3 "$HERE/delay_proxy.py" "$rtt" 127.0.0.1 127.3.0.1 "$LAT_N" "${ports[@]}" >"$WORK/proxy-$rtt.out" 2>&1 &
    PROXY_PID=$!
    for ((i = 0; i < 100; i++)); do grep -q ready "$WORK/proxy-$rtt.out" 2>/dev/null && break; sleep 0.1; done
    grep -q ready "$WORK/proxy-$rtt.out" || die "delay proxy did not start: $(cat "$WORK/proxy-$rtt.out")"
    measure "latency-rtt$rtt" "$LAT_N" "$BIN" -q -f csv -o "$WORK/latency.csv" -c "$LAT_N" "$file"
    csv_counts "$WORK/latency.csv" >&2
    median=$(median_duration "$WORK/latency.csv")
    say "   rtt ${rtt} ms: median endpoint duration $median ms"
    if [[ -n $prev_median ]] && ((rtt > prev_rtt)); then
      # The slope of duration against RTT: round trips waited in sequence.
      say "   round trips on the critical path per endpoint (median, ${prev_rtt} -> ${rtt} ms): $(awk -v a="$median" -v b="$prev_median" -v r="$((rtt - prev_rtt))" 'BEGIN{printf "%.1f", (a - b) / r}')"
    fi
    prev_rtt=$rtt prev_median=$median
    printf 'latency\trtt=%s\tmedian_ms=%s\n' "$rtt" "$median" >>"$RESULTS"
    kill "$PROXY_PID" 2>/dev/null || true
    wait "$PROXY_PID" 2>/dev/null || true
    PROXY_PID=""
  done
  rm -f "$WORK/latency.csv" "$WORK/latency.csv.run.json" "$file"
  cleanup
}

# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------
main() {
  if [[ -z ${BENCH_IN_NETNS:-} ]]; then
    prepare
    if [[ $BENCH_NETNS != 0 ]] && unshare --net true 2>/dev/null; then
      say "== re-running inside a private network namespace (loopback only)"
      exec unshare --net -- env BENCH_IN_NETNS=1 bash "${BASH_SOURCE[0]}"
    fi
    [[ $BENCH_NETNS == 0 ]] || say "bench: cannot unshare --net; running in the host namespace"
  else
    ip link set lo up
    if has_case fleet || has_case latency || has_case compare; then find_vsftpd; fi
  fi
  trap cleanup EXIT
  trap 'exit 130' INT TERM
  ulimit -n "$NOFILE" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
  [[ -x $BIN ]] || die "$BIN missing"
  machine
  : >"$RESULTS"
  local c
  for c in $CASES; do
    case $c in
      dead) case_dead ;;
      stream) case_stream ;;
      fleet) case_fleet ;;
      order) case_order ;;
      latency) case_latency ;;
      compare) case_compare ;;
      *) die "unknown case $c" ;;
    esac
  done
  say ""
  say "== results ($RESULTS): label, n, wall s, endpoints/s, user s, sys s, cpu us/endpoint, max RSS MiB, note"
  column -t -s $'\t' "$RESULTS" >&2 || cat "$RESULTS" >&2
}

main "$@"
