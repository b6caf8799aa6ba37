#!/bin/sh
# Event relay benchmark: ARI simulator -> ws-worker -> supervisor ->
# flow-worker, counted where the flow-worker acknowledges (the supervisor's
# live counters).  1) throughput of a full-speed burst of 1 KiB events;
# 2) relay latency (ws-worker read -> flow-worker receipt) at a steady
# 1,000 events/s, from the mai_event_relay_latency_seconds histogram.
# Prints figures; asserts nothing on speed.
#
#   bench/events.sh [burst_events] [paced_seconds]
set -eu
cd "$(dirname "$0")/.."
N=${1:-300000}
SECS=${2:-10}
[ -x build/mai-supervisor ] && [ -x tests/ari-sim/mai-ari-sim ] || make -s all
mkdir -p build/bench
cc -O2 -Wall -Wextra -Werror -o build/bench/pace bench/pace.c

. bench/lib.sh
trap bench_cleanup EXIT INT TERM
bench_start 30000 MAI_EVENT_QUEUE_MAX=2000000 MAI_EVENT_QUEUE_BYTES=1073741824

acked() { build/mai-supervisor ctl status | sed -n 's/.* acked=\([0-9]*\).*/\1/p'; }
now() { date +%s.%N; }
cpu() { for p in $(cat "$tmp"/run/*.pid); do awk '{printf "%d ", $14 + $15}' /proc/"$p"/stat; done; echo; }

echo "== throughput: burst of $N events of 1 KiB at full speed"
base=$(acked); c0=$(cpu); t0=$(now)
curl -s "http://127.0.0.1:$ari_port/_sim/burst?n=$N&size=1024" >/dev/null
while [ "$(acked)" -lt $((base + N)) ]; do sleep 0.02; done
t1=$(now); c1=$(cpu)
echo "$N $t0 $t1" | awk '{printf "events/s: %.0f (%.3f s)\n", $1 / ($3 - $2), $3 - $2}'
echo "cpu ticks (flow health supervisor ws): before $c0 after $c1"
build/mai-supervisor ctl status | grep events

hist() { curl -s "http://127.0.0.1:$http_port/metrics" |
    grep '^mai_event_relay_latency_seconds_bucket' | awk '{print $2}' | tr '\n' ' '; }
# The histogram reaches /metrics within two ticks: wait until it settles.
settle() {
	a=x; b=y
	while [ "$a" != "$b" ]; do
		a=$(hist); sleep 1.2; b=$(hist)
	done
	echo "$b"
}
echo "== latency: 1,000 events/s for ${SECS}s"
h0=$(settle); base=$(acked)
build/bench/pace "$ari_port" 1000 "$SECS"
while [ "$(acked)" -lt $((base + 1000 * SECS)) ]; do sleep 0.1; done
h1=$(settle)
curl -s "http://127.0.0.1:$http_port/metrics" |
    grep '^mai_event_relay_latency_seconds_bucket' | sed 's/ .*//' |
    sed 's/.*le="\([^"]*\)".*/\1/' > "$tmp/le"
echo "$h0" | tr ' ' '\n' | sed '/^$/d' > "$tmp/h0"
echo "$h1" | tr ' ' '\n' | sed '/^$/d' > "$tmp/h1"
paste "$tmp/le" "$tmp/h0" "$tmp/h1" | awk '
	{ le[NR] = $1; d[NR] = $3 - $2; total = d[NR] }
	END {
		for (i = 1; i <= NR; i++) {
			printf "  <= %-8s s: %6.2f%%\n", le[i], 100 * d[i] / total
			if (!p99 && d[i] >= 0.99 * total) p99 = le[i]
		}
		printf "samples %d, p99 <= %s s (bucket bound)\n", total, p99
	}'
