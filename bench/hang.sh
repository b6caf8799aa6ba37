#!/bin/sh
# bench/hang.sh [rounds [VAR=VALUE ...]] — how long from a hung worker to /readyz 503 and to
# a new worker ready, per worker, with the default heartbeat settings
# (or MAI_HEARTBEAT_INTERVAL_MS / MAI_HEARTBEAT_TIMEOUT_MS from the
# environment).  Each round stops one worker with kill -STOP and reads the
# times from the log (ms resolution, one clock):
#   ws-worker, flow-worker: hang -> the health-worker's first /readyz
#     answer that is 503 naming it "hung"; hang -> its first 200 after;
#   health-worker: hang -> the supervisor's kill (clients wait meanwhile:
#     a timeout, never a stale 200); hang -> its successor accepting.
# Rounds stay under five per worker, which would mark it crash-looping.
# Settings after rounds go to the supervisor, e.g. ARI_PORT=8088 to use a
# real Asterisk instead of the simulator (hold /var/lock/mai-e2e.lock and
# start it with tests/e2e/asterisk.sh start).
# Prints figures, asserts nothing on speed.
set -eu
. "$(dirname "$0")/lib.sh"
rounds=${1:-3}
[ $# -gt 0 ] && shift
trap bench_cleanup EXIT INT TERM

ms_of() {	# an ISO time (…THH:MM:SS.mmmZ or HH:MM:SS.mmm) -> ms of the day
	echo "$1" | sed 's/.*T//; s/Z$//' |
	    awk -F'[:.]' '{ print (($1 * 60 + $2) * 60 + $3) * 1000 + $4 }'
}

# The time of the first log line after line $1 matching all of $2 and $3.
first_after() {
	tail -n +"$(($1 + 1))" "$tmp/sup.log" | grep -F -- "$2" |
	    grep -F -- "$3" | head -n 1 | cut -d' ' -f1
}

wait_for() {	# until first_after $1 $2 $3 finds a line, at most 20 s
	i=0
	until [ -n "$(first_after "$1" "$2" "$3")" ]; do
		i=$((i + 1))
		[ $i -lt 400 ] || { echo "timeout waiting for: $2 $3" >&2; exit 1; }
		sleep 0.05
	done
}

round() {	# $1 worker: prints "to_503_ms to_ready_ms"
	w=$1
	pid=$(cat "$MAI_RUNDIR/$w.pid")
	mark=$(wc -l <"$tmp/sup.log")
	t0=$(ms_of "$(date -u +%H:%M:%S.%3N)")
	kill -STOP "$pid"
	if [ "$w" = health-worker ]; then
		bad="worker hung: no heartbeat answer worker=$w"; badb="$bad"
		good="proc=health-worker"; goodb="accepting http connections"
	else
		bad="readyz=503 body="; badb="\"hung\":[\"$w\"]"
		good="readyz=200 body="; goodb="\"hung\":[]"
	fi
	wait_for "$mark" "$bad" "$badb"
	t1=$(ms_of "$(first_after "$mark" "$bad" "$badb")")
	m2=$(grep -n -F -- "$badb" "$tmp/sup.log" | tail -n 1 | cut -d: -f1)
	wait_for "$m2" "$good" "$goodb"
	t2=$(ms_of "$(first_after "$m2" "$good" "$goodb")")
	kill -CONT "$pid" 2>/dev/null || true	# gone: SIGKILLed
	echo "$((t1 - t0)) $((t2 - t0))"
}

bench_start 29000 LOG_LEVEL=debug "$@"
for w in ws-worker flow-worker health-worker; do
	all=""
	r=0
	while [ $r -lt "$rounds" ]; do
		all="$all$(round "$w")
"
		r=$((r + 1))
		sleep 1
	done
	printf '%s' "$all" | awk -v w="$w" '
	    NR == 1 { mina = maxa = $1; minb = maxb = $2 }
	    { if ($1 < mina) mina = $1; if ($1 > maxa) maxa = $1
	      if ($2 < minb) minb = $2; if ($2 > maxb) maxb = $2 }
	    END { printf "%-14s hang->503 ms: %d..%d   hang->new worker " \
		"ready ms: %d..%d   (rounds %d)\n", w, mina, maxa, minb,
		maxb, NR }'
done
echo "(health-worker: \"503\" is the supervisor's kill; until its successor" \
    "accepts, clients wait in the backlog: a timeout, never a stale 200)"
