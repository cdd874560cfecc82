# scripts/lib.sh - shell helpers shared by scripts/run, scripts/test and bench/run.
# shellcheck shell=bash
# Source it from bash; it defines functions and variables only (prefix hl_ / HL_).

# shellcheck disable=SC2034  # HL_* variables are used by the sourcing scripts

HL_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Debian packages needed to build, run, test and benchmark hostlink.
HL_PACKAGES=(
	build-essential autoconf automake libtool pkg-config
	libfcgi-dev libjson-c-dev libjwt-dev libpq-dev libcurl4-openssl-dev libssl-dev
	postgresql nginx apache2 libapache2-mod-fcgid
	wrk curl jq spawn-fcgi clang python3 valgrind openssl procps
	chromium
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

# ---------------------------------------------------------------- PostgreSQL

# hl_pg_bin NAME - path of a PostgreSQL server program (newest installed major).
hl_pg_bin() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] && [ -x "$d/$1" ] || hl_die "PostgreSQL server program $1 not found (Debian: postgresql)"
	echo "$d/$1"
}

# hl_as_pg CMD... - run CMD as the postgres user when we are root (from /, so an
# unreadable working directory does not matter), else as ourselves.
hl_as_pg() {
	if hl_is_root; then
		(cd / && runuser -u postgres -- "$@")
	else
		"$@"
	fi
}

# hl_pg_reachable DIR - true if the user running PostgreSQL can reach DIR
# (false e.g. for a checkout under /root, mode 0700, when we are root).
hl_pg_reachable() {
	hl_as_pg test -x "$1" 2>/dev/null
}

# hl_pg_init DATADIR - create a throwaway cluster in DATADIR (unless it exists):
# trust authentication, no TCP (listen_addresses = ''), unix socket in DATADIR.
hl_pg_init() {
	local data=$1
	[ -f "$data/PG_VERSION" ] && return 0
	mkdir -p "$data"
	hl_is_root && chown postgres:postgres "$data"
	chmod 700 "$data"
	hl_as_pg "$(hl_pg_bin initdb)" -D "$data" -U postgres -A trust -E UTF8 --locale=C >"$data.initdb.log" 2>&1 || {
		cat "$data.initdb.log" >&2
		hl_die "initdb failed"
	}
	rm -f "$data.initdb.log"
	hl_as_pg sh -c "cat >>'$data/postgresql.conf'" <<-EOF

	# hostlink throwaway cluster
	listen_addresses = ''
	unix_socket_directories = '$data'
	max_connections = 200
	shared_buffers = 128MB
	EOF
}

# hl_pg_start DATADIR - start the cluster, wait until it accepts connections.
hl_pg_start() {
	local data=$1
	if hl_as_pg "$(hl_pg_bin pg_ctl)" -D "$data" status >/dev/null 2>&1; then
		hl_die "a PostgreSQL server is already running on $data (another instance of this script?)"
	fi
	hl_as_pg "$(hl_pg_bin pg_ctl)" -D "$data" -l "$data/postgresql.log" -w -t 60 start >/dev/null ||
		{ tail -n 20 "$data/postgresql.log" >&2; hl_die "PostgreSQL did not start"; }
}

# hl_pg_stop DATADIR - fast shutdown, quiet if not running.
hl_pg_stop() {
	local data=$1
	[ -f "$data/postmaster.pid" ] || return 0
	hl_as_pg "$(hl_pg_bin pg_ctl)" -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

# hl_psql DATADIR SQL - run SQL as postgres on the cluster's socket; prints rows unaligned.
hl_psql() {
	psql -h "$1" -U postgres -d postgres -X -q -A -t -v ON_ERROR_STOP=1 -c "$2"
}

# hl_pg_create_db DATADIR NAME - create role and database NAME (owned by the role) if missing.
hl_pg_create_db() {
	local data=$1 name=$2
	if [ "$(hl_psql "$data" "SELECT 1 FROM pg_roles WHERE rolname = '$name'")" != 1 ]; then
		hl_psql "$data" "CREATE ROLE \"$name\" LOGIN"
	fi
	if [ "$(hl_psql "$data" "SELECT 1 FROM pg_database WHERE datname = '$name'")" != 1 ]; then
		hl_psql "$data" "CREATE DATABASE \"$name\" OWNER \"$name\""
	fi
}

# ---------------------------------------------------------------- secrets, config

# hl_secret FILE - create FILE (mode 0600) with 32 random bytes as 64 hex chars, unless it exists.
hl_secret() {
	[ -s "$1" ] && return 0
	(umask 077 && openssl rand -hex 32 >"$1")
}

# ---------------------------------------------------------------- nginx

# hl_nginx_conf DIR SITE_FILE... - write DIR/nginx.conf, a minimal foreground
# nginx main configuration (pid, logs and temp files under DIR) that includes
# the given server-block files. Copies fastcgi_params and mime.types beside it,
# because `include fastcgi_params;` resolves relative to the main config.
hl_nginx_conf() {
	local dir=$1 f user
	shift
	mkdir -p "$dir/tmp" "$dir/log"
	cp /etc/nginx/fastcgi_params /etc/nginx/mime.types "$dir/"
	[ -f /etc/nginx/fastcgi.conf ] && cp /etc/nginx/fastcgi.conf "$dir/"
	# Workers run as the invoking user so that they can reach the socket and
	# web/ wherever the checkout lives (even under /root, mode 0700).
	user=""
	hl_is_root && user="user root root;"
	{
		cat <<-EOF
		# generated by hostlink scripts - do not edit
		daemon off;
		master_process on;
		worker_processes 1;
		$user
		pid $dir/nginx.pid;
		error_log $dir/log/error.log warn;
		events { worker_connections 1024; }
		http {
		    include $dir/mime.types;
		    default_type application/octet-stream;
		    access_log $dir/log/access.log;
		    client_body_temp_path $dir/tmp/client_body;
		    fastcgi_temp_path $dir/tmp/fastcgi;
		    proxy_temp_path $dir/tmp/proxy;
		    scgi_temp_path $dir/tmp/scgi;
		    uwsgi_temp_path $dir/tmp/uwsgi;
		    sendfile on;
		    keepalive_timeout 65;
		EOF
		for f in "$@"; do
			echo "    include $f;"
		done
		echo "}"
	} >"$dir/nginx.conf"
}

# hl_nginx_site SRC DEST SOCKET WEBROOT PORT - template the shipped
# nginx/hostlink.conf for local paths: the FastCGI socket, the web/ root and
# the listen address (127.0.0.1:PORT).
hl_nginx_site() {
	local src=$1 dest=$2 sock=$3 web=$4 port=$5
	sed -E \
		-e "s#unix:/run/hostlink/hostlink\.sock#unix:$sock#g" \
		-e "s#/usr/local/share/hostlink/web#$web#g" \
		-e "s#^([[:space:]]*listen[[:space:]]+)[^;]*;#\\1127.0.0.1:$port;#" \
		"$src" >"$dest"
	grep -q "unix:$sock" "$dest" || hl_die "could not template $src (socket path not found)"
}

# hl_nginx_start DIR - start nginx (foreground, in the background); sets HL_NGINX_PID.
hl_nginx_start() {
	local dir=$1
	nginx -t -q -p "$dir" -e "$dir/log/error.log" -c "$dir/nginx.conf" || hl_die "nginx configuration test failed"
	nginx -p "$dir" -e "$dir/log/error.log" -c "$dir/nginx.conf" &
	HL_NGINX_PID=$!
}

# ---------------------------------------------------------------- processes

# hl_wait_http URL [SECONDS] [PID] - poll URL until it answers 200; gives up
# early when PID (if given) has exited.
hl_wait_http() {
	local url=$1 secs=${2:-15} pid=${3:-} i
	for ((i = 0; i < secs * 10; i++)); do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "$url" 2>/dev/null)" = 200 ] && return 0
		[ -z "$pid" ] || kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# hl_wait_socket PATH PID [SECONDS] - wait until unix socket PATH exists while PID lives.
hl_wait_socket() {
	local path=$1 pid=$2 secs=${3:-15} i
	for ((i = 0; i < secs * 10; i++)); do
		[ -S "$path" ] && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# hl_stop_pid PID [SIGNAL] [SECONDS] - send SIGNAL (default TERM) to PID and wait
# for it to exit; SIGKILL after SECONDS (default 10). Only for our own children.
hl_stop_pid() {
	local pid=$1 sig=${2:-TERM} secs=${3:-10} i
	[ -n "$pid" ] || return 0
	kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
	kill -s "$sig" "$pid" 2>/dev/null || true
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		hl_log "pid $pid did not exit after SIG$sig; sending SIGKILL"
		kill -s KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
}

# hl_children PID - pids of the direct children of PID.
hl_children() {
	ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' || true
}

# hl_rss_kib PID - VmRSS of PID in KiB (empty if gone).
hl_rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}
