#!/bin/sh
# Call flow benchmark: the ARI simulator places N incoming calls; the real
# supervisor, ws-worker and flow-worker run them through a short flow
# (bench/flow-short.json: answer, play one sound, hang up) with ARI REST
# back to the simulator.  Prints figures; asserts nothing on speed.
#
#   bench/flows.sh [-r RATE] [calls] [flow_file]
#
# How the calls arrive:
#   burst (default): all N StasisStarts at once.  The worst case: the last
#     call's answer waits behind the 999 others' work in every process.
#   -r RATE: RATE calls per second, each call's sound long enough
#     (N / RATE seconds and BENCH_HOLD_MS more) that all N are in progress
#     at once before the first ends.
#
# Each phase runs on a fresh mai (the simulator stays), so the flow-worker's
# cumulative histograms are the phase's own:
#   1) memory: the N calls arrive as above and are held inside their
#      playback (10 minutes); flow-worker RSS then minus its idle RSS
#      before the first call, per call;
#   2) throughput: N calls arrive as above and run to their end: calls/s
#      (first call placed to last ended), flow-worker CPU time per call
#      (schedstat run time, or utime+stime where the kernel keeps no
#      schedstats), and the answer latency seen from two sides:
#      - the flow-worker's mai_flow_answer_latency_seconds (/metrics):
#        StasisStart frame read -> answer request written to the socket
#        (curl's pre-request callback); p50/p99 are the histogram's upper
#        bounds, max is exact;
#      - the simulator's: StasisStart frame handed to its WebSocket ->
#        answer request read, i.e. through ws-worker, supervisor and
#        flow-worker and back; exact p50/p90/p99/max.
# A flow-worker that dies or restarts during a phase fails the run.
#
# Environment: FLOWS_FILE (flow file when no argument), BENCH_EXTEN (the
# number dialled, default 43720270346: the bench flow routes it),
# BENCH_PLAY_MS (simulated length of a sound in a burst's throughput
# phase, default 200), BENCH_HOLD_MS (with -r: how long all N stay in
# progress together, default 2000), BENCH_TIMEOUT (seconds to wait for
# each phase, default 120), BUILD (directory of the binaries, default
# build).
set -eu
cd "$(dirname "$0")/.."
RATE=0
while getopts r: opt; do
	case $opt in
	r) RATE=$OPTARG ;;
	*) echo "usage: $0 [-r rate] [calls] [flow_file]" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
N=${1:-1000}
FLOW=${2:-${FLOWS_FILE:-bench/flow-short.json}}
EXTEN=${BENCH_EXTEN:-43720270346}
TMO=${BENCH_TIMEOUT:-120}
PLAY_MS=${BENCH_PLAY_MS:-200}
HOLD_MS=${BENCH_HOLD_MS:-2000}
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
sup=""
mai_stop() {
	[ -n "$sup" ] && kill -TERM "$sup" 2>/dev/null && wait "$sup" 2>/dev/null || true
	sup=""
	flow=""
}
cleanup() {
	mai_stop
	[ -n "${sim:-}" ] && kill "$sim" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

tests/ari-sim/mai-ari-sim --port "$ari_port" --user mai \
    --password 'mvoice8908!#' --quiet >"$tmp/sim.log" 2>&1 &
sim=$!
user=""; [ "$(id -u)" -eq 0 ] && user=nobody
export MAI_RUNDIR="$tmp/run"

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

# A fresh supervisor and workers; the simulator's calls are forgotten.
mai_start() {
	sim_get reset_calls >/dev/null
	env ARI_PORT="$ari_port" ARI_USER=mai ARI_PASSWORD='mvoice8908!#' \
	    HTTP_LISTEN="127.0.0.1:$http_port" MAI_USER="$user" \
	    LOG_LEVEL=warn FLOWS_FILE="$tmp/flows.json" \
	    "$BUILD/mai-supervisor" 2>>"$tmp/sup.log" &
	sup=$!
	wait_for "mai never became ready" ready
	wait_for "the ws-worker never registered app mai" app_up
	flow=$(pid_of flow-worker)
}

# The N calls, at once or at RATE per second.
place_calls() {
	if [ "$RATE" -gt 0 ]; then
		sim_get "calls?n=$N&rate=$RATE&exten=$EXTEN" >/dev/null
	else
		sim_get "calls?n=$N&exten=$EXTEN" >/dev/null
	fi
}

# A latency histogram of /metrics (the flow-worker's): p50 and p99 as the
# upper bound of the bucket that holds them, the exact max, in us.
histogram() {
	curl -s "http://127.0.0.1:$http_port/metrics" | awk -v m="$1" '
	$1 ~ "^" m "_bucket" {
		le = $1; sub(/.*le="/, "", le); sub(/".*/, "", le)
		n++; bound[n] = le; cum[n] = $2 }
	$1 == m "_count" { count = $2 }
	$1 == m "_max" { max = $2 }
	function q(p,   i) {
		for (i = 1; i <= n; i++)
			if (cum[i] >= count * p / 100)
				return bound[i] == "+Inf" ? "+Inf" : \
				    sprintf("%d", bound[i] * 1e6)
		return "?"
	}
	END { printf "\"count\":%d,\"p50\":<=%s,\"p99\":<=%s,\"max\":%d\n", \
	    count, q(50), q(99), max * 1e6 }'
}

hz=$(getconf CLK_TCK)
if [ "$RATE" -gt 0 ]; then
	mode="steady, $RATE calls/s"
	# All N in progress together for HOLD_MS before the first one ends.
	PLAY_MS=$((N * 1000 / RATE + HOLD_MS))
else
	mode="burst, all at once"
fi
echo "flow file: $FLOW; $N calls to $EXTEN ($mode)"

echo "== memory: $N calls held in their playback"
mai_start
sim_get "media?playback_ms=600000&answer_delay_ms=0" >/dev/null
sleep 1
idle=$(rss_kb "$flow")
place_calls
wait_for "the calls never all reached their playback" held
sleep 1
peak=$(rss_kb "$flow")
echo "$idle $peak $N" | awk '{printf "flow-worker RSS: idle %d KiB, %d calls %d KiB: %.2f KiB per active call\n", $1, $3, $2, ($2 - $1) / $3}'
sim_get "hangup?all=1" >/dev/null
wait_for "the held calls never ended" ended
mai_stop

echo "== throughput: $N calls ($mode), $PLAY_MS ms of playback each"
mai_start
sim_get "media?playback_ms=$PLAY_MS" >/dev/null
sleep 1
c0=$(cpu_ns "$flow"); s0=$(cpu_ns "$sim"); t0=$(now)
place_calls
if [ "$RATE" -gt 0 ]; then
	# Few polls of /_sim/stats while calls arrive: each costs the
	# simulator a walk over every channel.
	sleep "$(echo "$N $RATE" | awk '{print $1 / $2}')"
	wait_for "the $N calls were never in progress all at once" held
	echo "all $N calls in progress at once: yes"
	sleep "$(echo "$HOLD_MS" | awk '{print $1 / 1000}')"
fi
wait_for "the flow-worker did not end all calls" ended
t1=$(now); c1=$(cpu_ns "$flow"); s1=$(cpu_ns "$sim")
paced=""
[ "$RATE" -eq 0 ] || paced="; paced: the arrival rate and one call's length, not a capacity"
echo "$N $t0 $t1 $c0 $c1 $PLAY_MS $s0 $s1" | awk -v paced="$paced" '{
	printf "calls/s: %.0f (%d calls in %.3f s, %d ms of playback each%s)\n", $1 / ($3 - $2), $1, $3 - $2, $6, paced
	printf "flow-worker CPU: %.1f us per call (%.1f ms in all)\n", ($5 - $4) / 1e3 / $1, ($5 - $4) / 1e6
	printf "(simulator CPU: %.1f us per call)\n", ($8 - $7) / 1e3 / $1 }'
# The flow-worker reports its histograms every second, the supervisor
# passes them on to the health-worker.
metric() {
	curl -s "http://127.0.0.1:$http_port/metrics" |
	    awk -v m="$1" '$1 == m { printf "%d\n", $2 }'
}
counted() { [ "$(metric mai_flow_answer_latency_seconds_count)" -ge "$N" ]; }
wait_for "the answer latency never reached /metrics" counted
echo "answer latency, flow-worker (StasisStart read -> answer written), us: $(histogram mai_flow_answer_latency_seconds)"
st=$(sim_get stats)
echo "$st" | sed -n 's/.*"answer_latency_us":{\([^}]*\)}.*/answer latency, simulator (StasisStart sent -> answer request read), us: \1/p'
echo "$st" | sed -n 's/.*"rest_requests":{\([^}]*\)}.*/ARI requests: \1/p'
echo "(event relay, ws-worker read -> flow-worker received, us: $(histogram mai_event_relay_latency_seconds))"
alive
