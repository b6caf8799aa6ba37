# bench/lib.sh — sourced by the benchmarks: a scratch directory, the ARI
# simulator and the real mai-supervisor on loopback, and their cleanup.
#
#   bench_start BASE_PORT [VAR=VALUE ...]   extra settings for the supervisor
# sets tmp, ari_port, http_port, sim, sup and exports MAI_RUNDIR; waits
# until /readyz answers 200 (or 300 tries of 0.1 s).
BUILD=${BUILD:-build}

bench_cleanup() {
	[ -n "${sup:-}" ] && kill -TERM "$sup" 2>/dev/null && wait "$sup" 2>/dev/null || true
	[ -n "${sim:-}" ] && kill "$sim" 2>/dev/null || true
	[ -n "${tmp:-}" ] && rm -rf "$tmp"
}

bench_start() {
	base=$1; shift
	tmp=$(mktemp -d /tmp/mai-bench-XXXXXX)
	chmod 755 "$tmp"
	ari_port=$((base + $$ % 10000))
	http_port=$((ari_port + 1))
	tests/ari-sim/mai-ari-sim --port "$ari_port" --user mai \
	    --password 'mvoice8908!#' --quiet >"$tmp/sim.log" 2>&1 &
	sim=$!
	user=""; [ "$(id -u)" -eq 0 ] && user=nobody
	export MAI_RUNDIR="$tmp/run"
	env ARI_PORT="$ari_port" ARI_USER=mai ARI_PASSWORD='mvoice8908!#' \
	    HTTP_LISTEN="127.0.0.1:$http_port" MAI_USER="$user" \
	    LOG_LEVEL=warn "$@" "$BUILD/mai-supervisor" 2>"$tmp/sup.log" &
	sup=$!
	i=0
	until [ "$(curl -s -o /dev/null -w '%{http_code}' \
	    "http://127.0.0.1:$http_port/readyz" || true)" = 200 ]; do
		i=$((i + 1))
		[ $i -lt 300 ] || { echo "never ready"; cat "$tmp/sup.log"; exit 1; }
		sleep 0.1
	done
}
