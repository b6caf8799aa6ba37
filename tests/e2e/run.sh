#!/bin/sh
# run.sh — `make e2e`: build, provision Asterisk 22 (cached), run every
# end-to-end Check suite (tests/e2e/test_e2e*.c) against it, and always stop
# Asterisk afterwards.  Exit code: the first failing suite's.
#
# E2E_SUITES="test_e2e_sip ..." runs only those suites.  One Asterisk (fixed
# ports 8088 and 5060) serves one run at a time: the run holds an exclusive
# lock on $MAI_E2E_LOCK (default /var/lock/mai-e2e.lock), so concurrent runs
# from other clones wait instead of stopping each other's Asterisk.
#
# If the sid root cannot be made here (no mirror, debootstrap failed),
# asterisk.sh prints one "e2e: not run:" line and this exits 0, so that the
# rest of the test suite decides.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=$SRC/build
OUT=$BUILD/e2e
LOCK=${MAI_E2E_LOCK:-/var/lock/mai-e2e.lock}

make -C "$SRC" --no-print-directory all || exit 1
exec 9>"$LOCK"
if ! flock -n 9; then
	echo "e2e: waiting for another run to release $LOCK"
	flock 9
fi
"$HERE/asterisk.sh" provision
rc=$?
[ "$rc" -eq 77 ] && exit 0
[ "$rc" -eq 0 ] || exit "$rc"

suites=${E2E_SUITES:-$(cd "$HERE" && ls test_e2e*.c | sed 's/\.c$//')}
# What the suites share: every other .c here (e2e.c, the test peers).
shared=$(cd "$HERE" && ls *.c | grep -v '^test_e2e' | sed "s|^|$HERE/|")
mkdir -p "$OUT"
for t in $suites; do
	# shellcheck disable=SC2046,SC2086  # lists of flags and files
	cc -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE \
	    -I"$SRC/common" -I"$SRC/tests" $(pkg-config --cflags check json-c) \
	    -o "$OUT/$t" "$HERE/$t.c" $shared "$SRC/tests/harness.c" \
	    $(pkg-config --libs check json-c) -lm -lpthread || exit 1
done

trap '"$HERE/asterisk.sh" stop; "$HERE/asterisk.sh" cleanup' EXIT
trap 'exit 130' INT TERM
# Every suite runs; the exit code is the first failing one's.
first=0
for t in $suites; do
	MAI_BUILD=$BUILD MAI_SRC=$SRC "$OUT/$t"
	rc=$?
	[ "$first" -eq 0 ] && first=$rc
done
exit "$first"
