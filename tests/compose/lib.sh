# lib.sh — sourced by run.sh (`make compose-test`) and scale.sh (`make
# scale-test`): the Debian mirror, a Docker engine (started if none runs)
# and Compose v2.  The caller defines say, not_run, LOGS and CACHE first.
# shellcheck shell=sh

mirror() {
	{
		cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		    sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n'
		awk '$1 == "deb" { for (i = 2; i <= NF; i++)
		    if ($i ~ /^https?:/) { print $i; break } }' \
		    /etc/apt/sources.list 2>/dev/null
	} | grep -E '/debian/?$' | head -n 1
}

# --- engine -----------------------------------------------------------------
DOCKERD_PID=""
stop_dockerd() {
	[ -n "$DOCKERD_PID" ] || return 0
	kill -TERM "$DOCKERD_PID" 2>/dev/null
	i=0
	while kill -0 "$DOCKERD_PID" 2>/dev/null && [ "$i" -lt 150 ]; do
		i=$((i + 1)); sleep 0.2
	done
	kill -0 "$DOCKERD_PID" 2>/dev/null && kill -KILL "$DOCKERD_PID"
	DOCKERD_PID=""
}

# Debian's docker.io (dockerd 20.10, overlay2, iptables-nft) works with its
# default settings here: the bridge network NATs builds and containers to
# the mirror, so no --iptables=false (that would cut containers off).
engine() {
	docker info >/dev/null 2>&1 && { say "engine: the running dockerd"; return 0; }
	[ "$(id -u)" = 0 ] || not_run "no Docker engine runs and starting one needs root"
	if ! command -v dockerd >/dev/null 2>&1; then
		say "engine: apt-get install docker.io"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io \
		    >"$LOGS/apt-docker.io.log" 2>&1 ||
		    not_run "cannot install docker.io with apt-get (see $LOGS/apt-docker.io.log)"
		docker info >/dev/null 2>&1 && return 0
	fi
	command -v docker >/dev/null 2>&1 || not_run "no docker client after installing docker.io"
	dockerd >"$LOGS/dockerd.log" 2>&1 &
	DOCKERD_PID=$!
	i=0
	until docker info >/dev/null 2>&1; do
		if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
			DOCKERD_PID=""
			not_run "dockerd exited at start: $(tail -n 1 "$LOGS/dockerd.log")"
		fi
		i=$((i + 1))
		[ "$i" -le 150 ] || { stop_dockerd; not_run "dockerd not ready within 30 s (see $LOGS/dockerd.log)"; }
		sleep 0.2
	done
	say "engine: started dockerd (pid $DOCKERD_PID)"
}

# Compose v2 from trixie's docker-compose package (2.26; needs only glibc >=
# 2.34), fetched with a private apt configuration so the host's sources,
# lists and package cache stay as they are.  Bookworm's own docker-compose
# is v1 and has the same package name, hence not plain apt-get install.
compose_v2() {
	docker compose version >/dev/null 2>&1 && return 0
	[ "$(id -u)" = 0 ] || not_run "docker compose v2 missing and installing it needs root"
	m=$(mirror)
	[ -n "$m" ] || not_run "no Debian mirror URI in /etc/apt/sources* for Compose v2"
	d=$CACHE/apt-trixie
	mkdir -p "$d/lists/partial" "$d/cache/archives/partial"
	echo "deb ${m%/} trixie main" >"$d/sources.list"
	set -- -o Dir::Etc::SourceList="$d/sources.list" \
	    -o Dir::Etc::SourceParts=/nonexistent -o Dir::State::Lists="$d/lists" \
	    -o Dir::Cache="$d/cache" -o APT::Get::List-Cleanup=0
	say "compose: installing docker-compose (v2) from trixie"
	{ apt-get "$@" -q update &&
	    DEBIAN_FRONTEND=noninteractive apt-get "$@" -q -y \
	    --no-install-recommends install docker-compose; } \
	    >"$LOGS/apt-compose.log" 2>&1 ||
	    not_run "cannot install Compose v2 from trixie (see $LOGS/apt-compose.log)"
	docker compose version >/dev/null 2>&1 ||
	    not_run "docker compose still missing after installing trixie's docker-compose"
}


# debian:bookworm-slim and debian:sid-slim, made locally when missing
# (base-image.sh; no registry is reachable).  The caller defines fail.
base_images() {
	if ! docker image inspect debian:bookworm-slim debian:sid-slim >/dev/null 2>&1 &&
	    ! command -v debootstrap >/dev/null 2>&1; then
		apt-get install -y -q debootstrap >/dev/null 2>&1 ||
		    not_run "cannot install debootstrap with apt-get"
	fi
	# Both base images at once (about 45 s each when they are not cached).
	MAI_COMPOSE_CACHE=$CACHE "$HERE/base-image.sh" bookworm >"$LOGS/base-bookworm.out" &
	p1=$!
	MAI_COMPOSE_CACHE=$CACHE "$HERE/base-image.sh" sid >"$LOGS/base-sid.out" &
	p2=$!
	wait "$p1"; r1=$?
	wait "$p2"; r2=$?
	for r in "$r1:bookworm" "$r2:sid"; do
		[ "${r%%:*}" -eq "$NOT_RUN" ] || continue
		head -n 1 "$LOGS/base-${r#*:}.out"
		exit "$NOT_RUN"
	done
	[ "$r1" -eq 0 ] || fail "base image debian:bookworm-slim (see $CACHE/bookworm.debootstrap.log)"
	[ "$r2" -eq 0 ] || fail "base image debian:sid-slim (see $CACHE/sid.debootstrap.log)"
}
