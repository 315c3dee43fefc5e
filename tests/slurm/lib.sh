# Sourced by the tests under tests/slurm: a one-node Slurm of the test's own
# (doc/batch.md). slurm_start runs a private munged, slurmctld and slurmd with
# a configuration, state, spool and logs in a fresh directory ($SLURM_DIR),
# on ports nobody listens on, so that tests running side by side, or a
# Slurm of the machine's, do not meet. slurm_stop (also run at exit) ends
# the jobs, then the daemons, by the pids in their pid files.
# The tests need root (slurmd runs jobs as their user) and slurm-wlm; without
# either they are skipped (exit 77) with the reason.

# Seconds a state wait gives up after: generous, for a loaded 2-core machine.
SLURM_WAIT=${SLURM_WAIT:-120}
# Slurm's own timeouts stay short so that the tests are fast: seconds from
# SIGTERM to SIGKILL (KillWait), and without word from slurmd before its node
# is DOWN (SlurmdTimeout; the controller looks about every third of it).
SLURM_KILL_WAIT=${SLURM_KILL_WAIT:-5}
SLURM_SLURMD_TIMEOUT=${SLURM_SLURMD_TIMEOUT:-10}
# Seconds between a job's requeue and its next start (slurm_requeue_now).
SLURM_CRED_GAP=2
SLURM_NODE=localhost
SLURM_DIR=
SLURM_MUNGED_PID=

slurm_log() { echo "slurm: $*" >&2; }

# slurm_skip_unless_usable: exits 77 with the reason unless we are root and
# Slurm's daemons, its client commands and munged are installed.
slurm_skip_unless_usable() {
	local p
	[ "$(id -u)" = 0 ] || { echo "SKIP: slurm: needs root (slurmd runs jobs as their user)"; exit 77; }
	for p in /usr/sbin/slurmctld /usr/sbin/slurmd /usr/sbin/slurmstepd /usr/sbin/munged \
		sbatch scontrol squeue sinfo scancel python3; do
		command -v "$p" >/dev/null ||
			{ echo "SKIP: slurm: $p is not installed (apt-get install slurm-wlm munge)"; exit 77; }
	done
}

# Two TCP ports free at the moment, for slurmctld and slurmd.
slurm_free_ports() {
	python3 -c 'import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])'
}

# slurm_poll SECONDS CMD...: runs CMD every half second until it succeeds;
# fails after SECONDS.
slurm_poll() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		sleep 0.5
	done
}

slurm_pid() { cat "$SLURM_DIR/$1.pid" 2>/dev/null; }
slurm_alive() { [ -n "$1" ] && [ -d "/proc/$1" ]; }
slurm_node_state() { sinfo -h -n "$SLURM_NODE" -o %t 2>/dev/null; }
slurm_node_idle() { [ "$(slurm_node_state)" = idle ]; }

slurm_write_config() {
	local ctld_port slurmd_port
	read -r ctld_port slurmd_port < <(slurm_free_ports)
	cat >"$SLURM_DIR/slurm.conf" <<-CONF
		ClusterName=selfckpt
		SlurmctldHost=localhost
		SlurmUser=root
		AuthType=auth/munge
		CredType=cred/munge
		AuthInfo=socket=$SLURM_DIR/munge/socket
		StateSaveLocation=$SLURM_DIR/state
		SlurmdSpoolDir=$SLURM_DIR/spool
		SlurmctldPidFile=$SLURM_DIR/slurmctld.pid
		SlurmdPidFile=$SLURM_DIR/slurmd.pid
		SlurmctldLogFile=$SLURM_DIR/log/slurmctld.log
		SlurmdLogFile=$SLURM_DIR/log/slurmd.log
		SlurmctldPort=$ctld_port
		SlurmdPort=$slurmd_port
		ProctrackType=proctrack/linuxproc
		TaskPlugin=task/none
		JobAcctGatherType=jobacct_gather/none
		SelectType=select/cons_tres
		SelectTypeParameters=CR_Core
		MpiDefault=none
		KillWait=$SLURM_KILL_WAIT
		SlurmdTimeout=$SLURM_SLURMD_TIMEOUT
		ReturnToService=2
		NodeName=$SLURM_NODE CPUs=2 RealMemory=1000 State=UNKNOWN
		PartitionName=debug Nodes=$SLURM_NODE Default=YES MaxTime=INFINITE State=UP
	CONF
}

# A munged of our own on a socket in $SLURM_DIR: the machine's munged, if
# any, is neither needed nor touched. munged runs as the munge user, who
# owns the key, and wants a socket directory only it can write and everyone can enter.
slurm_start_munged() {
	mkdir -p "$SLURM_DIR/munge"
	chown munge: "$SLURM_DIR/munge"
	chmod 0711 "$SLURM_DIR/munge"
	runuser -u munge -- /usr/sbin/munged --socket="$SLURM_DIR/munge/socket" \
		--pid-file="$SLURM_DIR/munge/munged.pid" --seed-file="$SLURM_DIR/munge/seed" \
		--log-file="$SLURM_DIR/munge/munged.log" ||
		{ slurm_log "munged did not start"; return 1; }
	slurm_poll 10 test -s "$SLURM_DIR/munge/munged.pid" || return 1
	SLURM_MUNGED_PID=$(cat "$SLURM_DIR/munge/munged.pid")
}

# slurm_start: starts munged, slurmctld and slurmd, and waits until the node
# is idle. Exits 77 if Slurm cannot be used here; returns 1 if it failed.
slurm_start() {
	slurm_skip_unless_usable
	SLURM_DIR=$(mktemp -d "${TMPDIR:-/tmp}/selfckpt-slurm.XXXXXX") || return 1
	# munged (the munge user) must reach its socket directory in here.
	chmod 0711 "$SLURM_DIR"
	mkdir -p "$SLURM_DIR"/{state,spool,log}
	trap slurm_stop EXIT
	slurm_write_config
	export SLURM_CONF=$SLURM_DIR/slurm.conf
	slurm_start_munged || return 1
	/usr/sbin/slurmctld -c || { slurm_log "slurmctld did not start"; return 1; }
	/usr/sbin/slurmd || { slurm_log "slurmd did not start"; return 1; }
	slurm_poll "$SLURM_WAIT" slurm_node_idle || {
		slurm_log "node $SLURM_NODE not idle after ${SLURM_WAIT}s: $(slurm_node_state)"
		return 1
	}
}

# slurm_end_pid PID: SIGTERM, then SIGKILL if it is still there after 10 s;
# returns once it is gone.
slurm_end_pid() {
	slurm_alive "$1" || return 0
	kill -TERM "$1" 2>/dev/null
	slurm_poll 10 eval "! slurm_alive $1" && return 0
	kill -KILL "$1" 2>/dev/null
	slurm_poll 10 eval "! slurm_alive $1"
}

# slurm_cancel_all: cancels every job and waits until they are gone.
slurm_cancel_all() {
	scancel --full --quiet --user=root 2>/dev/null
	slurm_poll 30 eval '[ -z "$(squeue -h -o %i 2>/dev/null)" ]' && return 0
	slurm_log "jobs left after scancel: $(squeue -h -o '%i %T' 2>/dev/null | tr '\n' ' ')"
	return 1
}

# slurm_stop: cancels every job and waits for them to end, then stops
# slurmd, slurmctld and munged. Safe to call twice.
slurm_stop() {
	[ -n "$SLURM_DIR" ] || return 0
	slurm_alive "$(slurm_pid slurmctld)" && slurm_cancel_all
	slurm_end_pid "$(slurm_pid slurmd)"
	slurm_end_pid "$(slurm_pid slurmctld)"
	slurm_end_pid "$SLURM_MUNGED_PID"
	SLURM_MUNGED_PID=
	# SLURM_KEEP_DIR=1 keeps the directory (logs, state) to look into.
	[ -n "${SLURM_KEEP_DIR:-}" ] || rm -rf "$SLURM_DIR"
	SLURM_DIR=
}

# slurm_submit SBATCH_ARGS...: submits a job, echoes its id.
slurm_submit() {
	sbatch --parsable "$@" | cut -d';' -f1
}

# slurm_job_field JOBID FIELD: one field of `scontrol show job`
# (JobState, Reason, Restarts, ...).
slurm_job_field() {
	scontrol -o show job "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# slurm_wait_state JOBID STATE... [TIMEOUT]: waits until the job's state is
# one of STATEs (PENDING, RUNNING, COMPLETED, FAILED, ...); the last argument
# is the timeout in seconds if it is a number (default $SLURM_WAIT). Fails,
# naming the state it is in, if it does not get there.
slurm_wait_state() {
	local job=$1 timeout=$SLURM_WAIT states
	shift
	states=("$@")
	if [[ ${states[-1]} =~ ^[0-9]+$ ]]; then
		timeout=${states[-1]}
		unset 'states[-1]'
	fi
	slurm_poll "$timeout" slurm_in_state "$job" "${states[@]}" && return 0
	slurm_log "job $job not ${states[*]} after ${timeout}s:" \
		"$(slurm_job_field "$job" JobState) $(slurm_job_field "$job" Reason)"
	return 1
}

slurm_in_state() {
	local job=$1 state s
	shift
	state=$(slurm_job_field "$job" JobState)
	for s; do [ "$state" = "$s" ] && return 0; done
	return 1
}

# slurm_requeue_now JOBID: a requeued job waits about two minutes before it
# may start again (Reason=BeginTime); this makes it start at once. It waits
# for the job to be back in the queue, then moves its start time to now until
# it has left the queue: the controller may set the delay after our update
# (seen after a node failure). Not at once, though: slurmd refuses a job
# credential made in the second its previous one was revoked, or before
# (whole seconds), and the job FAILS ("Job credential revoked"); the delay
# of two minutes is Slurm's guard against that.
slurm_requeue_now() {
	slurm_wait_state "$1" PENDING || return 1
	sleep "$SLURM_CRED_GAP"
	slurm_poll "$SLURM_WAIT" slurm_start_now "$1" || {
		slurm_log "job $1 still pending after ${SLURM_WAIT}s: $(slurm_job_field "$1" Reason)"
		return 1
	}
}

slurm_start_now() {
	slurm_in_state "$1" PENDING || return 0
	scontrol update JobId="$1" StartTime=now
	return 1
}

# slurm_node_fail JOBID: the node of a running job fails the way a crashed
# machine does. The job's processes, its slurmstepd and slurmd are killed
# (SIGKILL); the controller, hearing nothing from slurmd for SlurmdTimeout,
# sets the node DOWN and requeues the job itself (a job submitted with
# --requeue); slurmd then starts again and the node returns to service
# (ReturnToService=2). Returns once the job is back in the queue and the node
# idle; slurm_requeue_now makes it run again.
slurm_node_fail() {
	local job=$1 shell stepd restarts victims stopped=
	restarts=$(slurm_job_field "$job" Restarts)
	# The batch shell is the job's task 0; its parent is the job's slurmstepd.
	shell=$(scontrol listpids "$job" 2>/dev/null | awk 'NR > 1 && $3 == "batch" && $4 == 0 { print $1 }')
	stepd=$(sed -n 's/^PPid:\t*//p' "/proc/$shell/status" 2>/dev/null)
	[ "$(cat "/proc/$stepd/comm" 2>/dev/null)" = slurmstepd ] || {
		slurm_log "job $job: no slurmstepd found (batch shell '$shell')"
		return 1
	}
	# Stopped first, until no new process appears, so that none escapes by
	# forking while the others are killed.
	while victims=$(slurm_descendants "$stepd") && [ "$victims" != "$stopped" ]; do
		kill -STOP "$stepd" $victims 2>/dev/null
		stopped=$victims
	done
	# Children before their parents: a stopped process whose parent is
	# gone first may be left in an orphaned process group, which the
	# kernel sends SIGHUP and SIGCONT, and run its handler before its own
	# SIGKILL (batchjob said "saw signal 1" on a loaded machine).
	kill -KILL $victims "$stepd" "$(slurm_pid slurmd)" 2>/dev/null
	slurm_poll "$SLURM_WAIT" slurm_requeued "$job" "$restarts" || {
		slurm_log "job $job not requeued after the node failed:" \
			"$(slurm_job_field "$job" JobState) $(slurm_job_field "$job" Reason)"
		return 1
	}
	/usr/sbin/slurmd || { slurm_log "slurmd did not start again"; return 1; }
	slurm_poll "$SLURM_WAIT" slurm_node_idle ||
		{ slurm_log "node not idle after slurmd started again: $(slurm_node_state)"; return 1; }
}

# slurm_requeued JOBID RESTARTS: the job is pending, restarted once more.
slurm_requeued() {
	slurm_in_state "$1" PENDING && [ "$(slurm_job_field "$1" Restarts)" -gt "$2" ]
}

# The pids of PID's descendants, the deepest first, from the parent pids in
# /proc/*/stat (the command name, in parentheses, may hold spaces: fields
# are counted after it).
slurm_descendants() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
		{ sub(/ \(.*\) /, " "); parent[$1] = $3 }
		END {
			depth[root] = 0
			do {
				more = 0
				for (p in parent)
					if ((parent[p] in depth) && !(p in depth)) {
						depth[p] = depth[parent[p]] + 1
						more = 1
					}
			} while (more)
			for (p in depth) if (p != root) print depth[p], p
		}' | sort -k1,1nr -k2,2n | cut -d' ' -f2
}
