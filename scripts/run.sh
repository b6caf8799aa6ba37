#!/bin/sh
# Start mai in the foreground from a build tree (used by `make run`), with
# what a person needs to call the voice agent on this one machine:
#
# - ARI_HOST is this machine and no Asterisk answers there: as root, the
#   local Asterisk 22 the end-to-end tests use (a Debian sid chroot, cached
#   in /var/cache/mai-e2e, configured from asterisk-conf/), stopped again
#   when mai stops;
# - no BOT_MEDIA_HOST set and build/mai-bot built: the voice bot with the
#   demo dialogue, on 127.0.0.1 (media WebSocket 18091, control API
#   18090), stopped with mai.
#
# As root the workers need an unprivileged user: "mai" is created if
# missing.  A .env file next to the Makefile (see .env.example) is read.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
say() { printf 'run: %s\n' "$*" >&2; }

if [ "$(id -u)" -eq 0 ] && [ -z "${MAI_USER:-}" ]; then
	id mai >/dev/null 2>&1 ||
	    useradd --system --no-create-home --shell /usr/sbin/nologin mai
	export MAI_USER=mai
fi
if [ -f "$here/.env" ]; then
	set -a
	# shellcheck disable=SC1091
	. "$here/.env"
	set +a
fi

ast="$here/tests/e2e/asterisk.sh"
edge_started=0
bot_pid=

ari_answers() {
	curl -s -o /dev/null --max-time 2 \
	    "http://$1:${ARI_PORT:-8088}/ari/asterisk/info"
}

# The e2e tests' Asterisk, with asterisk-conf/ only; the e2e lock keeps a
# test run from stopping it under us (and us from stopping theirs).
edge_start() {
	if [ "$(id -u)" -ne 0 ]; then
		say "no Asterisk answers at $1:${ARI_PORT:-8088}; as root," \
		    "make run starts a local one (Debian sid chroot)"
		return 0
	fi
	exec 9>"${MAI_E2E_LOCK:-/var/lock/mai-e2e.lock}"
	if ! flock -n 9; then
		say "waiting for an end-to-end test run to release its Asterisk"
		flock 9
	fi
	say "starting the local Asterisk 22 (first time: debootstrap, a few" \
	    "minutes)"
	rc=0
	"$ast" provision || rc=$?
	if [ "$rc" -ne 0 ]; then
		say "no local Asterisk (see above); mai runs degraded"
		return 0
	fi
	MAI_E2E_TESTCONF=0 "$ast" start
	edge_started=1
	: "${ARI_USER:=mai}"
	# The password of the shipped asterisk-conf/ari.conf.
	: "${ARI_PASSWORD:=mvoice8908!#}"
	export ARI_USER ARI_PASSWORD
}

bot_start() {
	BOT_RTP_LISTEN=127.0.0.1:18092 BOT_HTTP_LISTEN=127.0.0.1:18090 \
	    BOT_WS_LISTEN=127.0.0.1:18091 BOT_USER=${MAI_USER:-} \
	    BOT_DIALOGUE_FILE=${BOT_DIALOGUE_FILE:-$here/build/dialogue.json} \
	    "$here/build/mai-bot" &
	bot_pid=$!
	# Over chan_websocket (asterisk-conf/websocket_client.conf, entry
	# "mai-bot"): 16 kHz, which the bot's speech recognition wants.
	export BOT_MEDIA_HOST=mai-bot BOT_MEDIA_TRANSPORT=websocket
	export BOT_MEDIA_FORMAT=slin16
	export BOT_CONTROL_URL=http://127.0.0.1:18090
	say "voice bot started pid=$bot_pid (media ws://127.0.0.1:18091," \
	    "control http://127.0.0.1:18090)"
}

cleanup() {
	[ -z "$bot_pid" ] || { kill -TERM "$bot_pid" 2>/dev/null; wait "$bot_pid" || :; }
	if [ "$edge_started" -eq 1 ]; then
		"$ast" stop || :
		"$ast" cleanup || :
	fi
}

# Where /readyz answers: HTTP_LISTEN (HOST:PORT, [V6]:PORT or :PORT),
# a wildcard address asked on loopback.
readyz_url() {
	listen=${HTTP_LISTEN:-0.0.0.0:18080}
	lhost=${listen%:*}
	case $lhost in
	""|0.0.0.0) lhost=127.0.0.1 ;;
	"[::]") lhost="[::1]" ;;
	esac
	echo "http://$lhost:${listen##*:}/readyz"
}

how_to_call() {
	cat >&2 <<EOF
run: call the agent: 43720270346 on SIP 127.0.0.1:5060 (no authentication
run: from this host), press 1 and talk; any SIP phone on this machine will
run: do (sip:43720270346@127.0.0.1). A call through the menu with sipp
run: (it presses 2, goodbye):
run:   sipp -sf $here/tests/e2e/sipp/caller-timed.xml -s 43720270346 -m 1 \\
run:        -d 4000 -i 127.0.0.1 -p 5070 127.0.0.1:5060
run: readiness: curl -s $(readyz_url)
EOF
}

host=${ARI_HOST:-127.0.0.1}
case "$host" in
127.*|localhost|::1|\[::1\])
	ari_answers "$host" || edge_start "$host" ;;
esac
if [ -z "${BOT_MEDIA_HOST:-}" ] && [ -x "$here/build/mai-bot" ]; then
	bot_start
fi
trap cleanup EXIT
[ "$edge_started" -eq 0 ] || how_to_call
# Not exec: the edge and the bot stop after mai.  Signals go to mai.
"$here/build/mai-supervisor" "$@" &
sup=$!
trap 'kill -TERM "$sup" 2>/dev/null' INT TERM
trap 'kill -HUP "$sup" 2>/dev/null' HUP
while kill -0 "$sup" 2>/dev/null; do
	wait "$sup" && rc=0 || rc=$?
done
exit "${rc:-0}"
