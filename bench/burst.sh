#!/bin/sh
# Answer latency on a real Asterisk 22 under bursts and a steady rate: the
# same call (answer, play sound:hello-world, hang up) done by Asterisk's
# dialplan alone (the floor), by mai (bench/flow-short.json) and by the
# seed-style client (bench/seed.py: one keep-alive HTTP connection), one
# after the other in ONE run on one Asterisk.  Prints figures; asserts
# nothing on speed.
#
#   bench/burst.sh            (as root: it starts Asterisk in its chroot)
#
# Latency is Asterisk's own: CEL (cel_custom, microsecond event times)
# stamps APP_START when the call enters its first application (Stasis()
# for mai and seed, Answer() for the floor) and ANSWER when the channel
# goes Up; the figure is the difference per channel.  Nothing outside
# Asterisk's clock and its order of events takes part.
#
# Bursts: N .call files (Local/N@bench-SYSTEM, the ;2 half is measured)
# are written owned by asterisk in a folder on the spool's file system and
# moved into /var/spool/asterisk/outgoing with one mv: pbx_spool originates
# them all at once.  Steady: RATE calls a second for SECONDS, through
# the spool (default) or from sipp (bench/sipp-caller.xml) over PJSIP.
# Over each run the kernel's TcpExtListenOverflows and TcpExtTCPSynRetrans
# (nstat) are counted: SYNs Asterisk's HTTP listener (backlog 10)
# dropped, and their 1 s retries.
#
# Environment: BURST_SIZES (default "200 600"), BURST_RATE (calls/s,
# default 100; 0: no steady run), BURST_SECONDS (default 60),
# BURST_SYSTEMS (default "floor mai seed"; NAME=DIR is mai built in DIR,
# e.g. "main=/tmp/main/build" to compare builds in one run; mai-all is
# mai with ARI_EVENT_FILTER=0, every event of the system written to it;
# seedws is seed.py sending its requests as RESTRequest over its
# WebSocket),
# BURST_STEADY (how the steady rate is placed: spool, default, moves
# the call files due into the spool every 20 ms; sipp places SIP calls
# through PJSIP), BURST_TIMEOUT (seconds to wait for a run's calls to
# end, default 180),
# BUILD (mai's binaries, default build; `make bench-burst` builds them
# first).  To see where the time goes: BURST_TRACE=1 (mai logs at info;
# each mai burst is taken apart stage by stage, the flow-worker's "call
# first request answered" lines joined with CEL by channel id, with the
# CPU time each process burnt and the most bytes mai left unread on a
# connection to ARI), BURST_PERF=DIR (perf profile of Asterisk and mai
# per mai burst, into DIR), BURST_MAI_NICE=N (mai's processes reniced to
# N), BURST_KEEP=DIR (mai's and sipp's logs kept there).  Holds
# the e2e lock (/var/lock/mai-e2e.lock) while Asterisk runs.
set -eu
cd "$(dirname "$0")/.."
SIZES=${BURST_SIZES:-"200 600"}
RATE=${BURST_RATE:-100}
SECS=${BURST_SECONDS:-60}
SYSTEMS=${BURST_SYSTEMS:-"floor mai seed"}
TMO=${BURST_TIMEOUT:-180}
TRACE=${BURST_TRACE:-0}
STEADY=${BURST_STEADY:-spool}
PERF=${BURST_PERF:-}
NICE=${BURST_MAI_NICE:-}
MAI_LOG_LEVEL=warn
[ "$TRACE" = 0 ] || MAI_LOG_LEVEL=info
BUILD=${BUILD:-build}
LOCK=${MAI_E2E_LOCK:-/var/lock/mai-e2e.lock}
AST=tests/e2e/asterisk.sh
PASS='mvoice8908!#'
HTTP_PORT=18099
# Quiet between runs, so that one run's tail is not the next one's load.
SETTLE=3

[ "$(id -u)" -eq 0 ] || { echo "burst.sh: needs root (Asterisk's chroot)" >&2; exit 2; }
case $STEADY in
spool|sipp) ;;
*) echo "burst.sh: BURST_STEADY=$STEADY: use spool or sipp" >&2; exit 2 ;;
esac
[ -x "$BUILD/mai-supervisor" ] || make -s BUILD="$BUILD" all
exec 9>"$LOCK"
flock -n 9 || { echo "burst.sh: waiting for $LOCK"; flock 9; }
"$AST" provision
[ "$STEADY" != sipp ] || command -v sipp >/dev/null || RATE=0
ROOT=$("$AST" root)
SPOOL=/var/spool/asterisk
CEL=$ROOT/var/log/asterisk/cel-custom/bench.csv

tmp=$(mktemp -d /tmp/mai-burst-XXXXXX)
chmod 755 "$tmp"
sys_pid=""
system_stop() {
	[ -n "$sys_pid" ] && kill -TERM "$sys_pid" 2>/dev/null &&
	    wait "$sys_pid" 2>/dev/null || true
	sys_pid=""
}
cleanup() {
	system_stop
	[ -z "${BURST_KEEP:-}" ] || cp "$tmp/mai.log" "$BURST_KEEP/" \
	    2>/dev/null || true
	"$AST" stop || true
	"$AST" cleanup || true
	rm -f "$ROOT/etc/asterisk/extensions_bench.conf" \
	    "$ROOT/etc/asterisk/cel.conf" "$ROOT/etc/asterisk/cel_custom.conf"
	rm -rf "$ROOT$SPOOL/bench" "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The shipped configuration, plus the benchmark's dialplan and CEL.
mkdir "$tmp/conf"
cp asterisk-conf/*.conf "$tmp/conf/"
cp bench/asterisk/*.conf "$tmp/conf/"	# the bench's own win (rtp.conf)
echo '#tryinclude extensions_bench.conf' >>"$tmp/conf/extensions.conf"
sed -i '/cel_custom\.so/d' "$tmp/conf/modules.conf"
chroot "$ROOT" install -d -o asterisk -g asterisk \
    /var/log/asterisk/cel-custom "$SPOOL/bench" "$SPOOL/outgoing"
MAI_E2E_CONF=$tmp/conf "$AST" start
echo "Asterisk $("$AST" cli 'core show version' | awk '{print $2}'), $(nproc) cores"

ari_app_up() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' -u "mai:$PASS" \
	    "http://127.0.0.1:8088/ari/applications/$1")" = 200 ]
}
wait_app() {
	i=0
	until ari_app_up "$1"; do
		i=$((i + 1))
		[ "$i" -lt 300 ] || { echo "app $1 never registered" >&2; exit 1; }
		sleep 0.1
	done
}

system_start() {
	case $1 in
	floor) ;;
	mai|mai-all)
		bin=${2:-$BUILD}
		filter=1; [ "$1" = mai ] || filter=0
		cp bench/flow-short.json "$tmp/flows.json"
		chmod 644 "$tmp/flows.json"
		env ARI_HOST=127.0.0.1 ARI_PORT=8088 ARI_USER=mai \
		    ARI_PASSWORD="$PASS" HTTP_LISTEN="127.0.0.1:$HTTP_PORT" \
		    MAI_USER=nobody MAI_RUNDIR="$tmp/run" LOG_LEVEL=$MAI_LOG_LEVEL \
		    ARI_EVENT_FILTER=$filter \
		    FLOWS_FILE="$tmp/flows.json" "$bin/mai-supervisor" \
		    2>>"$tmp/mai.log" &
		sys_pid=$!
		wait_app mai
		[ -z "$NICE" ] || renice -n "$NICE" -p "$sys_pid" \
		    $(pgrep -P "$sys_pid") >/dev/null ;;
	seed|seedws)
		ws=""; [ "$1" = seed ] || ws=--ws-rest
		ARI_PASSWORD="$PASS" python3 bench/seed.py --app seed $ws \
		    >>"$tmp/seed.out" 2>&1 &
		sys_pid=$!
		wait_app seed ;;
	esac
	# Let a new client's connections settle (and a pool warm up).
	sleep "$SETTLE"
}

netstat_now() {
	nstat -asz TcpExtListenOverflows TcpExtTCPSynRetrans |
	    awk '$1 == "TcpExtListenOverflows" { o = $2 }
	    $1 == "TcpExtTCPSynRetrans" { s = $2 } END { print o + 0, s + 0 }'
}

cel_lines() { if [ -f "$CEL" ]; then wc -l <"$CEL"; else echo 0; fi; }
# Calls (channels with a tracked first application) hung up since line $1.
cel_ended() {
	tail -n "+$(($1 + 1))" "$CEL" 2>/dev/null | awk -F, '
	$1 == "APP_START" { s[$5] = 1 } $1 == "HANGUP" && s[$5] { n++ }
	END { print n + 0 }'
}
wait_ended() {
	end=$(($(date +%s) + TMO))
	while [ "$(cel_ended "$1")" -lt "$2" ] && [ "$(date +%s)" -lt "$end" ]
	do
		sleep 0.5
	done
}

# One row: SYSTEM RUN, latencies from CEL lines after $3, $4 calls placed,
# nstat before ($5 $6).
report() {
	set -- "$1" "$2" "$3" "$4" "$5" "$6" $(netstat_now)
	tail -n "+$(($3 + 1))" "$CEL" | awk -F, -v sys="$1" -v run="$2" \
	    -v n="$4" -v ov=$(($7 - $5)) -v syn=$(($8 - $6)) '
	$1 == "APP_START" && !(($5) in s) { s[$5] = $2 }
	$1 == "ANSWER" && ($5) in s && !(($5) in d) {
		d[$5] = ($2 - s[$5]) * 1000; v[++k] = d[$5] }
	function q(p,   i) { i = int(k * p / 100 + 0.999999); if (i < 1) i = 1
		return v[i] }
	END {
		for (i = 2; i <= k; i++) { x = v[i]
			for (j = i - 1; j >= 1 && v[j] > x; j--) v[j + 1] = v[j]
			v[j + 1] = x }
		if (k == 0) { printf "%-7s %-12s %4d/%-4d %8s %8s %8s %8s %6d %6d\n", \
		    sys, run, 0, n, "-", "-", "-", "-", ov, syn; exit }
		printf "%-7s %-12s %4d/%-4d %8.1f %8.1f %8.1f %8.1f %6d %6d\n", \
		    sys, run, k, n, q(50), q(90), q(99), v[k], ov, syn }' |
	    tee -a "$tmp/table"
}

# CPU time (ms) of Asterisk and each mai process so far: "name ms" lines.
cpu_snap() {
	for p in $(pgrep -x asterisk) $sys_pid $(pgrep -P "${sys_pid:-0}"); do
		awk -v hz="$(getconf CLK_TCK)" '{ sub(/^[0-9]+ \(/, "");
		    split($0, a, /\) /); split(a[2], f, " ")
		    print a[1], (f[12] + f[13]) * 1000 / hz }' \
		    "/proc/$p/stat" 2>/dev/null || true
	done | awk '{ t[$1] += $2 } END { for (n in t) print n, t[n] }'
}

# What each process burnt between two cpu_snap outputs ($1, $2: files).
cpu_delta() {
	awk 'FNR == NR { a[$1] = $2; next } { printf "  cpu %s %d ms\n", $1,
	    $2 - a[$1] }' "$1" "$2" | sort | tee -a "$tmp/table"
}

# A mai burst taken apart (BURST_TRACE=1): per channel of the CEL lines
# after $1, from the flow-worker's "call first request answered" lines in mai.log (ms):
# Stasis() entered (CEL APP_START) -> StasisStart made (its timestamp,
# whole ms) -> ws-worker read it -> flow-worker had it -> answer request
# began to go out -> channel Up (CEL ANSWER) -> answer's response in mai.
trace() {
	[ "$TRACE" != 0 ] || return 0
	tail -n "+$(($1 + 1))" "$CEL" | awk -F, '
	pass == 1 {
		if ($0 !~ /call first request answered id=/) next
		for (i = 1; i <= NF; i++) { split($i, kv, "=")
			if (kv[1] == "id") id = kv[2]; else t[kv[1]] = kv[2] }
		rx[id] = t["rx_at_us"] / 1e3; rel[id] = t["relay_us"] / 1e3
		e2r[id] = t["event_to_read_us"] / 1e3
		snd[id] = t["to_send_us"] / 1e3; srv[id] = t["served_us"] / 1e3
		next }
	$1 == "APP_START" && !(($5) in st) { st[$5] = $2 * 1e3 }
	$1 == "ANSWER" && ($5) in st && !(($5) in up) { up[$5] = $2 * 1e3 }
	function add(s, v) { n[s]++; x[s, n[s]] = v; sum[s] += v }
	function q(s, p,   i) { i = int(n[s] * p / 100 + 0.999999)
		return x[s, i < 1 ? 1 : i] }
	END {
		for (c in up) { if (!(c in rx)) continue
			rd = rx[c] - rel[c]; made = rd - e2r[c]; sent = rx[c] + snd[c]
			add(1, made - st[c]); add(2, e2r[c]); add(3, rel[c])
			add(4, snd[c]); add(5, up[c] - sent)
			add(6, sent + srv[c] - up[c]); add(7, up[c] - st[c]) }
		split("Stasis entered -> StasisStart made|made -> ws-worker read|" \
		    "ws-worker -> flow-worker (relay)|flow-worker -> answer sent|" \
		    "answer sent -> channel Up|Up -> answer response|" \
		    "total (Stasis entered -> Up)", name, "|")
		printf "  %-36s %6s %8s %8s %8s %8s\n", "stage (" n[7] " calls)", \
		    "", "mean", "p50", "p90", "p99"
		for (s = 1; s <= 7; s++) { if (!n[s]) continue
			for (i = 2; i <= n[s]; i++) { v = x[s, i]
				for (j = i - 1; j >= 1 && x[s, j] > v; j--)
					x[s, j + 1] = x[s, j]
				x[s, j + 1] = v }
			printf "  %-36s %6s %8.1f %8.1f %8.1f %8.1f\n", name[s], "",
			    sum[s] / n[s], q(s, 50), q(s, 90), q(s, 99) } }' \
	    pass=1 FS=" " "$tmp/mai.log" pass=2 FS=, - | tee -a "$tmp/table"
}

# $2 call files 1.call... for system $1, owned by asterisk, in the bench
# folder on the spool's file system (a move into outgoing/ places them).
call_files() {
	rm -f "$ROOT$SPOOL/bench/"*.call
	i=0
	while [ "$i" -lt "$2" ]; do
		i=$((i + 1))
		printf 'Channel: Local/%d@bench-%s\nApplication: Echo\nMaxRetries: 0\nWaitTime: 30\n' \
		    $((1000 + i)) "$1" >"$ROOT$SPOOL/bench/$i.call"
	done
	chroot "$ROOT" chown -R asterisk:asterisk "$SPOOL/bench"
}

burst() {
	sys=$1; n=$2; name=${3:-$1}
	call_files "$sys" "$n"
	c0=$(cel_lines); set -- $(netstat_now); o0=$1; s0=$2
	[ "$TRACE" = 0 ] || cpu_snap >"$tmp/cpu0"
	perf_pid=""; ss_pid=""
	if [ "$TRACE" != 0 ] && [ "$sys" = mai ]; then
		( while :; do ss -tnH 'dport = :8088'; sleep 0.005; done \
		    >"$tmp/ss" ) &
		ss_pid=$!
	fi
	if [ -n "$PERF" ] && [ "$sys" = mai ]; then
		perf record -q -g -o "$tmp/perf.data" -p "$(echo $(pgrep -x \
		    asterisk) $(pgrep -P "$sys_pid") | tr ' ' ,)" 2>/dev/null &
		perf_pid=$!
		sleep 1
	fi
	# One mv: every file lands in the spool within a few ms.
	mv "$ROOT$SPOOL/bench/"*.call "$ROOT$SPOOL/outgoing/"
	wait_ended "$c0" "$n"
	report "$name" "burst $n" "$c0" "$n" "$o0" "$s0"
	[ "$sys" != mai ] || trace "$c0"
	if [ -n "$ss_pid" ]; then
		kill "$ss_pid"; wait "$ss_pid" 2>/dev/null || true
		# Bytes Asterisk sent that mai had not read yet, at most.
		awk '$2 > m { m = $2 } END { printf "  most unread by mai on " \
		    "a connection to ARI: %d bytes\n", m }' "$tmp/ss" |
		    tee -a "$tmp/table"
	fi
	if [ -n "$perf_pid" ]; then
		kill -INT "$perf_pid"; wait "$perf_pid" || true
		mkdir -p "$PERF"
		perf report -i "$tmp/perf.data" --stdio --no-children \
		    --sort comm,dso,sym -g none 2>/dev/null | head -150 \
		    >"$PERF/burst-$n.txt" || true
	fi
	[ "$TRACE" = 0 ] || { cpu_snap >"$tmp/cpu1"; cpu_delta "$tmp/cpu0" "$tmp/cpu1"; }
	sleep "$SETTLE"
}


# Steady rate through the spool: RATE calls a second for SECS seconds,
# the files due by then moved in every 20 ms (Local channels: Asterisk's
# SIP stack is not in the way; `steady` below is the same over sipp).
steady_spool() {
	sys=$1; name=${2:-$1}; total=$((RATE * SECS))
	call_files "$sys" "$total"
	c0=$(cel_lines); set -- $(netstat_now); o0=$1; s0=$2
	python3 - "$ROOT$SPOOL/bench" "$ROOT$SPOOL/outgoing" "$RATE" \
	    "$total" <<'PY'
import os, sys, time
src, dst, rate, total = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
t0, done = time.monotonic(), 0
while done < total:
    due = min(total, int((time.monotonic() - t0) * rate) + 1)
    for i in range(done + 1, due + 1):
        os.rename(f"{src}/{i}.call", f"{dst}/{i}.call")
    done = due
    time.sleep(0.02)
PY
	wait_ended "$c0" "$total"
	report "$name" "$RATE/s ${SECS}s" "$c0" "$total" "$o0" "$s0"
	[ "$sys" != mai ] || trace "$c0"
	sleep "$SETTLE"
}

steady() {
	sys=$1; name=${2:-$1}
	c0=$(cel_lines); set -- $(netstat_now); o0=$1; s0=$2
	# Its own session: sipp signals its process group when it ends.
	setsid -w sipp 127.0.0.1:5060 -sf bench/sipp-caller.xml -s "bench$sys" \
	    -i 127.0.0.1 -p 5070 -r "$RATE" -m $((RATE * SECS)) \
	    -timeout $((SECS + TMO)) -recv_timeout $((TMO * 1000)) -nostdin \
	    -trace_err -error_file "$tmp/sipp.err" >"$tmp/sipp.log" 2>&1 ||
	    echo "(sipp: $(grep -c . "$tmp/sipp.err" 2>/dev/null || echo 0) error lines)"
	[ -z "${BURST_KEEP:-}" ] || cp "$tmp/sipp.err" "$tmp/sipp.log" \
	    "$BURST_KEEP/" 2>/dev/null || true
	wait_ended "$c0" $((RATE * SECS))
	report "$name" "$RATE/s ${SECS}s" "$c0" $((RATE * SECS)) "$o0" "$s0"
	sleep "$SETTLE"
}

printf '%-7s %-12s %9s %8s %8s %8s %8s %6s %6s\n' system run answered \
    p50_ms p90_ms p99_ms max_ms ovflow synrtx | tee "$tmp/table"
for spec in $SYSTEMS; do
	name=${spec%%=*}; sys=$name; dir=""
	[ "$spec" = "$name" ] || { sys=mai; dir=${spec#*=}; }
	system_start "$sys" "$dir"
	# The dialplan context: seedws is seed.py with --ws-rest, mai-all is mai.
	case $sys in seedws) sys=seed ;; mai-all) sys=mai ;; esac
	for n in $SIZES; do
		burst "$sys" "$n" "$name"
	done
	if [ "$RATE" -ne 0 ]; then
		case $STEADY in
		spool) steady_spool "$sys" "$name" ;;
		sipp) steady "$sys" "$name" ;;
		esac
	fi
	[ "$sys" != mai ] || curl -s "http://127.0.0.1:$HTTP_PORT/metrics" |
	    awk -v sys="$name" '$1 == "mai_ws_events_in_total" {
		printf "  %s: %d ARI events read over its runs\n", sys, $2 }' |
	    tee -a "$tmp/table"
	if [ "$spec" = mai ]; then
		curl -s "http://127.0.0.1:$HTTP_PORT/metrics" |
		    awk '/^mai_flow_answer_latency_seconds_(count|max)/' \
		    >"$tmp/mai.metrics"
	fi
	system_stop
done
[ ! -s "$tmp/mai.metrics" ] || { echo "(mai's own, all runs:"; cat "$tmp/mai.metrics"; echo ")"; }
