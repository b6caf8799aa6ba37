#!/bin/sh
# Call flow benchmark: the ARI simulator places N incoming calls at once; the
# real supervisor, ws-worker and flow-worker run them through a short flow
# (bench/flow-short.json: answer, play one sound, hang up) with ARI REST back
# to the simulator.  Prints figures; asserts nothing on speed.
#
#   1) memory: the N calls are held inside their playback (the simulator's
#      playback lasts 10 minutes), flow-worker RSS at that peak minus its
#      idle RSS before the first call, per call;
#   2) throughput: N calls with 200 ms of playback until all have ended:
#      calls/s, flow-worker CPU time per call (schedstat run time, or
#      utime+stime where the kernel keeps no schedstats), and the
#      simulator's answer latency (StasisStart written -> answer request).
# A flow-worker that dies or restarts during a phase fails the run.
#
#   bench/flows.sh [calls] [flow_file]
# Environment: FLOWS_FILE (flow file when no argument), BENCH_EXTEN (the
# number dialled, default 43720270346: the bench flow routes it),
# BENCH_PLAY_MS (simulated length of a sound in the throughput phase,
# default 200), BENCH_TIMEOUT (seconds to wait for each phase, default 120),
# BUILD (directory of the binaries, default build).
set -eu
cd "$(dirname "$0")/.."
N=${1:-1000}
FLOW=${2:-${FLOWS_FILE:-bench/flow-short.json}}
EXTEN=${BENCH_EXTEN:-43720270346}
TMO=${BENCH_TIMEOUT:-120}
PLAY_MS=${BENCH_PLAY_MS:-200}
[ -r "$FLOW" ] || { echo "flow file $FLOW cannot be read" >&2; exit 2; }
BUILD=${BUILD:-build}
[ -x "$BUILD/mai-supervisor" ] && [ -x tests/ari-sim/mai-ari-sim ] ||
	make -s BUILD="$BUILD" all

tmp=$(mktemp -d /tmp/mai-bench-XXXXXX)
chmod 755 "$tmp"
cp "$FLOW" "$tmp/flows.json"
chmod 644 "$tmp/flows.json"
ari_port=$((40000 + $$ % 10000))
http_port=$((ari_port + 1))
cleanup() {
	[ -n "${sup:-}" ] && kill -TERM "$sup" 2>/dev/null && wait "$sup" 2>/dev/null || true
	[ -n "${sim:-}" ] && kill "$sim" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

tests/ari-sim/mai-ari-sim --port "$ari_port" --user mai \
    --password 'mvoice8908!#' --quiet >"$tmp/sim.log" 2>&1 &
sim=$!
user=""; [ "$(id -u)" -eq 0 ] && user=nobody
export MAI_RUNDIR="$tmp/run"
env ARI_PORT="$ari_port" ARI_USER=mai ARI_PASSWORD='mvoice8908!#' \
    HTTP_LISTEN="127.0.0.1:$http_port" MAI_USER="$user" LOG_LEVEL=warn \
    FLOWS_FILE="$tmp/flows.json" \
    "$BUILD/mai-supervisor" 2>"$tmp/sup.log" &
sup=$!

sim_get() { curl -s "http://127.0.0.1:$ari_port/_sim/$1"; }
# One number of /_sim/stats (0 if absent); keys are unique there.
simstat() {
	v=$(sim_get stats | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p")
	echo "${v:-0}"
}
now() { date +%s.%N; }
fail() {
	echo "FAILED: $*" >&2
	echo "simulator: $(sim_get stats)" >&2
	echo "--- supervisor log (tail)" >&2; tail -n 30 "$tmp/sup.log" >&2
	exit 1
}
# wait_for "what" command...: until the command succeeds or TMO passes.
wait_for() {
	what=$1; shift
	end=$(($(date +%s) + TMO))
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || fail "$what (after ${TMO}s)"
		[ -z "${flow:-}" ] || alive
		sleep 0.05
	done
}
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$http_port/readyz" || true)" = 200 ]; }
app_up() { sim_get stats | grep -q '"name":"mai","connected":true'; }
ended() { [ "$(simstat calls_ended)" -ge "$N" ]; }
held() { [ "$(simstat playbacks_active)" -ge "$N" ]; }
pid_of() { cat "$MAI_RUNDIR/$1.pid"; }
# The flow-worker must live through a phase: figures of two processes
# would mean nothing.
alive() {
	[ -r "/proc/$flow/stat" ] && [ "$(pid_of flow-worker)" = "$flow" ] ||
		fail "the flow-worker (pid $flow) died or was restarted"
}
# CPU time of a process in ns: schedstat's run time where the kernel keeps
# it (ns resolution; 0 without schedstats), else utime+stime (ticks).
cpu_ns() {
	alive
	ns=$(awk '{print $1}' "/proc/$1/schedstat" 2>/dev/null || echo 0)
	if [ "${ns:-0}" -gt 0 ]; then
		echo "$ns"
	else
		awk -v hz="$hz" '{printf "%.0f\n", ($14 + $15) * 1e9 / hz}' \
		    "/proc/$1/stat"
	fi
}
rss_kb() { alive; awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

wait_for "mai never became ready" ready
wait_for "the ws-worker never registered app mai" app_up
flow=$(pid_of flow-worker)
hz=$(getconf CLK_TCK)
echo "flow file: $FLOW; $N calls to $EXTEN; flow-worker pid $flow"

echo "== memory: $N calls held in their playback"
sim_get "media?playback_ms=600000&answer_delay_ms=0" >/dev/null
sim_get reset_calls >/dev/null
sleep 1
idle=$(rss_kb "$flow")
sim_get "calls?n=$N&exten=$EXTEN" >/dev/null
wait_for "the calls never all reached their playback" held
sleep 1
peak=$(rss_kb "$flow")
echo "$idle $peak $N" | awk '{printf "flow-worker RSS: idle %d KiB, %d calls %d KiB: %.2f KiB per active call\n", $1, $3, $2, ($2 - $1) / $3}'
sim_get "hangup?all=1" >/dev/null
wait_for "the held calls never ended" ended

echo "== throughput: $N calls at once, $PLAY_MS ms of playback each"
sim_get "media?playback_ms=$PLAY_MS" >/dev/null
sim_get reset_calls >/dev/null
sleep 1
c0=$(cpu_ns "$flow"); s0=$(cpu_ns "$sim"); t0=$(now)
sim_get "calls?n=$N&exten=$EXTEN" >/dev/null
wait_for "the flow-worker did not end all calls" ended
t1=$(now); c1=$(cpu_ns "$flow"); s1=$(cpu_ns "$sim")
echo "$N $t0 $t1 $c0 $c1 $PLAY_MS $s0 $s1" | awk '{
	printf "calls/s: %.0f (%d calls in %.3f s, %d ms of playback each)\n", $1 / ($3 - $2), $1, $3 - $2, $6
	printf "flow-worker CPU: %.1f us per call (%.1f ms in all)\n", ($5 - $4) / 1e3 / $1, ($5 - $4) / 1e6
	printf "(simulator CPU: %.1f us per call)\n", ($8 - $7) / 1e3 / $1 }'
st=$(sim_get stats)
echo "$st" | sed -n 's/.*"answer_latency_us":{\([^}]*\)}.*/answer latency (StasisStart written -> answer request), us: \1/p'
echo "$st" | sed -n 's/.*"rest_requests":{\([^}]*\)}.*/ARI requests: \1/p'
alive
