#!/usr/bin/env bash
# Credentials across a restore (doc/credentials.md), in both capture modes:
# root restoring the image of a program of user nobody gets every thread
# running as nobody, with nobody's groups and no capability, after a kill,
# beside the original (leave) and twice in a row; the same image with its
# recorded uid edited to 0, or with a file that is not nobody's, is refused
# with the reason before any process exists; a root program with a few
# capabilities, groups, securebits and no_new_privs, and a program of
# nobody with an ambient capability in an image of root's, keep exactly
# those; nobody's process leaves TCP repair mode and keeps no capability;
# a file nobody may not read is not reopened for it; image directories are
# 0700 and their files 0600 whatever the umask.
# Runs under tests/e2e/reaper; needs root.
set -u
suite=creds
. "$(dirname "$0")/suite.sh"
trap '[ $failed -eq 0 ] && rm -rf "$root"' EXIT
: "${CRDUMP:?}" "${CRINFO:?}"
user=nobody group=nogroup
as_user=(setpriv --reuid="$user" --regid="$group" --init-groups)
# What a restore must give back, as /proc/PID/status shows it.
cred_lines='^(Uid|Gid|Groups|CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs):'

# start CAPTURE RUNNER...: starts e2e program $PROG (threads) in $W through RUNNER
# (setpriv), under the runtime in capture mode runtime; its pid in APP and
# its credentials in $W/creds.
start() {
	local capture=$1 preload=()
	shift
	[ "$capture" = runtime ] && preload=(LD_PRELOAD="$SELFCKPT_LIB")
	rm -f "$W/ready"
	# The runtime's log, open to it whatever the program's umask, and its
	# output, which root restoring nobody's image reopens as nobody.
	install -m 666 /dev/null "$W/log"
	install -m 666 /dev/null "$W/out"
	install -m 666 /dev/null "$W/err"
	(cd "$W" && exec "$@" env "${preload[@]}" SELFCKPT_LOG="$W/log" SELFCKPT_DIR="$W/img" \
		bash -c 'umask 0277; exec "$@"' - "$E2E_BIN/${PROG:-threads}" >"$W/out" 2>"$W/err" \
		</dev/null) &
	APP=$!
	wait_for test -e "$W/ready" || { say "the program never became ready"; return 1; }
	grep -E "$cred_lines" /proc/$APP/status >"$W/creds"
}

# checkpoint CAPTURE PID LEAVE DUMPER...: an image of PID, its directory in
# IMG; the runtime's is written by the program itself, crdump runs as
# DUMPER (setpriv, or nothing for root). LEAVE: --leave-running, or "kill".
checkpoint() {
	local capture=$1 pid=$2 leave=$3 n
	shift 3
	if [ "$capture" = runtime ]; then
		n=$(checkpoints)
		kill -USR2 "$pid"
		wait_for more_checkpoints "$n" ||
			{ say "no checkpoint"; cat "$W/log" >&2; return 1; }
		IMG=$(readlink -f "$W/img/latest")
		if grep -q 'checkpoint failed' "$W/log"; then
			say "checkpoint failed: $(cat "$W/log")"
			return 1
		fi
		[ "$leave" = kill ] && kill -KILL "$pid"
	else
		IMG=$W/dump$((++dumps))
		[ "$leave" = kill ] && leave=
		"$@" "$CRDUMP" $leave ${TCP:-} -t "$pid" -D "$IMG" 2>"$W/crdump.err" ||
			{ say "crdump failed"; cat "$W/crdump.err" >&2; return 1; }
	fi
	[ -n "$leave" ] || wait_for gone "$pid" ||
		{ say "process $pid outlived its checkpoint"; return 1; }
	modes_ok "$IMG"
}
dumps=0
checkpoints() { cat "$W/log" 2>/dev/null | grep -c ': checkpoint /'; }
more_checkpoints() { [ "$(checkpoints)" -gt "$1" ]; }

gone() { [ ! -d "/proc/$1" ]; }

# modes_ok DIR: the image is its owner's only, umask 0277 or not.
modes_ok() {
	local f bad=0
	[ "$(stat -c %a "$1")" = 700 ] || { say "$1 has mode $(stat -c %a "$1")"; bad=1; }
	for f in "$1"/*; do
		[ "$(stat -c %a "$f")" = 600 ] || { say "$f has mode $(stat -c %a "$f")"; bad=1; }
	done
	return $bad
}

# restored DIR: root restores DIR; the restored process's pid in COPY, and
# crload's in LOADER. Every thread has the credentials in $W/creds.
restored() {
	local t
	# Not the last restore's line: the new crload may not have begun.
	rm -f "$W/crload.err"
	"$CRLOAD" -v ${TCP:-} "$1" >"$W/crload.out" 2>"$W/crload.err" &
	LOADER=$!
	wait_for grep -qs 'process running again' "$W/crload.err" ||
		{ say "not restored: $(cat "$W/crload.err")"; return 1; }
	# In place, the copy is crload's child; beside the original, its
	# namespace's init's. Killed by run_cases if the case fails.
	COPY=$(descendants $LOADER | tail -1)
	PEER=$COPY
	for t in /proc/"$COPY"/task/*; do
		if ! grep -E "$cred_lines" "$t/status" | diff -u "$W/creds" - >&2; then
			say "thread ${t##*/} of the copy has other credentials"
			cat "$W/crload.err" >&2
			return 1
		fi
	done
}

# finished PID WAITFOR: stops the program and takes its verdict.
finished() {
	kill -USR1 "$1"
	wait "$2" || { say "the program failed: $(tail -2 "$W/err")"; return 1; }
}

as_nobody() { # CAPTURE SCENARIO
	local capture=$1 dumper=() pid
	[ "$capture" = crdump ] && dumper=("${as_user[@]}")
	chmod 777 "$W"
	install -d -o "$user" -m 700 "$W/img"
	start "$capture" "${as_user[@]}" || return 1
	grep -q "^Uid:.65534.65534.65534.65534$" "$W/creds" || { say "not nobody's"; return 1; }
	case $2 in
	kill)
		checkpoint "$capture" $APP kill "${dumper[@]}" && wait $APP 2>/dev/null
		restored "$IMG" && finished $COPY $LOADER
		;;
	leave)
		checkpoint "$capture" $APP --leave-running "${dumper[@]}" && restored "$IMG" &&
			finished $COPY $LOADER && finished $APP $APP
		;;
	twice)
		checkpoint "$capture" $APP kill "${dumper[@]}" && wait $APP 2>/dev/null
		restored "$IMG" || return 1
		pid=$COPY
		checkpoint "$capture" $pid kill "${dumper[@]}" && wait $LOADER 2>/dev/null
		restored "$IMG" && finished $COPY $LOADER
		;;
	esac
}

# The image of nobody's program, edited or with a file of another owner's.
edited_refused() { # CAPTURE
	local capture=$1 dumper=() pid
	[ "$capture" = crdump ] && dumper=("${as_user[@]}")
	chmod 777 "$W"
	install -d -o "$user" -m 700 "$W/img"
	start "$capture" "${as_user[@]}" || return 1
	pid=$APP
	checkpoint "$capture" $APP kill "${dumper[@]}" && wait $APP 2>/dev/null
	cp -a "$IMG" "$W/uid0" && cp -a "$IMG" "$W/caps" && cp -a "$IMG" "$W/swapped" &&
		cp -a "$IMG" "$W/legacy" || return 1
	"$E2E_BIN/imgedit" "$W/uid0" "core-$pid.img" uid=0 creds.ruid=0 || return 1
	refuses "$W/uid0" "pid $pid: recorded uid 0 but the image belongs to uid 65534 (nobody): refused$" ||
		return 1
	# crinfo check says what crload would, and fails.
	if "$CRINFO" check "$W/uid0" >"$W/check.out" 2>&1 ||
		! grep -q "credentials.*pid $pid: recorded uid 0 but the image belongs" "$W/check.out"; then
		say "crinfo check did not refuse the credentials:"
		cat "$W/check.out" >&2
		return 1
	fi
	# Unprivileged, crload gives nobody else's ids either.
	refuses "$W/uid0" "pid $pid: recorded uid 0 but crload runs as uid 65534: refused" \
		"${as_user[@]}" "$CRLOAD" || return 1
	"$E2E_BIN/imgedit" "$W/caps" "core-$pid.img" creds.cap_permitted=0x200000 \
		creds.cap_effective=0x200000 || return 1
	refuses "$W/caps" "pid $pid: recorded capabilities .* but the image belongs to uid 65534 (nobody), not root: refused" ||
		return 1
	# As an older selfckpt wrote it, with no credentials: root refuses it,
	# its owner restores it as themself.
	"$E2E_BIN/imgedit" "$W/legacy" "core-$pid.img" creds=- || return 1
	refuses "$W/legacy" "pid $pid: the image records no credentials .* belongs to uid 65534 (nobody): refused" ||
		return 1
	"${as_user[@]}" "$CRLOAD" -v "$W/legacy" >"$W/crload.out" 2>"$W/crload.err" &
	LOADER=$!
	wait_for grep -qs 'process running again' "$W/crload.err" &&
		grep -q 'its processes run as crload does' "$W/crload.err" ||
		{ say "nobody did not restore the image without credentials: $(cat "$W/crload.err")"; return 1; }
	COPY=$(descendants $LOADER | tail -1)
	PEER=$COPY
	grep -q "^Uid:.65534.65534.65534.65534$" /proc/$COPY/status ||
		{ say "the image without credentials does not run as nobody"; return 1; }
	kill -KILL $COPY $LOADER 2>/dev/null
	wait $LOADER 2>/dev/null
	chown root "$W/swapped/mm-$pid.img"
	refuses "$W/swapped" "mm-$pid.img belongs to uid 0, the image directory to uid 65534: refused" ||
		return 1
	# The untouched image restores.
	restored "$IMG" && finished $COPY $LOADER
}

# A root program with a few capabilities, groups, securebits and
# no_new_privs; the image is root's.
caps_root() { # CAPTURE
	start "$1" setpriv --groups=4,27,100 --inh-caps=-all,+net_raw,+sys_time \
		--ambient-caps=+net_raw --bounding-set=-all,+net_raw,+sys_time,+chown \
		--securebits=+no_setuid_fixup --no-new-privs || return 1
	grep -q '^CapBnd:.0000000002002001$' "$W/creds" || { say "unexpected: $(cat "$W/creds")"; return 1; }
	checkpoint "$1" $APP kill && wait $APP 2>/dev/null
	restored "$IMG" && finished $COPY $LOADER
}

# A program of nobody with an ambient capability, captured by root: a
# root-owned image, restored as it was.
caps_nobody() {
	chmod 777 "$W"
	start crdump "${as_user[@]}" --inh-caps=+net_raw --ambient-caps=+net_raw \
		--bounding-set=-all,+net_raw || return 1
	grep -q '^CapAmb:.0000000000002000$' "$W/creds" || { say "unexpected: $(cat "$W/creds")"; return 1; }
	checkpoint crdump $APP kill && wait $APP 2>/dev/null
	restored "$IMG" && finished $COPY $LOADER
}

# nobody's established TCP connections, captured by root: the restored
# process leaves repair mode (which takes CAP_NET_ADMIN) and then holds no
# capability.
t_tcp_nobody() {
	local peer st
	chmod 777 "$W"
	(cd "$W" && exec "${as_user[@]}" "$E2E_BIN/tcp_peer" >"$W/peer.out" 2>&1 </dev/null) &
	peer=$!
	PROG=tcp_established TCP=--tcp-established
	start crdump "${as_user[@]}" && checkpoint crdump $APP kill && { wait $APP 2>/dev/null; true; } &&
		restored "$IMG" && finished $COPY $LOADER
	st=$?
	PROG= TCP=
	[ $st -eq 0 ] || { kill -KILL $peer; wait $peer; return 1; }
	wait $peer || { say "the peer failed: $(cat "$W/peer.out")"; return 1; }
}

sleeps_with_file() { [ -e "/proc/$1/fd/3" ] && [ "$(readlink "/proc/$1/exe")" = "$(command -v sleep)" ]; }

# crload, run as root for nobody's image, opens what the image names with
# nobody's file access: a file nobody may no longer read is not handed to
# the restored process.
t_owner_access() {
	local pid out
	chmod 777 "$W"
	echo secret >"$W/secret"
	chmod 644 "$W/secret"
	(cd "$W" && exec "${as_user[@]}" bash -c 'exec 3<secret; exec sleep 600' </dev/null &>/dev/null) &
	pid=$!
	wait_for sleeps_with_file $pid || { say "sleep never held the file"; return 1; }
	checkpoint crdump $pid kill "${as_user[@]}" && wait $pid 2>/dev/null
	chmod 600 "$W/secret"
	# Refused by the restored process, once forked: it opens its files.
	if out=$("$CRLOAD" "$IMG" 2>&1) || ! grep -q "fd 3: .*secret.*Permission denied" <<<"$out"; then
		say "expected fd 3 refused, got: $out"
		return 1
	fi
}

if [ "$(id -u)" != 0 ] || ! "${as_user[@]}" test -x "$CRLOAD" -a -r "$SELFCKPT_LIB" -a \
	-x "$E2E_BIN/threads"; then
	echo "SKIP: $suite: needs root, and the build reachable by user $user"
	exit 77
fi
chmod 711 "$root"
for capture in runtime crdump; do
	for s in kill leave twice; do
		eval "t_nobody_${capture}_$s() { as_nobody $capture $s; }"
		cases+=("nobody_${capture}_$s")
	done
	eval "t_refused_$capture() { edited_refused $capture; }"
	eval "t_caps_root_$capture() { caps_root $capture; }"
	cases+=("refused_$capture" "caps_root_$capture")
done
t_caps_nobody() { caps_nobody; }
run_cases "${cases[@]}" caps_nobody owner_access tcp_nobody
