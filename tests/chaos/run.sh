#!/bin/sh
# run.sh — `make chaos`: real Asterisk 22 (tests/e2e/asterisk.sh, under the
# e2e lock like `make e2e`), calls arriving steadily, mai's three workers
# killed with -9 in turn; tests/chaos/chaos.py places the calls, kills and
# prints the figures.  Not part of `make test`: it takes about two minutes.
# CHAOS_RATE, CHAOS_SECONDS, CHAOS_KILL_EVERY, CHAOS_SETTLE: see chaos.py.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
LOCK=${MAI_E2E_LOCK:-/var/lock/mai-e2e.lock}
AST=$SRC/tests/e2e/asterisk.sh

make -C "$SRC" --no-print-directory all || exit 1
exec 9>"$LOCK"
if ! flock -n 9; then
	echo "chaos: waiting for another run to release $LOCK"
	flock 9
fi
"$AST" provision
rc=$?
[ "$rc" -eq 77 ] && exit 0
[ "$rc" -eq 0 ] || exit "$rc"
tmp=$(mktemp -d /tmp/mai-chaos-XXXXXX)
chmod 755 "$tmp"
trap '"$AST" stop; "$AST" cleanup' EXIT
trap 'exit 130' INT TERM
"$AST" start || exit 1
MAI_SRC=$SRC python3 "$HERE/chaos.py" "$tmp"
