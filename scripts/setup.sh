#!/usr/bin/env bash
# Installs what cometa needs to run and to be tested, and only what is
# missing: PostgreSQL 15 (server binaries for the private cluster), Debian's
# Chromium (the runner's browser), libwebp (fast WebP screenshots) and Node.js with npm (tests that fetch
# TodoMVC, one benchmark). A machine that has them all is left untouched.
#
# As root on Debian it installs with apt. Otherwise it prints exactly what to
# install and fails when something is missing, or carries on when nothing is.
set -euo pipefail

pg_bin_dir=${COMETA_PG_BIN_DIR:-/usr/lib/postgresql/15/bin}
browser_bin=${COMETA_BROWSER_BIN:-/usr/bin/chromium}

missing=() # Debian packages
why=()     # what each one is for, same order

need() {
	missing+=("$1")
	why+=("$2")
}

if [[ ! -x $pg_bin_dir/initdb || ! -x $pg_bin_dir/postgres ]]; then
	need postgresql-15 "PostgreSQL 15 server ($pg_bin_dir/initdb, postgres)"
fi
if [[ ! -x $browser_bin ]]; then
	need chromium "Chromium ($browser_bin)"
fi
# libwebp's shared library makes WebP screenshot renditions several times
# faster than the WebAssembly build that github.com/gen2brain/webp falls
# back to without it.
# (ls would fail when any one of the paths is missing, so test each.)
have_webp=0
for lib in /usr/lib/*/libwebp.so /usr/lib/libwebp.so; do
	[[ -e $lib ]] && have_webp=1
done
if ((!have_webp)); then
	need libwebp-dev "libwebp (libwebp.so, fast WebP encoding of screenshots)"
fi
if ! command -v node >/dev/null 2>&1; then
	need nodejs "Node.js (node)"
fi
if ! command -v npm >/dev/null 2>&1; then
	need npm "npm"
fi

# openssl checks in the tests that what cometa encrypts decrypts with
# another implementation of the same format.
if ! command -v openssl >/dev/null 2>&1; then
	need openssl "OpenSSL (openssl, a second implementation of the encryption format for the tests)"
fi

if ! command -v go >/dev/null 2>&1; then
	echo "setup: Go is not on PATH. Install Go 1.26 from go.dev/dl into /usr/local/go and" >&2
	echo "       add /usr/local/go/bin to PATH (Debian 12's own golang is too old)." >&2
	exit 1
fi

if ((${#missing[@]} == 0)); then
	echo "setup: PostgreSQL 15, Chromium, libwebp, Node.js, npm and openssl are installed"
	exit 0
fi

echo "setup: missing:"
for i in "${!missing[@]}"; do
	echo "  - ${why[$i]}: Debian package ${missing[$i]}"
done

if [[ $(id -u) -eq 0 && -r /etc/debian_version ]] && command -v apt-get >/dev/null 2>&1; then
	echo "setup: installing with apt-get: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}"
	echo "setup: done"
	exit 0
fi

echo "setup: cometa cannot install these here (it needs root on Debian). Install them:" >&2
echo "  Debian/Ubuntu:  sudo apt-get install ${missing[*]}" >&2
echo "  elsewhere: PostgreSQL 15 (then set COMETA_PG_BIN_DIR to the folder of initdb)," >&2
echo "  Chromium (COMETA_BROWSER_BIN), Node.js with npm; then run make again." >&2
exit 1
