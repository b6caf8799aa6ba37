#!/bin/sh
# Run each Check suite binary, keep going after a failure, sum up.
fail=0
total_pass=0
total_fail=0
for s in "$@"; do
	echo "== $(basename "$s")"
	out=$("$s" 2>&1); rc=$?
	printf '%s\n' "$out" | grep -v '^$'
	line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -n 1)
	checks=$(printf '%s' "$line" | sed -n 's/.*Checks: \([0-9]*\).*/\1/p')
	failures=$(printf '%s' "$line" | sed -n 's/.*Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2/p')
	f=$(echo "$failures" | awk '{print $1 + $2}')
	[ -n "$checks" ] || { checks=0; f=1; }
	total_pass=$((total_pass + checks - f))
	total_fail=$((total_fail + f))
	[ "$rc" -eq 0 ] || fail=1
done
echo "tests: $total_pass passed, $total_fail failed"
exit $fail
