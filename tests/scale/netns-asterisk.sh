#!/bin/sh
# netns-asterisk.sh — an Asterisk 22 of its own in a network namespace, so
# scale tests and probes run beside `make e2e` (which holds 8088/5060 on
# the host's loopback under /var/lock/mai-e2e.lock) without waiting.
#
#   netns-asterisk.sh up NAME     overlay over the provisioned e2e root
#                                 (tests/e2e/asterisk.sh provision), the
#                                 shipped asterisk-conf/, tests/e2e/conf/
#                                 and extensions_scale.conf; namespace NAME
#                                 with only loopback; Asterisk started, ARI
#                                 answering on the namespace's 127.0.0.1:8088
#   netns-asterisk.sh down NAME   stop it, unmount, delete the namespace
#   netns-asterisk.sh cli NAME CMD
#
# The e2e root itself is never written (overlayfs keeps changes in
# $SCALE_DIR/NAME/upper).  Run things in it with `ip netns exec NAME ...`.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
LOWER=${MAI_E2E_CACHE:-/var/cache/mai-e2e/sid}
SCALE_DIR=${MAI_SCALE_DIR:-/tmp/mai-scale}
# Liveness bounds (seconds), not speed checks.
START_WAIT=60
STOP_WAIT=20

[ $# -ge 2 ] || { echo "usage: $0 up|down|cli NAME [CMD]" >&2; exit 2; }
CMD=$1 N=$2
D=$SCALE_DIR/$N R=$SCALE_DIR/$N/root
shift 2

ari_ok() {
	[ "$(ip netns exec "$N" curl -s -o /dev/null -w '%{http_code}' \
	    --max-time 2 -u 'mai:mvoice8908!#' \
	    http://127.0.0.1:8088/ari/asterisk/info 2>/dev/null)" = 200 ]
}

up() {
	[ -x "$LOWER/usr/sbin/asterisk" ] || {
		echo "e2e: not run: no provisioned root at $LOWER" \
		    "(tests/e2e/asterisk.sh provision)"; exit 77; }
	mkdir -p "$D/upper" "$D/work" "$R"
	mountpoint -q "$R" || mount -t overlay overlay \
	    -o "lowerdir=$LOWER,upperdir=$D/upper,workdir=$D/work" "$R"
	mountpoint -q "$R/proc" || mount -t proc proc "$R/proc"
	mountpoint -q "$R/dev" || mount --bind /dev "$R/dev"
	ip netns list | grep -qw "$N" || ip netns add "$N"
	ip netns exec "$N" ip link set lo up
	cp "$SRC"/asterisk-conf/*.conf "$SRC"/tests/e2e/conf/*.conf "$R/etc/asterisk/"
	cat "$HERE/extensions_scale.conf" >>"$R/etc/asterisk/extensions_local.conf"
	sed -i 's/^bindaddr[[:space:]]*=.*/bindaddr=127.0.0.1/' "$R/etc/asterisk/http.conf"
	chroot "$R" install -d -o asterisk -g asterisk /run/asterisk \
	    /var/spool/asterisk/recording
	ari_ok || ip netns exec "$N" chroot "$R" /usr/sbin/asterisk \
	    -U asterisk -G asterisk -F
	i=0
	until ari_ok; do
		i=$((i + 1))
		[ "$i" -le $((START_WAIT * 5)) ] || { echo "$0: ARI not up in $N" >&2; exit 1; }
		sleep 0.2
	done
}

down() {
	if [ -d "$R/etc" ] && pid=$(cat "$R/run/asterisk/asterisk.pid" 2>/dev/null); then
		ip netns exec "$N" chroot "$R" /usr/sbin/asterisk -rx 'core stop now' \
		    >/dev/null 2>&1 || true
		i=0
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt $((STOP_WAIT * 5)) ]; do
			i=$((i + 1)); sleep 0.2
		done
		kill -KILL "$pid" 2>/dev/null || true
	fi
	# Anything else still in the namespace is ours (mai, sipp, probes).
	for p in $(ip netns pids "$N" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
	for m in "$R/dev" "$R/proc" "$R"; do
		mountpoint -q "$m" && { umount "$m" || umount -l "$m"; }
	done
	ip netns del "$N" 2>/dev/null || true
	rm -rf "$D"
}

case $CMD in
up) up ;;
down) down ;;
cli) ip netns exec "$N" chroot "$R" /usr/sbin/asterisk -rx "$*" ;;
*) echo "usage: $0 up|down|cli NAME [CMD]" >&2; exit 2 ;;
esac
