#!/bin/sh
# Start mai in the foreground from a build tree (used by `make run`).
# As root the workers need an unprivileged user: create "mai" if missing.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" -eq 0 ] && [ -z "${MAI_USER:-}" ]; then
	id mai >/dev/null 2>&1 ||
	    useradd --system --no-create-home --shell /usr/sbin/nologin mai
	export MAI_USER=mai
fi
# A .env file next to the Makefile (see .env.example) is read if present.
if [ -f "$here/.env" ]; then
	set -a
	# shellcheck disable=SC1091
	. "$here/.env"
	set +a
fi
exec "$here/build/mai-supervisor" "$@"
