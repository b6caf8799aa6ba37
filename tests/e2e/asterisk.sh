#!/bin/sh
# asterisk.sh — a real Asterisk 22 (Debian sid) for mai's end-to-end tests.
#
#   asterisk.sh provision   sid chroot + asterisk packages, cached outside the
#                           clone; exit 77 with one "e2e: not run:" line when
#                           the mirror or debootstrap fails; sipp on the host
#   asterisk.sh start       copy ../../asterisk-conf and conf/ in, start,
#                           wait for ARI
#   asterisk.sh stop        stop Asterisk, wait until port 8088 is free
#   asterisk.sh cli CMD     asterisk -rx CMD inside the chroot
#   asterisk.sh pid         Asterisk's pid (exit 1 if it is not running)
#   asterisk.sh root        the chroot's path (tests read its log files)
#   asterisk.sh cleanup     unmount what start/provision mounted
#
# Bookworm has no asterisk package and sid's needs glibc >= 2.38, hence a
# sid root; it shares the host's network, so ARI is on 127.0.0.1:8088.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
CONF_SRC=${MAI_E2E_CONF:-$HERE/../../asterisk-conf}
ROOT=${MAI_E2E_CACHE:-/var/cache/mai-e2e/sid}
PKGS="asterisk asterisk-modules asterisk-core-sounds-en-wav"
# The stamp names the packages: a changed list reinstalls, nothing else does.
STAMP=$ROOT/var/lib/mai-e2e.stamp
ARI_URL=http://127.0.0.1:8088/ari/asterisk/info
ARI_CRED='mai:mvoice8908!#'
# Bounds (seconds): Asterisk answers ARI ~1.5 s after start here; a stop
# takes well under a second.  These are liveness bounds, not speed checks.
START_WAIT=60
STOP_WAIT=20
LOCK_WAIT=120
NOT_RUN=77

say() { printf 'asterisk.sh: %s\n' "$*" >&2; }
not_run() { printf 'e2e: not run: %s\n' "$*"; exit "$NOT_RUN"; }

# The Debian URI apt already uses (deb822 first, then one-line sources).
mirror() {
	if [ -n "${MAI_E2E_MIRROR:-}" ]; then
		echo "$MAI_E2E_MIRROR"
		return
	fi
	{
		cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		    sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n'
		awk '$1 == "deb" { for (i = 2; i <= NF; i++)
		    if ($i ~ /^https?:/) { print $i; break } }' \
		    /etc/apt/sources.list 2>/dev/null
	} | grep -E '/debian/?$' | head -n 1
}

# Host tools from bookworm itself; without them the run cannot happen.
host_tools() {
	command -v debootstrap >/dev/null && command -v curl >/dev/null &&
	    return 0
	apt-get install -y -q debootstrap curl >/dev/null 2>&1 ||
	    not_run "cannot install debootstrap/curl on the host with apt-get"
}

# sipp (Debian sip-tester) places test_e2e_sip's calls, on the host: it
# only needs loopback.  Without it only that suite cannot run, and it says
# so itself; the rest goes on.  A fresh machine may have no package lists;
# another apt run may hold dpkg's lock for a while (LOCK_WAIT seconds).
sip_tools() {
	command -v sipp >/dev/null && return 0
	say "apt-get install sip-tester (sipp)"
	export DEBIAN_FRONTEND=noninteractive
	apt="apt-get -q -o DPkg::Lock::Timeout=$LOCK_WAIT"
	$apt install -y sip-tester >/dev/null 2>&1 && return 0
	$apt update >/dev/null 2>&1 &&
	    $apt install -y sip-tester >/dev/null 2>&1 && return 0
	say "cannot install sip-tester with apt-get: test_e2e_sip will not run"
}

is_mounted() { mountpoint -q "$1" 2>/dev/null; }

mount_fs() {
	is_mounted "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
	is_mounted "$ROOT/dev" || mount --bind /dev "$ROOT/dev"
}

# Anything mounted under $1, deepest first (so it can be unmounted in order).
mounts_under() {
	awk -v p="$1/" 'index($2 "/", p) == 1 { print $2 }' /proc/self/mounts |
	    sort -r
}

umount_under() {
	for m in $(mounts_under "$1"); do
		umount "$m" || umount -l "$m"
	done
}

# A half-made root from an interrupted run is removed, never reused.  Never
# rm -rf while something (a bind of /dev!) is still mounted inside.
bootstrap() {
	tmp=$ROOT.partial
	umount_under "$tmp"
	[ -z "$(mounts_under "$tmp")" ] || { say "still mounted in $tmp"; exit 1; }
	rm -rf "$tmp"
	mkdir -p "$(dirname "$ROOT")"
	say "debootstrap sid from $1 (about 45 s)"
	if ! debootstrap --variant=minbase sid "$tmp" "$1" \
	    >"$(dirname "$ROOT")/debootstrap.log" 2>&1; then
		umount_under "$tmp"
		not_run "debootstrap sid from $1 failed" \
		    "(see $(dirname "$ROOT")/debootstrap.log)"
	fi
	mv "$tmp" "$ROOT"
}

# The mirror's sid Release is past Valid-Until; policy-rc.d keeps the
# package scripts from starting Asterisk inside the root.
install_pkgs() {
	printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
	chmod 755 "$ROOT/usr/sbin/policy-rc.d"
	mount_fs
	say "apt-get install $PKGS (about 45 s)"
	log=$(dirname "$ROOT")/apt.log
	if ! chroot "$ROOT" sh -c "apt-get -q -o Acquire::Check-Valid-Until=false \
	    update && DEBIAN_FRONTEND=noninteractive apt-get -q -y \
	    -o Acquire::Check-Valid-Until=false install --no-install-recommends \
	    $PKGS" >"$log" 2>&1; then
		umount_under "$ROOT"
		not_run "apt-get install in the sid root failed (see $log)"
	fi
	chroot "$ROOT" apt-get clean
	umount_under "$ROOT"
	echo "$PKGS" >"$STAMP"
}

provision() {
	[ "$(id -u)" = 0 ] || not_run "provisioning a chroot needs root"
	sip_tools
	if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$PKGS" ]; then
		return 0
	fi
	host_tools
	m=$(mirror)
	[ -n "$m" ] || not_run "no Debian mirror URI in /etc/apt/sources*"
	curl -fs -o /dev/null --max-time 30 "${m%/}/dists/sid/Release" ||
	    not_run "Debian mirror $m unreachable (dists/sid/Release)"
	[ -x "$ROOT/usr/bin/apt-get" ] || bootstrap "$m"
	install_pkgs
}

ari_status() {
	curl -s -o /dev/null -w '%{http_code}' --max-time 2 -u "$ARI_CRED" \
	    "$ARI_URL" 2>/dev/null || true
}

port_busy() { ss -Hltn 'sport = :8088' | grep -q .; }

asterisk_pid() {
	pid=$(cat "$ROOT/run/asterisk/asterisk.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# The shipped files over Debian's defaults; tests listen on loopback only.
install_conf() {
	cp "$CONF_SRC"/*.conf "$ROOT/etc/asterisk/"
	# Test-only additions (extensions_local.conf: numbers tests dial);
	# `make run` (MAI_E2E_TESTCONF=0) runs the shipped files alone.
	if [ "${MAI_E2E_TESTCONF:-1}" = 1 ]; then
		cp "$HERE"/conf/*.conf "$ROOT/etc/asterisk/"
	else
		rm -f "$ROOT/etc/asterisk/extensions_local.conf" \
		    "$ROOT/etc/asterisk/pjsip_notify.conf"
	fi
	sed -i 's/^bindaddr[[:space:]]*=.*/bindaddr=127.0.0.1/' \
	    "$ROOT/etc/asterisk/http.conf"
}

start() {
	[ -f "$STAMP" ] || { say "not provisioned: run '$0 provision'"; exit 1; }
	if ! asterisk_pid >/dev/null && port_busy; then
		say "port 8088 is taken by something else"; exit 1
	fi
	install_conf
	mount_fs
	# /run is not a tmpfs in the chroot: the ctl socket and pidfile dir.
	chroot "$ROOT" install -d -o asterisk -g asterisk /run/asterisk
	# The sid package lacks the recording spool (ARI record answers 500).
	chroot "$ROOT" install -d -o asterisk -g asterisk \
	    /var/spool/asterisk/recording
	asterisk_pid >/dev/null ||
	    chroot "$ROOT" /usr/sbin/asterisk -U asterisk -G asterisk -F
	i=0
	while [ "$(ari_status)" != 200 ]; do
		i=$((i + 1))
		[ "$i" -le $((START_WAIT * 5)) ] || {
			say "ARI did not answer 200 within ${START_WAIT}s"
			exit 1
		}
		sleep 0.2
	done
}

stop() {
	[ -d "$ROOT/etc/asterisk" ] || return 0
	if pid=$(asterisk_pid); then
		# A test may have frozen it (SIGSTOP); a frozen one never
		# answers 'core stop now'.
		kill -CONT "$pid" 2>/dev/null || true
		chroot "$ROOT" /usr/sbin/asterisk -rx 'core stop now' \
		    >/dev/null 2>&1 || true
		i=0
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt $((STOP_WAIT * 5)) ]
		do
			i=$((i + 1)); sleep 0.2
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
	fi
	i=0
	while port_busy; do
		i=$((i + 1))
		[ "$i" -le $((STOP_WAIT * 5)) ] || {
			say "port 8088 still busy after ${STOP_WAIT}s"; exit 1
		}
		sleep 0.2
	done
}

cli() { chroot "$ROOT" /usr/sbin/asterisk -rx "$*"; }

cleanup() { umount_under "$ROOT"; }

case "${1:-}" in
provision) provision ;;
start) start ;;
stop) stop ;;
cli) shift; cli "$@" ;;
pid) asterisk_pid ;;
root) echo "$ROOT" ;;
cleanup) cleanup ;;
*) echo "usage: $0 provision|start|stop|cli CMD|pid|root|cleanup" >&2; exit 2 ;;
esac
