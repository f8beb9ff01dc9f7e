#!/usr/bin/env bash
# Usage: scripts/with-registries.sh CMD [ARGS...]
#
# Starts two throwaway OCI registries (docker-registry) on free 127.0.0.1
# ports, one open and one with htpasswd auth, runs CMD with these exported:
#
#   SKILLDOCK_TEST_REGISTRY           127.0.0.1:PORT of the open registry
#   SKILLDOCK_TEST_REGISTRY_AUTH      127.0.0.1:PORT of the auth registry
#   SKILLDOCK_TEST_REGISTRY_USER      user for the auth registry
#   SKILLDOCK_TEST_REGISTRY_PASSWORD  password for the auth registry
#   SKILLDOCK_TEST_REGISTRY_DIR       storage root of the open registry
#   SKILLDOCK_REQUIRE_TOOLS=1
#
# then stops both registries, removes their files and exits with CMD's status.
set -euo pipefail

REGISTRY_BIN=/usr/bin/docker-registry
START_TIMEOUT=20 # seconds per registry

if [ "$#" -eq 0 ]; then
	echo "usage: $0 CMD [ARGS...]" >&2
	exit 2
fi
if [ ! -x "$REGISTRY_BIN" ]; then
	echo "with-registries: $REGISTRY_BIN not found; run scripts/test-deps.sh first" >&2
	exit 1
fi
if ! command -v htpasswd >/dev/null 2>&1; then
	echo "with-registries: htpasswd not found; run scripts/test-deps.sh first" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/skilldock-registries.XXXXXX")
pids=()  # registry processes
child="" # CMD

cleanup() {
	local pid
	if [ -n "$child" ]; then
		kill -TERM "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
	fi
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
# on_signal SIG CODE: pass SIG on to CMD, then exit (cleanup runs on EXIT).
on_signal() {
	trap - INT TERM
	if [ -n "$child" ]; then
		kill -"$1" "$child" 2>/dev/null || true
		wait "$child" 2>/dev/null || true
		child=""
	fi
	exit "$2"
}
trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM

# random_hex N: N random hex characters.
random_hex() {
	od -An -tx1 -N"$(( ($1 + 1) / 2 ))" /dev/urandom | tr -d ' \n' | cut -c1-"$1"
}

# port_in_use PORT: true if something listens on 127.0.0.1:PORT.
port_in_use() {
	if command -v ss >/dev/null 2>&1; then
		ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

# free_port: print a random port in 20000-59999 nobody is listening on.
free_port() {
	local port _
	for _ in $(seq 1 100); do
		port=$(( 20000 + ( (RANDOM << 15 | RANDOM) % 40000 ) ))
		if ! port_in_use "$port"; then
			echo "$port"
			return 0
		fi
	done
	echo "with-registries: could not find a free port" >&2
	return 1
}

# http_status URL [USER:PASS]: print the HTTP status code of GET URL.
http_status() {
	if command -v curl >/dev/null 2>&1; then
		local auth=()
		[ -n "${2:-}" ] && auth=(-u "$2")
		curl -s -o /dev/null -m 2 -w '%{http_code}' "${auth[@]}" "$1" || true
	else
		local hostport=${1#http://}
		hostport=${hostport%%/*}
		local path=/${1#http://*/}
		(
			exec 3<>"/dev/tcp/${hostport%:*}/${hostport#*:}" || exit 0
			printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$path" "$hostport" >&3
			read -r -t 2 _ code _ <&3 && printf '%s' "$code"
		) 2>/dev/null || true
	fi
}

# start_registry NAME WANT_STATUS [AUTH_CONFIG]: start a registry in
# $tmp/NAME, retrying on a new port if the chosen one was taken. Sets
# REG_ADDR and REG_DIR.
start_registry() {
	local name=$1 want=$2 auth=${3:-}
	local dir=$tmp/$name
	local log=$dir/registry.log config=$dir/config.yml
	local port pid deadline status _
	mkdir -p "$dir/storage"

	for _ in 1 2 3; do
		port=$(free_port)
		cat >"$config" <<YAML
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir/storage
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: 127.0.0.1:$port
  secret: $(random_hex 32)
$auth
YAML
		: >"$log" # create it now: the redirection below happens in the child
		"$REGISTRY_BIN" serve "$config" >>"$log" 2>&1 </dev/null &
		pid=$!
		pids+=("$pid")

		deadline=$(( SECONDS + START_TIMEOUT ))
		while [ "$SECONDS" -lt "$deadline" ]; do
			if ! kill -0 "$pid" 2>/dev/null; then
				break # died
			fi
			# "listening on" proves that *this* process bound the port.
			if grep -q 'listening on' "$log" &&
				status=$(http_status "http://127.0.0.1:$port/v2/") &&
				[ "$status" = "$want" ]; then
				REG_ADDR=127.0.0.1:$port
				REG_DIR=$dir/storage
				return 0
			fi
			sleep 0.1
		done

		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		# Retry on a new port only if we lost a race for the port.
		if ! grep -q 'address already in use' "$log"; then
			break
		fi
	done

	echo "with-registries: $name registry failed to start (want HTTP $want on /v2/); last log lines:" >&2
	tail -n 20 "$log" >&2 || true
	exit 1
}

# Open registry.
start_registry open 200
open_addr=$REG_ADDR
open_dir=$REG_DIR

# htpasswd-protected registry.
user=skilldock
password=$(random_hex 24)
mkdir -p "$tmp/auth"
htpasswd -Bbn "$user" "$password" >"$tmp/auth/htpasswd" 2>/dev/null
start_registry auth 401 "auth:
  htpasswd:
    realm: skilldock-test
    path: $tmp/auth/htpasswd"
auth_addr=$REG_ADDR

export SKILLDOCK_TEST_REGISTRY=$open_addr
export SKILLDOCK_TEST_REGISTRY_AUTH=$auth_addr
export SKILLDOCK_TEST_REGISTRY_USER=$user
export SKILLDOCK_TEST_REGISTRY_PASSWORD=$password
export SKILLDOCK_TEST_REGISTRY_DIR=$open_dir
export SKILLDOCK_REQUIRE_TOOLS=1
# Tools installed by scripts/test-deps.sh (oras) live in $(go env GOPATH)/bin.
gopath="$("${GO:-go}" env GOPATH 2>/dev/null || true)"
if [ -n "$gopath" ]; then
	PATH="${gopath%%:*}/bin:$PATH"
fi
export PATH

# Run CMD in the background and wait for it, so that INT/TERM reach our
# traps right away (bash defers traps while a foreground command runs).
# Explicitly keep our stdin (async commands get /dev/null otherwise).
"$@" <&0 &
child=$!
status=0
wait "$child" || status=$?
child=""
exit "$status"
