#!/bin/sh
# Run the libFuzzer harnesses: `run.sh smoke BUILD NAME...` executes
# each harness once over every input of tests/fuzz/corpus/NAME (the
# regression pass of `make test`); `run.sh fuzz BUILD NAME...` fuzzes each
# for FUZZ_SECONDS (default 60), new inputs going to BUILD/corpus/NAME,
# crashes to BUILD/crashes/, and prints libFuzzer's last status line
# (cov, ft, exec/s) per harness.  Exit 1 if any harness failed.
set -u
mode=$1 build=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
secs=${FUZZ_SECONDS:-60}
fail=0

opts() {
	o="-timeout=10 -rss_limit_mb=2048"
	[ -f "$here/$1.dict" ] && o="$o -dict=$here/$1.dict"
	echo "$o"
}

for h in "$@"; do
	bin=$build/fuzz_$h
	seeds=$here/corpus/$h
	log=$build/fuzz_$h.$mode.log
	mkdir -p "$build/crashes"
	if [ "$mode" = smoke ]; then
		# shellcheck disable=SC2046
		"$bin" $(opts "$h") -runs=0 \
		    -artifact_prefix="$build/crashes/$h-" "$seeds" >"$log" 2>&1
		rc=$?
		n=$(find "$seeds" -type f | wc -l)
		if [ $rc -eq 0 ]; then
			echo "fuzz-smoke: $h: $n inputs ok"
		else
			echo "fuzz-smoke: $h: FAILED (rc=$rc), see $log"
			tail -n 30 "$log"
			fail=1
		fi
		continue
	fi
	mkdir -p "$build/corpus/$h"
	# shellcheck disable=SC2046
	"$bin" $(opts "$h") -max_total_time="$secs" -print_final_stats=1 \
	    -artifact_prefix="$build/crashes/$h-" \
	    "$build/corpus/$h" "$seeds" >"$log" 2>&1
	rc=$?
	last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
	eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	echo "fuzz: $h: ${secs}s rc=$rc exec/s=$eps | $last"
	if [ $rc -ne 0 ]; then
		grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5
		fail=1
	fi
done
exit $fail
