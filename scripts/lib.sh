# scripts/lib.sh - shell helpers shared by scripts/run, scripts/test and bench/run:
# the packages and the build. (The stack they run is tests/stack.py.)
# shellcheck shell=bash
# Source it from bash; it defines functions and variables only (prefix hl_ / HL_).

# shellcheck disable=SC2034  # HL_* variables are used by the sourcing scripts

HL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian packages needed to build, run, test and benchmark hostlink.
HL_PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	libfcgi-dev libjson-c-dev libjwt-dev libpq-dev libcurl4-openssl-dev libssl-dev
	postgresql nginx apache2 libapache2-mod-fcgid
	wrk curl jq spawn-fcgi clang python3 python3-yaml python3-jsonschema valgrind openssl procps pgbouncer
	chromium
	debhelper dpkg-dev fakeroot lintian mandoc prometheus
)
# The browser tests run on Node.js: Debian's, unless the machine has one already
# (a vendor nodejs bundles npm and conflicts with Debian's npm package).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
	HL_PACKAGES+=(nodejs npm)
fi

hl_log() { printf '%s: %s\n' "${HL_PROG:-hostlink}" "$*" >&2; }
hl_die() { hl_log "error: $*"; exit 1; }
hl_is_root() { [ "$(id -u)" -eq 0 ]; }

# hl_missing_packages PKG... - print the packages that are not installed.
hl_missing_packages() {
	local p
	for p in "$@"; do
		if [ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" != installed ]; then
			echo "$p"
		fi
	done
}

# hl_service_running NAME - true if the distro's init script reports NAME running.
hl_service_running() {
	command -v service >/dev/null 2>&1 && service "$1" status >/dev/null 2>&1
}

# hl_install_packages PKG... - apt-get install what is missing (apt-get update
# at most once per process tree: HL_APT_UPDATED=1 skips it). Services the
# packages would start are kept down: a temporary policy-rc.d forbids starting
# them, and any of nginx/apache2/postgresql that was not running before and is
# running afterwards is stopped again.
hl_install_packages() {
	local missing svc policy=/usr/sbin/policy-rc.d made_policy=0 was_running=()
	mapfile -t missing < <(hl_missing_packages "$@")
	[ "${#missing[@]}" -eq 0 ] && return 0
	hl_is_root || hl_die "missing packages (run as root or install them): ${missing[*]}"
	hl_log "installing: ${missing[*]}"
	for svc in nginx apache2 postgresql; do
		hl_service_running "$svc" && was_running+=("$svc")
	done
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\n# written by hostlink scripts/lib.sh during apt-get install\nexit 101\n' >"$policy"
		chmod 755 "$policy"
		made_policy=1
		# Do not leave it behind when interrupted (callers set their traps later).
		trap 'rm -f /usr/sbin/policy-rc.d; exit 130' INT
		trap 'rm -f /usr/sbin/policy-rc.d; exit 143' TERM
	fi
	local rc=0
	{
		if [ "${HL_APT_UPDATED:-0}" != 1 ]; then
			DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null
			export HL_APT_UPDATED=1
		fi
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" </dev/null
	} || rc=$?
	if [ "$made_policy" -eq 1 ]; then
		rm -f "$policy"
		trap - INT TERM
	fi
	for svc in nginx apache2 postgresql; do
		if [[ " ${was_running[*]} " != *" $svc "* ]] && hl_service_running "$svc"; then
			hl_log "stopping $svc started by the package install"
			service "$svc" stop >/dev/null 2>&1 || true
		fi
	done
	[ "$rc" -eq 0 ] || hl_die "apt-get install failed"
}

# hl_build [normal|sanitize|fuzz] [with-tests] - configure and build hostlink
# (and, with-tests, the unit-test programs); sets HL_BUILD to the
# directory holding ./hostlinkd and ./hostlinkctl. The normal build goes to
# build/, the sanitizer build (--enable-sanitizers) to build-sanitize/, the
# libFuzzer targets (CC=clang --enable-fuzzing) to build-fuzz/. A source
# tree already configured in place (./configure run at the top) is built in place.
hl_build() {
	local kind=${1:-normal} flags=(--enable-werror) dir
	if [ "$kind" = sanitize ] || [ "$kind" = fuzz ]; then
		if [ "$kind" = sanitize ]; then
			flags+=(--enable-sanitizers)
		else
			# Without -Werror: clang warns where gcc does not (-Wformat-nonliteral).
			flags=(--enable-fuzzing CC=clang "CFLAGS=-g -O1")
		fi
		dir=$HL_ROOT/build-$kind
		[ -f "$HL_ROOT/config.status" ] &&
			hl_die "the source tree is configured in place; run 'make distclean' there before a $kind build"
	elif [ -f "$HL_ROOT/config.status" ]; then
		dir=$HL_ROOT
	else
		dir=$HL_ROOT/build
	fi
	if [ ! -x "$HL_ROOT/configure" ] || [ "$HL_ROOT/configure.ac" -nt "$HL_ROOT/configure" ] ||
		[ ! -f "$HL_ROOT/Makefile.in" ] || [ "$HL_ROOT/Makefile.am" -nt "$HL_ROOT/Makefile.in" ]; then
		hl_log "autoreconf -fi"
		(cd "$HL_ROOT" && autoreconf -fi) || {
			rm -f "$HL_ROOT/configure"	# retry next time
			hl_die "autoreconf failed"
		}
	fi
	mkdir -p "$dir"
	if [ ! -f "$dir/config.status" ] || [ "$(hl_configured_flags "$dir")" != "${flags[*]}" ]; then
		hl_log "configure ${flags[*]} (in ${dir#"$HL_ROOT"/})"
		(cd "$dir" && "$HL_ROOT/configure" "${flags[@]}" >config.out 2>&1) || {
			cat "$dir/config.out" >&2
			hl_die "configure failed"
		}
	fi
	hl_log "make -j$(hl_jobs) (in ${dir#"$HL_ROOT"/})"
	make -C "$dir" -j"$(hl_jobs)" >&2 || hl_die "build failed"
	if [ "${2:-}" = with-tests ]; then
		# Build the unit-test programs without running them (tests/run.py does).
		make -C "$dir" -j"$(hl_jobs)" check TESTS= >&2 || hl_die "building the unit tests failed"
	fi
	HL_BUILD=$dir
	export HL_BUILD
}

# hl_configured_flags DIR - the configure arguments DIR was configured with.
hl_configured_flags() {
	(cd "$1" && ./config.status --config 2>/dev/null | tr -d "'")
}

hl_jobs() { nproc 2>/dev/null || echo 2; }
