#!/bin/sh
# scale.sh — `make scale-test`: compose.scale.yaml end to end (Kamailio,
# two edges, two orchestrators per edge; docs/scaling.md).
#
# Run it under the Docker lock:  flock /var/lock/mai-compose.lock make scale-test
#
# Checks, with sipp calling Kamailio on loopback:
#   1. calls spread over both edges (each edge's Asterisk counts them);
#   2. edge2 stopped: after the probe interval every new call goes to
#      edge1, none refused;
#   3. one of edge1's orchestrators killed with -9 mid-calls (its
#      supervisor): new calls go on on its peer, none refused.
# Engine, Compose v2 and base images as in run.sh (lib.sh).  Logs of the
# last run: $MAI_COMPOSE_CACHE/last-scale.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
CACHE=${MAI_COMPOSE_CACHE:-/var/cache/mai-compose}
PROJECT=mai-scale-test
LOGS=$CACHE/last-scale
NOT_RUN=77
# Liveness bounds (seconds), not speed checks.
UP_TIMEOUT=1500
READY_WAIT=90
PROBE_WAIT=10		# Kamailio's ds_ping_interval (2 s) and slack
CALLS=20

unset ARI_HOST ARI_PORT ARI_USER ARI_PASSWORD ARI_PASSWORD_FILE ARI_APP \
    LOG_LEVEL LOG_FORMAT EDGE_BIND KAMAILIO_SIP_PORT FLOWS_FILE COMPOSE_FILE \
    COMPOSE_PROJECT_NAME COMPOSE_PROFILES DOCKER_BUILDKIT

say() { printf 'scale-test: %s\n' "$*"; }
not_run() { printf 'scale-test: not run: %s\n' "$*"; exit "$NOT_RUN"; }
fail() { printf 'scale-test: FAIL: %s\n' "$*" >&2; exit 1; }

. "$HERE/lib.sh"

C() {
	docker compose -p "$PROJECT" --project-directory "$SRC" \
	    --env-file "$HERE/test.env" -f "$SRC/compose.scale.yaml" "$@"
}

STARTED=""
cleanup() {
	rc=$?
	trap - EXIT INT TERM
	if [ -n "$STARTED" ]; then
		[ "$rc" -ne 0 ] && C logs --no-color --timestamps >"$LOGS/compose.log" 2>&1
		C down -v --remove-orphans --timeout 20 >"$LOGS/down.log" 2>&1
	fi
	stop_dockerd
	[ "$rc" -eq "$NOT_RUN" ] && rc=0
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Calls an edge took: its Local/PJSIP channels seen by the dialplan.
edge_calls() {
	C exec -T "$1" asterisk -rx 'core show channels count' 2>/dev/null |
	    sed -n 's/^\([0-9]*\) calls\{0,1\} processed.*/\1/p'
}

refused() {
	C exec -T "$1" asterisk -rx 'dialplan eval function GLOBAL(MAI_REFUSED)' \
	    2>/dev/null | sed -n 's/.*Return value: *\([0-9]*\).*/\1/p'
}

sipp_calls() {	# sipp_calls N: N calls of 3 s to Kamailio, 5 calls/s
	sipp -sn uac -s 1000 -d 3000 -m "$1" -r 5 -l 50 -p 5090 -i 127.0.0.1 \
	    -timeout 60s -timeout_error -trace_err -error_file "$LOGS/sipp.err" \
	    "127.0.0.1:$KAMAILIO_SIP_PORT" >"$LOGS/sipp.out" 2>&1
}

mkdir -p "$LOGS" 2>/dev/null && [ -w "$LOGS" ] || LOGS=$(mktemp -d /tmp/mai-scale-test.XXXXXX)
rm -f "$LOGS"/*.log "$LOGS"/*.out 2>/dev/null
command -v sipp >/dev/null 2>&1 || apt-get install -y -q sip-tester >/dev/null 2>&1 ||
    not_run "sipp (sip-tester) missing and cannot be installed"
engine
compose_v2
base_images
KAMAILIO_SIP_PORT=5060
while ss -Hlun "sport = :$KAMAILIO_SIP_PORT" | grep -q .; do
	KAMAILIO_SIP_PORT=$((KAMAILIO_SIP_PORT + 10000))
done
export KAMAILIO_SIP_PORT

STARTED=1
say "docker compose -f compose.scale.yaml up -d --build --wait (log: $LOGS/up.log)"
timeout "$UP_TIMEOUT" docker compose -p "$PROJECT" --project-directory "$SRC" \
    --env-file "$HERE/test.env" -f "$SRC/compose.scale.yaml" \
    up -d --build --wait >"$LOGS/up.log" 2>&1 ||
    { tail -n 30 "$LOGS/up.log" >&2; fail "up --build --wait"; }
for s in orch1 orch2; do
	n=$(C ps -q "$s" | wc -l)
	[ "$n" = 2 ] || fail "$s has $n replicas, want 2"
done
sleep 5
say "up: kamailio, edge1, edge2, orch1 x2, orch2 x2"

# 1. Spread.
a0=$(edge_calls edge1); b0=$(edge_calls edge2)
sipp_calls "$CALLS" || fail "sipp: calls failed (see $LOGS/sipp.out)"
a=$(($(edge_calls edge1) - a0)); b=$(($(edge_calls edge2) - b0))
[ "$a" -gt 0 ] && [ "$b" -gt 0 ] || fail "calls not spread: edge1 $a, edge2 $b"
say "ok: $CALLS calls spread: edge1 $a, edge2 $b"

# 2. edge2 stopped: new calls go to edge1 after the probe interval.
C stop edge2 >/dev/null 2>&1
sleep "$PROBE_WAIT"
a0=$(edge_calls edge1)
sipp_calls "$CALLS" || fail "sipp: calls failed with edge2 stopped (see $LOGS/sipp.out)"
a=$(($(edge_calls edge1) - a0))
[ "$a" -ge "$CALLS" ] || fail "with edge2 stopped edge1 took $a of $CALLS calls"
say "ok: edge2 stopped: all $CALLS new calls on edge1"

# 3. One of edge1's orchestrators killed with -9 mid-calls.
victim=$(C ps -q orch1 | head -n 1)
sipp_calls "$CALLS" &
sp=$!
sleep 2
docker kill -s KILL "$victim" >/dev/null
wait "$sp" || fail "sipp: calls failed after an orchestrator was killed (see $LOGS/sipp.out)"
r=$(refused edge1)
[ "${r:-0}" = 0 ] || fail "edge1 refused $r calls (nobody claimed)"
say "ok: an orchestrator of edge1 killed with -9 mid-calls: refused 0"
say "passed"
