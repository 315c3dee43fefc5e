#!/usr/bin/env bash
# redis-server, a real program, under the runtime: with data loaded and a
# client (tests/e2e/redis_client.py, not checkpointed) holding a
# connection, it is checkpointed with SELFCKPT_STOP=1; the client sends a
# request to the frozen server; the server is killed and restored with
# --tcp-established. The client must get its answer from the copy and go
# on on its original socket, every key must be intact (DEBUG DIGEST before
# and after), and redis-benchmark must pass against the restored server.
# redis runs with --save '' --appendonly no: it never forks.
# The same again with redis-server started without the runtime and
# captured with crdump --tcp-established (which kills it).
# Then, with no client connected, the server is restored the way a user
# restores it, plain crload: killed then restored, left running, and
# twice in a row, in both capture modes.
set -u
: "${SELFCKPT_LIB:?}" "${CRLOAD:?}" "${CRDUMP:?}"
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../close-fds.sh"
close_extra_fds
for p in redis-server redis-cli redis-benchmark python3; do
	command -v $p >/dev/null || { echo "SKIP: redis: $p is not installed"; exit 77; }
done
root=$(mktemp -d "${TMPDIR:-/tmp}/selfckpt-redis.XXXXXX")
APP= LOADER= CLIENT=
cleanup() { for p in $APP $LOADER $CLIENT; do kill -KILL "$p" 2>/dev/null; done; }
trap cleanup EXIT
fail() {
	echo "FAIL: redis/$capture: $* (work dir $W)"
	for f in log err crload.err crdump.err client.err; do
		[ -s "$W/$f" ] && sed "s/^/  $f: /" "$W/$f" | tail -5
	done
	exit 1
}
wait_for() {
	local i
	for ((i = 0; i < 600; i++)); do "$@" && return 0; sleep 0.05; done
	return 1
}
cli() { redis-cli -p "$port" "$@"; }
pong() { [ "$(cli ping 2>/dev/null)" = PONG ]; }
# The server closes its end of those redis-cli connections a moment after
# they exit; a checkpoint before that meets a socket in CLOSE_WAIT, which
# it refuses (seen under the full suite's load).
closed_by_cli() { # a server socket in CLOSE_WAIT (state 08 in /proc/net/tcp)
	awk -v p="$(printf ':%04X' "$port")" '$2 ~ p "$" && $4 == "08"' /proc/net/tcp | grep -q .
}
all_closed() { ! closed_by_cli; }

run() {
capture=$1 W=$root/$1
mkdir -p "$W" && cd "$W" || exit 1
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

local preload=(LD_PRELOAD="$SELFCKPT_LIB")
[ "$capture" = crdump ] && preload=()
env "${preload[@]}" SELFCKPT_DIR="$W/img" SELFCKPT_LOG="$W/log" SELFCKPT_STOP=1 \
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
	--enable-debug-command local --dir "$W" >"$W/out" 2>"$W/err" </dev/null &
APP=$!
wait_for pong || fail "redis-server did not start"
for i in $(seq 1 2000); do echo "SET key:$i value:$i"; done | cli >/dev/null
cli RPUSH list a b c >/dev/null && cli HSET hash f1 v1 f2 v2 >/dev/null
python3 "$here/redis_client.py" "$port" >"$W/client.out" 2>"$W/client.err" </dev/null &
CLIENT=$!
wait_for test -e client.ready || fail "the client never connected"
digest=$(cli DEBUG DIGEST)
keys=$(cli DBSIZE)
wait_for all_closed || fail "redis-server kept a closed connection"

# The server is frozen (SELFCKPT_STOP=1), or killed by crdump with its
# connection in repair mode: the client's next request waits in the
# network until the restored copy takes it.
if [ "$capture" = crdump ]; then
	mkdir -p "$W/img"
	"$CRDUMP" -t $APP -D "$W/img/ckpt" --tcp-established 2>"$W/crdump.err" ||
		fail "crdump failed"
	ln -s ckpt "$W/img/latest"
else
	kill -USR2 $APP
	wait_for grep -qs ': checkpoint /' log || fail "no checkpoint"
fi
touch send
wait_for test -e client.sent || fail "the client did not send"
# The request is on the wire at once (loopback) and dropped by the socket
# in repair mode; the client sends it again after its retransmission
# timeout, 200 ms. Under the runtime nothing holds the port between the
# kill and the restore, so a retransmission then meets no socket and is
# answered with a reset: the restore must come first (crdump's holder
# keeps the port, doc/tcp.md).
sleep 0.02
{ kill -KILL $APP; wait $APP; } 2>/dev/null
APP=
"$CRLOAD" -v --tcp-established "$W/img/latest" >"$W/crload.out" 2>"$W/crload.err" </dev/null &
LOADER=$!
if [ "$capture" = crdump ]; then
	wait_for grep -q 'process running again' crload.err || fail "not restored"
else
	wait_for grep -q ': restored from' log || fail "not restored"
fi
wait $CLIENT || fail "the held client's connection did not survive"
CLIENT=
cli SET held 1 >/dev/null # the client's INCR undone: the data set as it was
[ "$(cli DBSIZE)" = "$keys" ] || fail "$(cli DBSIZE) keys, expected $keys"
[ "$(cli DEBUG DIGEST)" = "$digest" ] || fail "the data set changed"
redis-benchmark -q -n 1000 -p "$port" -t set,get,incr,lpush,lpop >"$W/bench.out" 2>&1 ||
	fail "redis-benchmark failed: $(tail -2 "$W/bench.out")"
grep -qi error "$W/bench.out" && fail "redis-benchmark: $(grep -i error "$W/bench.out" | head -1)"
cli SHUTDOWN NOSAVE >/dev/null 2>&1
wait $LOADER || fail "the restored redis-server did not exit cleanly"
LOADER=
echo "PASS: redis/$capture"
}

# idle CAPTURE MODE: the server, with no client connected at the
# checkpoint, holds only its listening socket: restored with plain crload.
# kill: killed, then restored; twice: the restored one checkpointed,
# killed and restored again; leave: the original runs on, changes its
# data and shuts down (the port is its own until then), then the image is
# restored. Every time, the data set is the one of the checkpoint.
idle() {
capture=$1 mode=$2 W=$root/idle-$1-$2
mkdir -p "$W/img" && cd "$W" || exit 1
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
local preload=(LD_PRELOAD="$SELFCKPT_LIB") round
[ "$capture" = crdump ] && preload=()
env "${preload[@]}" SELFCKPT_DIR="$W/img" SELFCKPT_LOG="$W/log" \
	redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no \
	--enable-debug-command local --dir "$W" >"$W/out" 2>"$W/err" </dev/null &
APP=$!
wait_for pong || fail "redis-server did not start"
for i in $(seq 1 2000); do echo "SET key:$i value:$i"; done | cli >/dev/null
digest=$(cli DEBUG DIGEST)
pid=$APP
for round in 1 2; do
	wait_for all_closed || fail "redis-server kept a closed connection"
	if [ "$capture" = crdump ]; then
		local args=()
		[ "$mode" = leave ] && args=(--leave-running)
		"$CRDUMP" -t "$pid" -D "$W/img/ckpt-$round" "${args[@]}" 2>>"$W/crdump.err" ||
			fail "crdump failed"
		ln -sfn "ckpt-$round" "$W/img/latest"
	else
		kill -USR2 "$pid"
		count() {
			local n
			n=$(grep -cs ': checkpoint /' log)
			[ "${n:-0}" -ge "$round" ]
		}
		wait_for count || fail "no checkpoint #$round"
	fi
	if [ "$mode" = leave ]; then
		cli SET after-checkpoint 1 >/dev/null
		cli SHUTDOWN NOSAVE >/dev/null 2>&1
		wait "$APP" || fail "the original did not shut down cleanly"
	else
		# Restored in place, the server has its old pid again.
		kill -KILL "$pid" 2>/dev/null
		# shellcheck disable=SC2086 # one of them is empty
		wait $APP $LOADER 2>/dev/null
	fi
	"$CRLOAD" "$W/img/latest" >"$W/crload.out" 2>>"$W/crload.err" </dev/null &
	LOADER=$! APP=
	wait_for pong || fail "the restored server does not answer"
	[ "$(cli DEBUG DIGEST)" = "$digest" ] || fail "the data set is not the checkpoint's"
	[ "$mode" = twice ] || break
done
cli SHUTDOWN NOSAVE >/dev/null 2>&1
wait $LOADER || fail "the restored redis-server did not exit cleanly"
LOADER=
echo "PASS: redis/$capture/idle-$mode"
}
run runtime
run crdump
for capture in runtime crdump; do
	for mode in kill leave twice; do idle $capture $mode; done
done
rm -rf "$root"
