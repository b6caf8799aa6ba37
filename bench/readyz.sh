#!/bin/sh
# /readyz load benchmark: wrk against the real supervisor and health-worker
# (with the ARI simulator as the edge, so /readyz answers 200), then the same
# while the health-worker is restarted with SIGTERM in a loop, then the idle
# memory of all four processes.  Prints figures; asserts nothing on speed.
#
#   make bench            (or: bench/readyz.sh [seconds])
set -eu
cd "$(dirname "$0")/.."
DUR=${1:-10}
command -v wrk >/dev/null 2>&1 || {
	SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
	$SUDO apt-get install -y -qq wrk >/dev/null
}
[ -x build/mai-supervisor ] && [ -x tests/ari-sim/mai-ari-sim ] || make -s all

. bench/lib.sh
cleanup() {
	[ -n "${loop:-}" ] && kill "$loop" 2>/dev/null || true
	bench_cleanup
}
trap cleanup EXIT INT TERM
bench_start 20000
url="http://127.0.0.1:$http_port/readyz"

# RSS counts every shared library page each process has touched (libc in
# all four, libcurl's OpenSSL/GnuTLS tree in two), plus the kernel's
# fault-around; PSS splits shared pages between their users, Private is
# what each process alone costs.
echo "== idle memory after ready (kB, from /proc/PID/smaps_rollup)"
sleep 2
printf '%-18s %8s %8s %8s\n' process rss pss private
for p in $sup $(cat "$tmp"/run/*-worker.pid); do
	awk -v n="$(cat /proc/"$p"/comm)" '
	    /^Rss:/ { r = $2 } /^Pss:/ { s = $2 }
	    /^Private_(Clean|Dirty):/ { v += $2 }
	    END { printf "%-18s %8d %8d %8d\n", n, r, s, v }' \
	    /proc/"$p"/smaps_rollup
done | tee "$tmp/mem"
awk '{ r += $2; s += $3; v += $4 }
    END { printf "%-18s %8d %8d %8d\n", "total", r, s, v }' "$tmp/mem"

# wrk on core 1, the (single-threaded) health-worker on core 0.
taskset -pc 0 "$(cat "$tmp/run/health-worker.pid")" >/dev/null
echo "== wrk -t1 -c50 -d${DUR}s $url"
taskset -c 1 wrk -t1 -c50 -d"${DUR}s" --latency "$url"

echo "== the same while the health-worker gets SIGTERM every second"
( while :; do
	sleep 1
	kill -TERM "$(cat "$tmp/run/health-worker.pid")" 2>/dev/null || true
  done ) &
loop=$!
taskset -c 1 wrk -t1 -c50 -d"${DUR}s" --latency "$url"
kill "$loop"; loop=""
echo "health-worker restarts: $(curl -s "http://127.0.0.1:$http_port/metrics" |
    awk '/^mai_worker_restarts_total\{worker="health-worker"\}/ {print $2}')"
