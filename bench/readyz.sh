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

tmp=$(mktemp -d /tmp/mai-bench-XXXXXX)
chmod 755 "$tmp"
ari_port=$((20000 + $$ % 10000))
http_port=$((ari_port + 1))
cleanup() {
	[ -n "${loop:-}" ] && kill "$loop" 2>/dev/null || true
	[ -n "${sup:-}" ] && kill -TERM "$sup" 2>/dev/null && wait "$sup" 2>/dev/null || true
	[ -n "${sim:-}" ] && kill "$sim" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

tests/ari-sim/mai-ari-sim --port "$ari_port" --user mai \
    --password 'mvoice8908!#' --quiet >"$tmp/sim.log" 2>&1 &
sim=$!
user=""; [ "$(id -u)" -eq 0 ] && user=nobody
env ARI_PORT="$ari_port" ARI_USER=mai ARI_PASSWORD='mvoice8908!#' \
    HTTP_LISTEN="127.0.0.1:$http_port" MAI_RUNDIR="$tmp/run" \
    MAI_USER="$user" LOG_LEVEL=warn build/mai-supervisor 2>"$tmp/sup.log" &
sup=$!
url="http://127.0.0.1:$http_port/readyz"
i=0
until [ "$(curl -s -o /dev/null -w '%{http_code}' "$url" || true)" = 200 ]; do
	i=$((i + 1)); [ $i -lt 300 ] || { echo "never ready"; cat "$tmp/sup.log"; exit 1; }
	sleep 0.1
done

echo "== idle memory (VmRSS, kB) after ready"
sleep 2
total=0
for p in $sup $(cat "$tmp"/run/*-worker.pid); do
	rss=$(awk '/^VmRSS/ {print $2}' /proc/"$p"/status)
	printf '%-20s %6s\n' "$(cat /proc/"$p"/comm)" "$rss"
	total=$((total + rss))
done
echo "total                $total kB"

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
