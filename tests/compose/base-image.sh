#!/bin/sh
# base-image.sh SUITE — make the image debian:SUITE-slim locally (no image
# registry is reachable here): debootstrap --variant=minbase from the Debian
# mirror apt already uses, trimmed like Docker's official -slim images
# (dpkg path excludes for docs/man/locales, apt cache cleaning), then
# `docker import`.  An existing image is kept: the Docker store is the cache.
#
# Test fixture only.  For sid it also bakes Acquire::Check-Valid-Until
# "false" into /etc/apt/apt.conf.d/ because this mirror's sid Release file is
# past its Valid-Until date; the shipped Dockerfiles stay as they would be
# anywhere else.
#
# Exit 0: image present.  Exit 77: cannot be made here (one line on stdout
# says why).  Anything else: a real failure.
set -eu

SUITE=${1:?usage: base-image.sh bookworm|sid}
IMAGE=debian:$SUITE-slim
CACHE=${MAI_COMPOSE_CACHE:-/var/cache/mai-compose}
NOT_RUN=77

not_run() { printf 'compose-test: not run: %s\n' "$*"; exit "$NOT_RUN"; }
say() { printf 'base-image: %s\n' "$*" >&2; }

docker image inspect "$IMAGE" >/dev/null 2>&1 && exit 0

# The Debian URI apt already uses (deb822 first, then one-line sources).
mirror() {
	{
		cat /etc/apt/sources.list.d/*.sources 2>/dev/null |
		    sed -n 's/^URIs:[[:space:]]*//p' | tr ' ' '\n'
		awk '$1 == "deb" { for (i = 2; i <= NF; i++)
		    if ($i ~ /^https?:/) { print $i; break } }' \
		    /etc/apt/sources.list 2>/dev/null
	} | grep -E "/debian$1/?\$" | head -n 1
}

MIRROR=${MAI_COMPOSE_MIRROR:-$(mirror '')}
[ -n "$MIRROR" ] || not_run "no Debian mirror URI in /etc/apt/sources*"
MIRROR=${MIRROR%/}
command -v debootstrap >/dev/null 2>&1 ||
    apt-get install -y -q debootstrap >/dev/null 2>&1 ||
    not_run "cannot install debootstrap with apt-get"

mkdir -p "$CACHE"
ROOT=$CACHE/$SUITE.root
LOG=$CACHE/$SUITE.debootstrap.log
# Never rm -rf a root with something still mounted inside.
awk -v p="$ROOT/" 'index($2 "/", p) == 1 { print $2 }' /proc/self/mounts |
    sort -r | while read -r m; do umount "$m" || umount -l "$m"; done
rm -rf "$ROOT"

say "debootstrap --variant=minbase $SUITE from $MIRROR (about 45 s)"
debootstrap --variant=minbase "$SUITE" "$ROOT" "$MIRROR" >"$LOG" 2>&1 || {
	rm -rf "$ROOT"
	not_run "debootstrap $SUITE from $MIRROR failed (see $LOG)"
}

# Sources as in the official image.
case $SUITE in
sid)
	echo "deb $MIRROR sid main" >"$ROOT/etc/apt/sources.list"
	printf '%s\n' '// Test base image only: the mirror'"'"'s sid Release file is' \
	    '// older than its Valid-Until date.' \
	    'Acquire::Check-Valid-Until "false";' \
	    >"$ROOT/etc/apt/apt.conf.d/99mai-check-valid-until"
	;;
*)
	sec=$(mirror -security)
	{
		echo "deb $MIRROR $SUITE main"
		echo "deb $MIRROR $SUITE-updates main"
		[ -z "$sec" ] || echo "deb ${sec%/} $SUITE-security main"
	} >"$ROOT/etc/apt/sources.list"
	;;
esac

# What Docker's debian:*-slim images carry (debuerreotype --slimify).
mkdir -p "$ROOT/etc/dpkg/dpkg.cfg.d"
cat >"$ROOT/etc/dpkg/dpkg.cfg.d/docker" <<'EOT'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
EOT
cat >"$ROOT/etc/apt/apt.conf.d/docker-clean" <<'EOT'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOT
echo 'Acquire::Languages "none";' >"$ROOT/etc/apt/apt.conf.d/docker-no-languages"
printf '%s\n' 'Acquire::GzipIndexes "true";' \
    'Acquire::CompressionTypes::Order:: "gz";' \
    >"$ROOT/etc/apt/apt.conf.d/docker-gzip-indexes"
printf '%s\n' 'Apt::AutoRemove::SuggestsImportant "false";' \
    >"$ROOT/etc/apt/apt.conf.d/docker-autoremove-suggests"
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"
(
	cd "$ROOT"
	find usr/share/doc -mindepth 1 ! -type d ! -name copyright -delete
	find usr/share/doc -mindepth 1 -type d -empty -delete
	rm -rf usr/share/info/* usr/share/man/* usr/share/locale/* \
	    usr/share/groff/* usr/share/lintian/overrides/*
	rm -rf var/cache/apt/* var/lib/apt/lists/* var/log/*.log \
	    var/log/apt/* tmp/* var/tmp/*
	: >etc/machine-id 2>/dev/null || true
)

say "docker import $IMAGE"
tar --numeric-owner -C "$ROOT" -c . |
    docker import --change 'CMD ["bash"]' - "$IMAGE" >/dev/null
rm -rf "$ROOT"
say "$IMAGE: $(docker image ls --format '{{.Size}}' "$IMAGE")"
