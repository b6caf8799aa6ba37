#!/bin/sh
# run.sh — `make e2e`: build, provision Asterisk 22 (cached), run the
# end-to-end Check suites against it (test_e2e, then test_e2e_flows), and
# always stop Asterisk afterwards.  Exit code: the first failing suite's.
# If the sid root cannot be made here (no mirror, debootstrap failed),
# asterisk.sh prints one "e2e: not run:" line and this exits 0, so that the
# rest of the test suite decides.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
BUILD=$SRC/build
OUT=$BUILD/e2e

make -C "$SRC" --no-print-directory all || exit 1
"$HERE/asterisk.sh" provision
rc=$?
[ "$rc" -eq 77 ] && exit 0
[ "$rc" -eq 0 ] || exit "$rc"

mkdir -p "$OUT"
for t in test_e2e test_e2e_flows; do
	# shellcheck disable=SC2046  # pkg-config output is a list of flags
	cc -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE \
	    -I"$SRC/common" -I"$SRC/tests" $(pkg-config --cflags check) \
	    -o "$OUT/$t" "$HERE/$t.c" "$HERE/e2e.c" "$SRC/tests/harness.c" \
	    $(pkg-config --libs check) || exit 1
done

trap '"$HERE/asterisk.sh" stop; "$HERE/asterisk.sh" cleanup' EXIT
trap 'exit 130' INT TERM
# Both suites run; the exit code is the first failing one's.
MAI_BUILD=$BUILD MAI_SRC=$SRC "$OUT/test_e2e"
rc=$?
MAI_BUILD=$BUILD MAI_SRC=$SRC "$OUT/test_e2e_flows"
rc2=$?
[ "$rc" -ne 0 ] && exit "$rc"
exit "$rc2"
