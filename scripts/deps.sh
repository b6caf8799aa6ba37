#!/bin/sh
# Install the Debian packages mai builds and tests with, when missing.
# Called by `make deps`, `make run` and `make test`; safe to repeat.
set -eu

PKGS="gcc make pkg-config libc6-dev libevent-dev libwebsockets-dev
libjson-c-dev libcurl4-openssl-dev libseccomp-dev check libsubunit-dev
procps clang-14 libclang-rt-14-dev
libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us libespeak-ng-dev
libspeexdsp-dev espeak-ng pocketsphinx sox"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || {
		echo "deps: need root (or sudo) to install:$missing" >&2
		exit 1
	}
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
