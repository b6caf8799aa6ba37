#!/bin/sh
# e2e.sh — `make scale-e2e`: two mai instances on one real Asterisk 22 with
# StasisBroadcast() in the dialplan (docs/scaling.md).
#
# Asterisk runs in a network namespace of its own (netns-asterisk.sh: an
# overlay of the e2e root, own loopback), so this never waits for `make
# e2e`.  Both instances run there too, ARI_APP=mai-a and mai-b.
#   1. 200 calls at once: each claimed exactly once (claim logs and the
#      MAI_APP on the channels), both instances take a share, none refused,
#      no channel left.
#   2. Rolling restart under 10 calls/s: a stopped with TERM and started
#      again, then b; no call refused.
#   3. b's flow-worker killed with -9 during long calls: the supervisor
#      restarts it and it takes its calls over; a adopts none of them.
#   4. b killed with -9 (its whole process group) during long calls, new
#      calls go on: none refused after it left; a adopts b's calls in
#      progress (lease.c, adopt.c) and they finish as their flow says (the
#      prompt again, then mai hangs up); no channel left.  Figure: b killed
#      -> no channel owned by b any more (MAI_APP rewritten by a), in ms.
# Prints the figures; fails on a broken promise, never on speed.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-$SRC/build}
NS=${MAI_SCALE_NS:-maiscale$$}
W=$(mktemp -d /tmp/mai-scale-e2e.XXXXXX)
CALLS=${SCALE_CALLS:-200}
RATE=10				# calls/s in phases 2 and 3
# Liveness bounds (seconds), not speed checks.
READY_WAIT=30
DRAIN_WAIT=60
ADOPT_WAIT=30			# b killed -> its calls adopted, at most
ADOPT_AFTER_S=3			# MAI_ADOPT_AFTER_MS's default, in s

say() { printf 'scale-e2e: %s\n' "$*"; }
fail() { printf 'scale-e2e: FAIL: %s\n' "$*" >&2; FAILED=1; exit 1; }
FAILED=0

inns() { ip netns exec "$NS" "$@"; }
ari() {	# ari METHOD PATH: body on stdout
	inns curl -s -X "$1" -u 'mai:mvoice8908!#' "http://127.0.0.1:8088/ari/$2"
}
cli() { "$HERE/netns-asterisk.sh" cli "$NS" "$*"; }

PIDS=""
cleanup() {
	for p in $PIDS; do kill -TERM "$p" 2>/dev/null; done
	sleep 1
	"$HERE/netns-asterisk.sh" down "$NS" >/dev/null 2>&1
	[ "$FAILED" = 0 ] && [ -z "${SCALE_KEEP:-}" ] && rm -rf "$W" ||
	    say "logs kept in $W"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

[ "$(id -u)" = 0 ] || { echo "e2e: not run: needs root (namespaces, mounts)"; exit 0; }
[ -x "$BUILD/mai-supervisor" ] || fail "no $BUILD/mai-supervisor (make all)"
"$HERE/netns-asterisk.sh" up "$NS"
rc=$?
[ "$rc" = 77 ] && exit 0
[ "$rc" = 0 ] || fail "Asterisk in namespace $NS did not start"
id mai >/dev/null 2>&1 || useradd --system --no-create-home mai
install -m 0644 "$HERE/flows-scale.json" "$W/flows.json"
chmod 755 "$W"
ROOT=/tmp/mai-scale/$NS/root

start_mai() {	# start_mai NAME PORT
	mkdir -p "$W/run-$1"
	setsid ip netns exec "$NS" env -i PATH=/usr/bin:/bin ARI_HOST=127.0.0.1 ARI_USER=mai \
	    ARI_PASSWORD='mvoice8908!#' ARI_APP="mai-$1" \
	    HTTP_LISTEN="127.0.0.1:$2" MAI_RUNDIR="$W/run-$1" MAI_USER=mai \
	    FLOWS_FILE="$W/flows.json" LOG_LEVEL=debug \
	    "$BUILD/mai-supervisor" >>"$W/mai-$1.log" 2>&1 &
}

# The supervisor's own pid (`ip netns exec` may stand between it and $!).
sup_pid() { cat "$W/run-$1/supervisor.pid" 2>/dev/null; }

stop_mai() {	# stop_mai NAME SIGNAL: and wait until it is gone
	p=$(sup_pid "$1")
	[ -n "$p" ] && kill -0 "$p" 2>/dev/null || fail "mai-$1 is not running"
	kill "-$2" "$p"
	i=0
	while kill -0 "$p" 2>/dev/null; do
		i=$((i + 1))
		[ "$i" -le $((READY_WAIT * 5)) ] || fail "mai-$1 did not stop on $2"
		sleep 0.2
	done
}

ready() { [ "$(inns curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
    "http://127.0.0.1:$1/readyz")" = 200 ]; }

wait_ready() {	# wait_ready PORT
	i=0
	until ready "$1"; do
		i=$((i + 1))
		[ "$i" -le $((READY_WAIT * 5)) ] || fail "mai on :$1 not ready in ${READY_WAIT}s"
		sleep 0.2
	done
}

# .call files moved into the spool: pbx_spool originates each at once.
SEQ=0
place() {	# place N [CONTEXT]: N calls into [scale-in] (or CONTEXT) now
	d=$ROOT/var/spool/asterisk/tmp-scale
	mkdir -p "$d"
	n=0
	while [ "$n" -lt "$1" ]; do
		SEQ=$((SEQ + 1)); n=$((n + 1))
		printf 'Channel: Local/%d@%s\nApplication: Wait\nData: 120\n' \
		    $((10000 + SEQ)) "${2:-scale-in}" >"$d/c$SEQ.call"
	done
	chroot "$ROOT" chown -R asterisk:asterisk /var/spool/asterisk/tmp-scale
	mv "$d"/*.call "$ROOT/var/spool/asterisk/outgoing/"
}

paced() {	# paced SECONDS [CONTEXT]: RATE calls/s
	s=0
	while [ "$s" -lt $(($1 * RATE)) ]; do
		place 1 "${2:-scale-in}"; s=$((s + 1)); sleep "0.$((10 / RATE))"
	done
}

refused() { ari GET 'asterisk/variable?variable=SCALE_REFUSED' |
    sed -n 's/.*"value":"\([0-9]*\)".*/\1/p'; }

chans() { ari GET channels | grep -o '"id":"[^"]*"' | grep -vc ';' ; }

stasis_chans() { ari GET channels | grep -o '"MAI_APP":"mai-[ab]"' | sort | uniq -c | tr '\n' ' '; }

wait_empty() {	# wait_empty SECONDS: no channel left
	i=0
	while [ "$(ari GET channels)" != "[]" ]; do
		i=$((i + 1))
		[ "$i" -le $(($1 * 5)) ] || return 1
		sleep 0.2
	done
}

claims() { grep -c 'type=StasisStart' "$W/mai-$1.log"; }

owned() { ari GET channels | grep -o "\"MAI_APP\":\"mai-$1\"" | wc -l; }

adopted() { grep -c 'call adopted' "$W/mai-$1.log"; }

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# --- phase 1: 200 calls at once ---------------------------------------------
ari POST 'asterisk/variable?variable=SCALE_REFUSED&value=0' >/dev/null
start_mai a 18181; start_mai b 18182
wait_ready 18181; wait_ready 18182
PIDS="$(sup_pid a) $(sup_pid b)"
say "two instances ready: mai-a :18181, mai-b :18182"
place "$CALLS"
sleep 3
say "in progress: $(stasis_chans)"
wait_empty "$DRAIN_WAIT" || fail "channels left after phase 1: $(ari GET channels | head -c 300)"
ca=$(claims a); cb=$(claims b)
[ $((ca + cb)) = "$CALLS" ] || fail "claims a=$ca b=$cb, want $CALLS in all"
[ "$ca" -gt 0 ] && [ "$cb" -gt 0 ] || fail "one instance took every call (a=$ca b=$cb)"
[ "$(refused)" = 0 ] || fail "$(refused) calls refused (nobody claimed)"
say "ok phase 1: $CALLS calls, claimed once each: mai-a $ca, mai-b $cb; refused 0; no channel left"

# --- phase 2: rolling restart under 10 calls/s ------------------------------
r0=$(refused)
paced 3 &
pp=$!
sleep 1
old_a=$(sup_pid a); stop_mai a TERM
start_mai a 18181; wait_ready 18181
old_b=$(sup_pid b); stop_mai b TERM
start_mai b 18182; wait_ready 18182
[ "$(sup_pid a)" != "$old_a" ] && [ "$(sup_pid b)" != "$old_b" ] ||
    fail "an instance was not restarted"
PIDS="$(sup_pid a) $(sup_pid b)"
wait "$pp"
paced 2
sleep 1
r1=$(refused)
say "phase 2: rolling restart (a TERM+start, b TERM+start) under $RATE calls/s: refused $((r1 - r0))"
[ "$r1" = "$r0" ] || fail "rolling restart refused $((r1 - r0)) calls"
# Calls in progress on a stopped instance stay in Stasis under its name; the
# same name back (same host) takes them over (reconcile.c, MAI_APP).
wait_empty "$DRAIN_WAIT" || fail "channels left after the rolling restart: $(stasis_chans)"
say "ok phase 2: refused 0; the restarted instances finished their own calls (same ARI_APP: reconcile via MAI_APP)"

# --- phase 3: a flow-worker restart on b is not a lost instance ----------
a0=$(adopted a)
paced 2 scale-long
nb=$(owned b)
[ "$nb" -gt 0 ] || fail "mai-b took none of 20 long calls"
fw=$(cat "$W/run-b/flow-worker.pid" 2>/dev/null)
[ -n "$fw" ] && kill -KILL "$fw" || fail "no flow-worker pid for mai-b"
# Longer than MAI_ADOPT_AFTER_MS and a lease round: a would have adopted.
sleep $((ADOPT_AFTER_S + 3))
[ "$(adopted a)" = "$a0" ] || fail "mai-a adopted $(($(adopted a) - a0)) calls after only mai-b's flow-worker restarted"
[ "$(owned b)" -gt 0 ] || fail "mai-b's calls left it after a flow-worker restart"
wait_empty "$DRAIN_WAIT" || fail "channels left after b's flow-worker restart: $(stasis_chans)"
say "ok phase 3: b's flow-worker killed -9 with $nb long calls: a adopted none; b finished them"

# --- phase 4: b killed with -9 (its process group) mid-calls ---------------
r0=$(refused); a0=$(adopted a)
paced 2 scale-long
nb=$(owned b)
[ "$nb" -gt 0 ] || fail "mai-b took none of 20 long calls"
pg=$(ps -o pgid= -p "$(sup_pid b)" | tr -d ' ')
[ -n "$pg" ] && [ "$pg" != "$(ps -o pgid= -p $$ | tr -d ' ')" ] ||
    fail "mai-b has no process group of its own"
t0=$(now_ms)
/bin/kill -KILL -- "-$pg"
paced 3 &
pp=$!
i=0
while [ "$(owned b)" -gt 0 ]; do
	i=$((i + 1))
	[ "$i" -le $((ADOPT_WAIT * 10)) ] || fail "mai-b's calls not adopted in ${ADOPT_WAIT}s: $(stasis_chans)"
	sleep 0.1
done
t1=$(now_ms)
wait "$pp"
sleep 1
r1=$(refused)
na=$(($(adopted a) - a0))
say "phase 4: b killed -9 (process group $pg) with $nb calls in progress; calls after it refused $((r1 - r0)); adopted by a: $na; b killed -> its calls adopted: $((t1 - t0)) ms"
[ "$r1" = "$r0" ] || fail "$((r1 - r0)) calls refused after b was killed"
[ "$na" = "$nb" ] || fail "mai-a adopted $na calls, mai-b had $nb"
wait_empty "$DRAIN_WAIT" || fail "channels left after the adopted calls: $(stasis_chans)"
say "ok phase 4: b's $nb calls adopted by a in $((t1 - t0)) ms and finished by their flow; no channel left"
say "passed"
