#!/bin/sh
# run.sh — `make compose-test`: the shipped compose.yaml end to end.
#
# Starts a Docker engine if none runs (Debian's docker.io, installed if
# missing), installs Compose v2 from Debian trixie if `docker compose` is
# missing, makes the base images locally (base-image.sh; cached in the
# Docker store), then `docker compose up -d --build --wait` and checks:
# /readyz 200; a test call reaches the flow-worker (StasisStart); an ops
# restart of the ws-worker restarts only that worker; workers run as mai
# with NoNewPrivs 1 and Seccomp 2; HUP through tini reloads; the password
# as a Docker secret works; stop is graceful; image sizes.  Always tears
# down (`docker compose down -v`) and stops a dockerd it started.
#
# No engine can be had here: one "compose-test: not run: WHY" line, exit 0.
# Any real failure: exit 1.  Logs of the last run: $MAI_COMPOSE_CACHE/last-run.
set -u

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
CACHE=${MAI_COMPOSE_CACHE:-/var/cache/mai-compose}
PROJECT=${MAI_COMPOSE_PROJECT:-mai-compose-test}
LOGS=$CACHE/last-run
NOT_RUN=77
# Liveness bounds (seconds), not speed checks.
UP_TIMEOUT=1200
READY_WAIT=60
EVENT_WAIT=20
RESTART_WAIT=30
BOT_CALL_WAIT=90	# the test caller's dialplan takes about 30 s
ORCH_MAX_BYTES=$((120 * 1000 * 1000))

# The test decides every variable compose.yaml reads.
unset ARI_HOST ARI_PORT ARI_USER ARI_PASSWORD ARI_PASSWORD_FILE ARI_APP \
    LOG_LEVEL LOG_FORMAT EDGE_BIND EDGE_SIP_PORT EDGE_RTP_PORTS \
    MAI_HTTP_PORT ARI_PASSWORD_SECRET_FILE FLOWS_FILE BOT_MEDIA_HOST \
    BOT_MEDIA_FORMAT BOT_MEDIA_TRANSPORT COMPOSE_FILE COMPOSE_PROJECT_NAME \
    COMPOSE_PROFILES DOCKER_BUILDKIT

say() { printf 'compose-test: %s\n' "$*"; }
not_run() { printf 'compose-test: not run: %s\n' "$*"; exit "$NOT_RUN"; }
fail() { printf 'compose-test: FAIL: %s\n' "$*" >&2; exit 1; }

T0=$(date +%s)
TP=$T0
TIMINGS=""
phase() {	# phase NAME: time since the previous phase
	now=$(date +%s)
	TIMINGS="$TIMINGS $1=$((now - TP))s"
	TP=$now
}

# mirror, engine (dockerd), compose_v2: shared with scale.sh.
. "$HERE/lib.sh"

# --- compose helpers ----------------------------------------------------------
EXTRA=""
C() {
	# shellcheck disable=SC2086
	docker compose -p "$PROJECT" --project-directory "$SRC" \
	    --env-file "$HERE/test.env" -f "$SRC/compose.yaml" $EXTRA "$@"
}

STARTED=""
cleanup() {
	rc=$?
	trap - EXIT INT TERM
	if [ -n "$STARTED" ]; then
		if [ "$rc" -ne 0 ]; then
			say "state at failure (full logs: $LOGS/compose.log)" >&2
			C ps -a >&2 2>&1
			C logs --no-color --timestamps >"$LOGS/compose.log" 2>&1
			tail -n 60 "$LOGS/compose.log" >&2
		fi
		C down -v --remove-orphans --timeout 20 >"$LOGS/down.log" 2>&1 ||
		    { say "docker compose down failed (see $LOGS/down.log)" >&2; rc=1; }
	fi
	stop_dockerd
	[ "$rc" -eq "$NOT_RUN" ] && rc=0
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

http_code() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
	    "http://127.0.0.1:$MAI_HTTP_PORT$1" 2>/dev/null || true
}

wait_code() {	# wait_code PATH CODE SECONDS
	i=0
	while [ "$(http_code "$1")" != "$2" ]; do
		i=$((i + 1))
		[ "$i" -le $(($3 * 5)) ] || return 1
		sleep 0.2
	done
}

pid_of() {	# pid_of NAME: from /run/mai/NAME.pid in the orchestrator
	C exec -T orchestrator cat "/run/mai/$1.pid" 2>/dev/null | tr -dc 0-9
}

alive() { C exec -T orchestrator test -d "/proc/$1"; }

status_of() {	# status_of PID FIELD
	C exec -T orchestrator sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" |
	    tr -s ' \t' ' '
}

free_tcp() { ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
free_udp() { ! ss -Hlun "sport = :$1" 2>/dev/null | grep -q .; }

# --- run --------------------------------------------------------------------
mkdir -p "$LOGS" 2>/dev/null && [ -w "$LOGS" ] ||
    LOGS=$(mktemp -d /tmp/mai-compose-test.XXXXXX)
rm -f "$LOGS"/*.log "$LOGS"/*.out "$LOGS/ari_password" 2>/dev/null
command -v curl >/dev/null 2>&1 || apt-get install -y -q curl >/dev/null 2>&1 ||
    not_run "curl missing and cannot be installed"

engine
compose_v2
say "$(docker compose version | head -n 1); engine $(docker version --format '{{.Server.Version}}')"
phase engine

base_images
phase base-images

# Host ports: the defaults when free, else others (another Asterisk or mai
# on this machine must not fail the test).
MAI_HTTP_PORT=18080
while ! free_tcp "$MAI_HTTP_PORT"; do MAI_HTTP_PORT=$((MAI_HTTP_PORT + 1000)); done
EDGE_SIP_PORT=5060
while ! free_udp "$EDGE_SIP_PORT"; do EDGE_SIP_PORT=$((EDGE_SIP_PORT + 10000)); done
rtp=10000
while ss -Hlun 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' |
    awk -v lo="$rtp" '$1 >= lo && $1 <= lo + 99 { f = 1 } END { exit !f }'; do
	rtp=$((rtp + 10000))
done
EDGE_RTP_PORTS=$rtp-$((rtp + 99))
export MAI_HTTP_PORT EDGE_SIP_PORT EDGE_RTP_PORTS
say "host ports: http $MAI_HTTP_PORT/tcp, sip $EDGE_SIP_PORT/udp, rtp $EDGE_RTP_PORTS/udp (127.0.0.1)"

C config >"$LOGS/config.log" 2>&1 || fail "docker compose config (see $LOGS/config.log)"
STARTED=1
say "docker compose up -d --build --wait (build log: $LOGS/up.log)"
timeout "$UP_TIMEOUT" docker compose -p "$PROJECT" --project-directory "$SRC" \
    --env-file "$HERE/test.env" -f "$SRC/compose.yaml" \
    up -d --build --wait >"$LOGS/up.log" 2>&1 || {
	tail -n 40 "$LOGS/up.log" >&2
	fail "docker compose up -d --build --wait"
}
phase up

wait_code /readyz 200 "$READY_WAIT" ||
    fail "/readyz not 200 within ${READY_WAIT}s: $(curl -s "http://127.0.0.1:$MAI_HTTP_PORT/readyz")"
[ "$(http_code /healthz)" = 200 ] || fail "/healthz not 200"
[ "$(http_code /healthz/deps)" = 200 ] || fail "/healthz/deps not 200"
say "ok: /readyz 200 $(curl -s "http://127.0.0.1:$MAI_HTTP_PORT/readyz")"
phase ready

# A call through the dialplan into Stasis(mai); the flow-worker logs every
# event at LOG_LEVEL=debug.
before=$(C logs --no-color orchestrator 2>&1 | grep -c 'type=StasisStart')
C exec -T edge asterisk -rx \
    'channel originate Local/43720270346@incoming application Echo' \
    >"$LOGS/originate.log" 2>&1 || fail "originate (see $LOGS/originate.log)"
i=0
while :; do
	n=$(C logs --no-color orchestrator 2>&1 | grep -c 'type=StasisStart')
	[ "$n" -gt "$before" ] && break
	i=$((i + 1))
	[ "$i" -le $((EVENT_WAIT * 2)) ] || fail "no StasisStart in the orchestrator's log within ${EVENT_WAIT}s"
	sleep 0.5
done
say "ok: test call arrived: $(C logs --no-color orchestrator 2>&1 | grep 'type=StasisStart' | tail -n 1 | sed 's/^[^|]*| *//')"
C exec -T edge asterisk -rx 'channel request hangup all' >/dev/null 2>&1
phase call

# The voice bot through the whole stack: the caller of the e2e tests
# ([e2e-bot-caller] in tests/e2e/conf/extensions_local.conf) presses 1,
# asks a question (espeak-ng speech) and records what it hears.  The bot
# must have heard the question and the caller the answer (pocketsphinx,
# with a grammar of the answer's words).
# 16 kHz as well as 8 kHz: Asterisk plays the file that needs the least
# translation, and a wideband caller (formats=slin16) gets the 16 kHz one.
espeak-ng -v en-us -s 150 -w "$LOGS/q22.wav" 'what are your opening hours' &&
    sox "$LOGS/q22.wav" -r 8000 -c 1 -b 16 "$LOGS/question.wav" &&
    sox "$LOGS/q22.wav" -r 16000 -c 1 -b 16 -e signed-integer -t raw \
    "$LOGS/question.sln16" ||
    fail "espeak-ng/sox could not make the question (make deps installs them)"
C cp "$LOGS/question.wav" edge:/tmp/mai-e2e-question.wav >/dev/null &&
    C cp "$LOGS/question.sln16" edge:/tmp/mai-e2e-question.sln16 >/dev/null &&
    C cp "$SRC/tests/e2e/conf/extensions_local.conf" \
    edge:/etc/asterisk/extensions_local.conf >/dev/null &&
    C exec -T edge chmod 0644 /tmp/mai-e2e-question.wav \
    /tmp/mai-e2e-question.sln16 /etc/asterisk/extensions_local.conf &&
    C exec -T edge asterisk -rx 'dialplan reload' >/dev/null ||
    fail "could not give the edge the test caller"
bot_ends() { C logs --no-color bot 2>&1 | grep -c 'session end'; }
b0=$(bot_ends)
# An ARI originate for its formats: a wideband caller, as on a G.722 phone.
C exec -T edge curl -fsS -u 'mai:mvoice8908!#' -X POST \
    'http://127.0.0.1:8088/ari/channels?endpoint=Local/43720270346@incoming&extension=ask&context=e2e-bot-caller&priority=1&formats=slin16' \
    >"$LOGS/originate-bot.log" 2>&1 || fail "originate the bot call (see $LOGS/originate-bot.log)"
i=0
while [ "$(bot_ends)" -le "$b0" ]; do
	i=$((i + 1))
	[ "$i" -le $((BOT_CALL_WAIT * 2)) ] || fail "no bot session ended within ${BOT_CALL_WAIT}s (docker compose logs bot)"
	sleep 0.5
done
C logs --no-color bot >"$LOGS/bot.log" 2>&1
grep -q 'transcript .*\(opening\|hours\)' "$LOGS/bot.log" &&
    grep -q 'dialogue id=.* rule=2' "$LOGS/bot.log" ||
    fail "the bot did not hear the question (see $LOGS/bot.log)"
C logs --no-color orchestrator 2>&1 | grep -q 'state=bot event=digits:1' ||
    fail "mai did not take the call to the bot"
C cp edge:/tmp/mai-e2e-bot-heard.wav16 "$LOGS/heard.wav" >/dev/null ||
    fail "no recording of what the caller heard"
sox "$LOGS/heard.wav" -r 16000 -c 1 -b 16 "$LOGS/heard16.wav" &&
    printf '#JSGF V1.0;\ngrammar t;\npublic <u> = <w>+;\n<w> = we | are | open | monday | to | friday | from | nine | in | the | morning | five | evening;\n' >"$LOGS/answer.gram" ||
    fail "sox could not read the recording"
heard=$(pocketsphinx_continuous -infile "$LOGS/heard16.wav" -jsgf "$LOGS/answer.gram" -logfn /dev/null 2>/dev/null | tr -s '\n' ' ')
case $heard in
*open*|*monday*|*friday*) ;;
*) fail "the caller did not hear the answer (pocketsphinx: '$heard')" ;;
esac
bp=$(C exec -T bot sh -c 'cat /proc/1/task/*/children 2>/dev/null; pgrep -x mai-bot' | tr -s ' \n' '\n' | tail -n 1)
[ "$(C exec -T bot awk '/^NoNewPrivs|^Seccomp:/ { printf "%s ", $2 }' "/proc/$bp/status")" = "1 2 " ] ||
    fail "mai-bot pid $bp without no_new_privs and seccomp"
say "ok: bot call: the bot heard the question, the caller heard '$heard'; mai-bot NoNewPrivs 1, Seccomp 2"
phase bot

# Privileges: workers as mai, no_new_privs, seccomp filter, no capabilities;
# the supervisor as root with only SETUID, SETGID, KILL and SETPCAP.
mai_uid=$(C exec -T orchestrator id -u mai | tr -dc 0-9)
case $mai_uid in ''|0) fail "no unprivileged user mai in the image" ;; esac
for w in ws-worker flow-worker health-worker; do
	p=$(pid_of "$w")
	[ -n "$p" ] || fail "no /run/mai/$w.pid"
	uid=$(status_of "$p" Uid)
	[ "$uid" = "$mai_uid $mai_uid $mai_uid $mai_uid" ] || fail "$w pid $p Uid '$uid', want mai ($mai_uid)"
	[ "$(status_of "$p" NoNewPrivs)" = 1 ] || fail "$w pid $p NoNewPrivs not 1"
	[ "$(status_of "$p" Seccomp)" = 2 ] || fail "$w pid $p Seccomp not 2"
	[ "$(status_of "$p" CapEff)" = 0000000000000000 ] || fail "$w pid $p has capabilities"
done
sp=$(pid_of supervisor)
[ "$(status_of "$sp" Uid)" = "0 0 0 0" ] || fail "supervisor not root"
cap=$(status_of "$sp" CapEff)
[ "$cap" = 00000000000001e0 ] || fail "supervisor CapEff $cap, want 00000000000001e0 (KILL SETGID SETUID SETPCAP)"
say "ok: workers uid $mai_uid (mai), NoNewPrivs 1, Seccomp 2, CapEff 0; supervisor CapEff $cap"

# An ops restart of one worker restarts only that worker.
ws=$(pid_of ws-worker); fw=$(pid_of flow-worker); hw=$(pid_of health-worker)
# shellcheck disable=SC2016  # expands in the container's shell
C exec -T orchestrator sh -c 'kill -TERM "$(cat /run/mai/ws-worker.pid)"' ||
    fail "kill -TERM ws-worker in the container"
i=0
while :; do
	new=$(pid_of ws-worker)
	[ -n "$new" ] && [ "$new" != "$ws" ] && alive "$new" && break
	i=$((i + 1))
	[ "$i" -le $((RESTART_WAIT * 2)) ] || fail "ws-worker not restarted within ${RESTART_WAIT}s"
	sleep 0.5
done
[ "$(pid_of flow-worker)" = "$fw" ] || fail "flow-worker restarted too"
[ "$(pid_of health-worker)" = "$hw" ] || fail "health-worker restarted too"
[ "$(pid_of supervisor)" = "$sp" ] || fail "supervisor changed"
wait_code /readyz 200 "$RESTART_WAIT" || fail "/readyz not back to 200 after the ws-worker restart"
say "ok: ws-worker $ws -> $new, flow-worker $fw and health-worker $hw unchanged, /readyz 200"
phase worker-restart

# HUP through tini (init: true) reaches the supervisor: it reloads (which
# workers restart and which reload in place is the supervisor's business;
# the supervisor itself stays).
reloads() { C logs --no-color orchestrator 2>&1 | grep -c 'proc=supervisor.* reload done'; }
r0=$(reloads)
C kill -s HUP orchestrator >/dev/null 2>&1 || fail "docker compose kill -s HUP orchestrator"
i=0
while [ "$(reloads)" -le "$r0" ]; do
	i=$((i + 1))
	[ "$i" -le $((RESTART_WAIT * 2)) ] || fail "no 'reload done' from the supervisor within ${RESTART_WAIT}s of HUP"
	sleep 0.5
done
[ "$(pid_of supervisor)" = "$sp" ] || fail "supervisor changed on HUP"
wait_code /readyz 200 "$RESTART_WAIT" || fail "/readyz not back to 200 after HUP"
say "ok: HUP reloaded (supervisor $sp stayed; ws-worker $new -> $(pid_of ws-worker), flow-worker $fw -> $(pid_of flow-worker), health-worker $hw -> $(pid_of health-worker)), /readyz 200"
phase reload

# The password as a Docker secret (compose/compose.secret.yaml).
umask 077
printf '%s\n' 'mvoice8908!#' >"$LOGS/ari_password"
ARI_PASSWORD_SECRET_FILE=$LOGS/ari_password
export ARI_PASSWORD_SECRET_FILE
EXTRA="-f $SRC/compose/compose.secret.yaml"
C up -d --wait orchestrator >"$LOGS/up-secret.log" 2>&1 ||
    fail "up with compose/compose.secret.yaml (see $LOGS/up-secret.log)"
wait_code /readyz 200 "$READY_WAIT" || fail "/readyz not 200 with the password as a secret"
cid=$(C ps -q orchestrator)
env=$(docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' "$cid")
printf '%s\n' "$env" | grep -qx 'ARI_PASSWORD_FILE=/run/secrets/ari_password' ||
    fail "ARI_PASSWORD_FILE not set with the secret override"
printf '%s\n' "$env" | grep -q '^ARI_PASSWORD=.' && fail "ARI_PASSWORD still in the environment"
say "ok: password as a Docker secret: /readyz 200, none in docker inspect"
phase secret

# Graceful stop through tini: exit 0 well within stop_grace_period.
t=$(date +%s)
C stop orchestrator >/dev/null 2>&1 || fail "docker compose stop orchestrator"
dt=$(($(date +%s) - t))
ec=$(docker inspect -f '{{.State.ExitCode}}' "$cid")
[ "$ec" = 0 ] || fail "orchestrator exit code $ec after stop"
[ "$dt" -lt 10 ] || fail "orchestrator took ${dt}s to stop"
say "ok: orchestrator stopped in ${dt}s with exit code 0"
phase stop

# Sizes.
for img in mai-orchestrator:latest mai-edge:latest; do
	say "image $(docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' "$img")"
done
sz=$(docker image inspect -f '{{.Size}}' mai-orchestrator:latest)
[ "$sz" -lt "$ORCH_MAX_BYTES" ] || fail "mai-orchestrator is $sz bytes, over 120 MB"

phase report
say "passed in $(($(date +%s) - T0))s:$TIMINGS"
