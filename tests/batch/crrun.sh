#!/usr/bin/env bash
# crrun, the launcher for batch jobs (doc/batch.md), as a batch system
# drives it but without one: the signals Slurm, PBS and LSF send, the
# kill -9 of a failed node, output files made anew, and the job run again
# by the same command line. A job's output file ends as an uninterrupted
# run's; the program never sees the batch system's signals.
# Runs under tests/e2e/reaper.
set -u
suite=crrun
. "$(dirname "$0")/../e2e/suite.sh"
: "${CRRUN:?}" "${CRINFO:?}" "${BATCH_BIN:?}"
trap '[ $failed -eq 0 ] && rm -rf "$root"' EXIT
trap 'exit 1' INT TERM

STEPS=40 MS=50
PROG=("$BATCH_BIN/batchjob" $STEPS res $MS)
# Slower, for the cases that wait for periodic checkpoints: same result.
SLOW=("$BATCH_BIN/batchjob" $STEPS res 200)
"$BATCH_BIN/batchjob" $STEPS "$root/ref" $MS >/dev/null || exit 1

# job [ENV=VALUE...] [CRRUN OPTIONS...] -- PROGRAM...: crrun in $W with
# its job directory $W/job, in the background (pid in CR), its stdout and
# stderr appended to $W/job.out as a batch system's output file.
job() {
	local envs=()
	while [[ $# -gt 0 && $1 == *=* ]]; do envs+=("$1"); shift; done
	(cd "$W" && exec env "${envs[@]}" "$CRRUN" "$@" >>"$W/job.out" 2>&1 </dev/null) &
	CR=$!
}
# A run to the end in the foreground: its exit status.
job_fg() { job "$@"; wait $CR; }
# at STEP: the job wrote step STEP of its output.
at() { wait_for grep -qs "^step $1 " "$W/res" || { say "never reached step $1"; return 1; }; }
ended() { # STATUS: crrun ended with it
	local st=0
	wait $CR || st=$?
	[ $st -eq "$1" ] || { say "crrun exited $st, not $1:"; tail -5 "$W/job.out" >&2; return 1; }
}
program() { sed -n 's/.* \(start\|resume\) pid=\([0-9]*\).*/\2/p' "$W/job/history" | tail -1; }
gone() { # PID: no such process left
	! kill -0 "$1" 2>/dev/null || { say "pid $1 is still there"; return 1; }
}
# The job's output is an uninterrupted run's and it saw no signal.
same_result() {
	cmp -s "$W/res" "$root/ref" || { say "res differs from an uninterrupted run's:";
		diff "$W/res" "$root/ref" | head -5 >&2; return 1; }
	! grep -q "saw signal" "$W/job.out" || { say "the program saw a signal:";
		grep "saw signal" "$W/job.out" >&2; return 1; }
}
in_history() { grep -q "$1" "$W/job/history" || { say "no '$1' in the history:";
	cat "$W/job/history" >&2; return 1; }; }

# Run to the end: crrun passes the exit status through, and run again it
# does not run the program a second time.
t_finish() {
	job_fg job -- "$BATCH_BIN/batchjob" 5 res 10 3
	[ $? -eq 3 ] || { say "exit status $?, not 3"; return 1; }
	touch -d '1 hour ago' "$W/res"
	job_fg job -- "$BATCH_BIN/batchjob" 5 res 10 3
	[ $? -eq 3 ] || { say "second run: exit status $?, not 3"; return 1; }
	grep -q "finished already" "$W/job.out" || { say "no word of the finished job"; return 1; }
	[ -z "$(find "$W/res" -newermt '10 minutes ago')" ] || { say "the program ran again"; return 1; }
}

# The warning signal (sbatch --signal=B:USR2@N reaches crrun only): a
# final checkpoint, the program gone, exit status 75; run again, the job
# resumes and ends as an uninterrupted run.
t_warning() {
	job job -- "${PROG[@]}"
	at 5 || return 1
	local pid
	pid=$(program)
	kill -USR2 $CR
	ended 75 || return 1
	gone "$pid" || return 1
	in_history "exit status=75 how=checkpointed" || return 1
	job_fg job -- "${PROG[@]}" || { say "resumed job failed"; return 1; }
	in_history " resume pid=$pid " || return 1
	same_result
}

# Twice in a row, and a warning signal of the user's choice.
t_twice() {
	job job --signal=USR1 -- "${PROG[@]}"
	at 5 || return 1
	kill -USR1 $CR
	ended 75 || return 1
	job job --signal=USR1 -- "${PROG[@]}"
	at 20 || return 1
	kill -USR1 $CR
	ended 75 || return 1
	job_fg job --signal=USR1 -- "${PROG[@]}" || { say "resumed job failed"; return 1; }
	[ "$(grep -c ' resume ' "$W/job/history")" -eq 2 ] || { say "not resumed twice"; return 1; }
	same_result
}

# Pre-emption and scancel, PBS's walltime, LSF's bkill: SIGTERM (or
# SIGINT) to every process of the job at once, after SIGCONT as Slurm
# sends it.
sigterm_all() {
	job job -- "${PROG[@]}"
	at 5 || return 1
	kill -CONT $CR $(descendants $CR)
	kill -"$1" $CR $(descendants $CR)
	ended 75 || return 1
	job_fg job -- "${PROG[@]}" || { say "resumed job failed"; return 1; }
	same_result
}
t_term() { sigterm_all TERM; }

# The warning arrives while a periodic checkpoint is being written: the
# final request is not lost, a final checkpoint follows it.
t_warning_during_checkpoint() {
	local busy steps=60
	busy=$(cd "$(dirname "$0")/../e2e" && pwd)/busy.py
	(cd "$W" && python3 "$busy" $steps ref 512 && rm ready) || return 1
	job SELFCKPT_INTERVAL=1 job -- python3 "$busy" $steps out 512
	wait_for eval 'ls -d "$W"/job/.ckpt-*.tmp-* >/dev/null 2>&1' ||
		{ say "no periodic checkpoint began"; return 1; }
	kill -USR2 $CR
	ended 75 || return 1
	job_fg job -- python3 "$busy" $steps out 512 || { say "resumed job failed"; return 1; }
	cmp -s "$W/out" "$W/ref" || { say "out differs from an uninterrupted run's"; return 1; }
}
t_int() { sigterm_all INT; }

# The batch system's output file made anew for the requeued job
# (Slurm without --open-mode=append) or grown by its own lines: the
# restore goes on, the job writes on in the file crrun has now.
t_output_truncated() {
	job job -- "${PROG[@]}"
	at 5 || return 1
	kill -USR2 $CR
	ended 75 || return 1
	: >"$W/job.out"
	job_fg job -- "${PROG[@]}" || { say "resumed job failed:"; cat "$W/job.out" >&2; return 1; }
	grep -q "^step $((STEPS - 1))$" "$W/job.out" || { say "no output after the restore"; return 1; }
	same_result
}
t_output_appended() {
	job job -- "${PROG[@]}"
	at 5 || return 1
	kill -USR2 $CR
	ended 75 || return 1
	echo "slurmstepd: error: *** JOB 3 CANCELLED DUE TO JOB REQUEUE ***" >>"$W/job.out"
	job_fg job -- "${PROG[@]}" || { say "resumed job failed:"; cat "$W/job.out" >&2; return 1; }
	same_result
}

# A node fails: crrun and the program killed at once after they wrote
# more than the newest periodic generation holds. Run again with no
# option, the job resumes from that generation.
t_node_failure() {
	job SELFCKPT_INTERVAL=1 job -- "${SLOW[@]}"
	wait_for grep -qs " checkpoint " "$W/job/history" || { say "no periodic checkpoint"; return 1; }
	local last
	last=$(grep -c '^step' "$W/res")
	at $((last + 4)) || return 1
	kill -KILL $CR $(descendants $CR)
	wait $CR 2>/dev/null
	job_fg SELFCKPT_INTERVAL=1 job -- "${SLOW[@]}" || { say "resumed job failed"; return 1; }
	in_history " resume " || return 1
	# The restored program goes on checkpointing every second.
	awk '/ resume /{r=1} r && / checkpoint /{n++} END{exit !n}' "$W/job/history" ||
		{ say "no periodic checkpoint after the restore"; return 1; }
	same_result
}

# all_gone PID...: each has ended (a zombie has: its files are closed).
all_gone() {
	local p
	for p; do
		! grep -qs '^State:[[:space:]]*[^Z]' /proc/"$p"/status || return 1
	done
}

# An MPI job whose node fails twice (doc/shm-files.md): mpirun, its ranks
# and crrun killed with -9 after the job ran past its newest periodic
# generation, and the files the ranks share memory through in /dev/shm
# gone with the node. Run again the same way each time, it resumes from
# that generation, and its results equal an uninterrupted run's.
t_mpi_node_failure() {
	local env mpi=() p shm round seen pids
	if ! command -v mpirun >/dev/null || ! command -v mpicc >/dev/null; then
		echo "SKIP: $suite/mpi_node_failure: mpirun and mpicc are not installed"
		return 77
	fi
	env=$(cd "$(dirname "$0")/../e2e" && pwd)/mpi_env.sh
	# shellcheck disable=SC1090 # mpi_env.sh: mpi_ring, mpirun_args
	. "$env"
	build_mpi_ring || return 1
	mpi=(TMPDIR="$W" OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1)
	(cd "$W" && env "${mpi[@]}" mpirun "${mpirun_args[@]}" "$mpi_ring" ref.txt >/dev/null 2>&1) ||
		{ say "the uninterrupted run failed"; return 1; }
	for round in 1 2; do
		# Only this round's lines of the history count: the last
		# round's checkpoints are there before this round resumes.
		seen=$(cat "$W/job/history" 2>/dev/null | wc -l)
		job "${mpi[@]}" SELFCKPT_INTERVAL=1 job -- mpirun "${mpirun_args[@]}" "$mpi_ring" result.txt
		wait_for eval "tail -n +$((seen + 1)) \"\$W/job/history\" 2>/dev/null |
			awk '/ (start|resume) /{s=1} s && / checkpoint /{n++} END{exit !n}'" ||
			{ say "round $round: no periodic checkpoint:"; tail -5 "$W/job.out" >&2; return 1; }
		sleep 0.5
		shm=$(for p in $(descendants $CR); do grep -o ' /dev/shm/[^ ]*$' /proc/"$p"/maps; done 2>/dev/null | sort -u)
		[ -n "$shm" ] || { say "round $round: the ranks share no file in /dev/shm"; return 1; }
		pids="$CR $(descendants $CR)"
		# shellcheck disable=SC2086 # a list of pids
		kill -KILL $pids
		wait $CR 2>/dev/null
		# The node is down once every process of the job has ended: a
		# rank still exiting holds its ports, which a dead node's do not.
		# shellcheck disable=SC2086 # a list of pids
		wait_for all_gone $pids || { say "round $round: the job's processes never ended"; return 1; }
		# shellcheck disable=SC2086 # a list of paths without spaces
		rm -f $shm
	done
	job_fg "${mpi[@]}" SELFCKPT_INTERVAL=1 job -- mpirun "${mpirun_args[@]}" "$mpi_ring" result.txt ||
		{ say "the resumed job failed:"; tail -5 "$W/job.out" >&2; return 1; }
	[ "$(grep -c ' resume ' "$W/job/history")" = 2 ] || { say "not resumed twice"; return 1; }
	cmp -s "$W/result.txt" "$W/ref.txt" || { say "the results differ from an uninterrupted run's:";
		diff "$W/result.txt" "$W/ref.txt" | head -5 >&2; return 1; }
}

# The newest generation damaged: the one before it; none that verifies:
# the program from the beginning.
damage() { # GENERATION
	local f
	f=$(ls "$W/job/$1"/pages-*.img | head -1)
	flip "$f" $(($(stat -c %s "$f") / 2))
}
periodic_then_stop() {
	job SELFCKPT_INTERVAL=1 job -- "${SLOW[@]}"
	wait_for test -e "$W/job/ckpt-0002" || { say "no second generation"; return 1; }
	kill -USR2 $CR
	ended 75
}
t_fallback() {
	periodic_then_stop || return 1
	damage "$(readlink "$W/job/latest")"
	job_fg job -- "${PROG[@]}" || { say "resumed job failed"; return 1; }
	grep -q "skipped" "$W/job.out" || { say "no word of the damaged generation"; return 1; }
	same_result
}
t_none_verifies() {
	periodic_then_stop || return 1
	for g in "$W"/job/ckpt-*; do damage "$(basename "$g")"; done
	job_fg job -- "${PROG[@]}" || { say "job failed:"; tail -5 "$W/job.out" >&2; return 1; }
	grep -q "from the beginning" "$W/job.out" || { say "no word of starting over"; return 1; }
	same_result
}

# --requeue: the warning signal requeues the job through its batch
# system (here a scontrol that notes its arguments); SIGTERM does not:
# the batch system is ending or requeueing the job already.
t_requeue() {
	mkdir -p "$W/bin"
	printf '#!/bin/sh\necho "$@" >>"%s/requeued"\n' "$W" >"$W/bin/scontrol"
	chmod +x "$W/bin/scontrol"
	job PATH="$W/bin:$PATH" SLURM_JOB_ID=42 job --requeue -- "${PROG[@]}"
	at 5 || return 1
	kill -USR2 $CR
	ended 75 || return 1
	[ "$(cat "$W/requeued" 2>/dev/null)" = "requeue 42" ] || { say "scontrol not asked"; return 1; }
	in_history "requeue job=slurm:42 status=0" || return 1
	job PATH="$W/bin:$PATH" SLURM_JOB_ID=42 job --requeue -- "${PROG[@]}"
	at 20 || return 1
	kill -TERM $CR
	ended 75 || return 1
	[ "$(wc -l <"$W/requeued")" -eq 1 ] || { say "requeued on SIGTERM"; return 1; }
	job_fg job -- "${PROG[@]}" || { say "resumed job failed"; return 1; }
	same_result
}

# PBS's and LSF's requeue commands, for the job crrun finds it runs in.
requeued_by() { # ENV=ID COMMAND WANT-ARGS
	mkdir -p "$W/bin"
	printf '#!/bin/sh\necho "$@" >>"%s/requeued"\n' "$W" >"$W/bin/$2"
	chmod +x "$W/bin/$2"
	job PATH="$W/bin:$PATH" "$1" job --requeue -- "${PROG[@]}"
	at 5 || return 1
	kill -USR2 $CR
	ended 75 || return 1
	[ "$(cat "$W/requeued" 2>/dev/null)" = "$3" ] || { say "$2 not asked '$3'"; return 1; }
	job_fg job -- "${PROG[@]}" || { say "resumed job failed"; return 1; }
	same_result
}
t_requeue_pbs() { requeued_by PBS_JOBID=7.server qrerun 7.server; }
t_requeue_lsf() { requeued_by LSB_JOBID=9 brequeue 9; }

# A process tree: a shell pipeline, checkpointed and restored whole.
t_tree() {
	local cmd=(sh -c '"$0" "$@" | cat >piped' "${PROG[@]}")
	job job -- "${cmd[@]}"
	at 5 || return 1
	kill -TERM $CR $(descendants $CR)
	ended 75 || return 1
	job_fg job -- "${cmd[@]}" || { say "resumed job failed"; return 1; }
	in_history "procs=3" || return 1
	same_result || return 1
	[ "$(grep -c '^step' "$W/piped")" -ge $((STEPS - 6)) ] || { say "the pipe lost its output"; return 1; }
}

# python3, as a batch job would run it.
t_python() {
	local py=(python3 "$(cd "$(dirname "$0")" && pwd)/batchjob.py" 20 res $MS)
	python3 "${py[1]}" 20 "$W/pyref" $MS >/dev/null
	job job -- "${py[@]}"
	at 5 || return 1
	kill -USR2 $CR
	ended 75 || return 1
	job_fg job -- "${py[@]}" || { say "resumed job failed"; return 1; }
	cmp -s "$W/res" "$W/pyref" || { say "python's result differs"; return 1; }
	! grep -q "saw signal" "$W/job.out"
}

# What went wrong is said in one line, with crrun's documented status.
t_errors() {
	job_fg job -- "$W/no-such-program"
	[ $? -eq 127 ] || { say "missing program: not 127"; return 1; }
	: >"$W/not-executable"
	job_fg job2 -- "$W/not-executable"
	[ $? -eq 126 ] || { say "not executable: not 126"; return 1; }
	job_fg job3 "${PROG[@]}"
	[ $? -eq 125 ] || { say "no --: not 125"; return 1; }
	job_fg --signal=KILL job3 -- "${PROG[@]}"
	[ $? -eq 125 ] || { say "--signal=KILL: not 125"; return 1; }
	# One crrun per job directory.
	job job4 -- "${PROG[@]}"
	local first=$CR
	at 2 || return 1
	job_fg job4 -- "${PROG[@]}"
	[ $? -eq 125 ] || { say "a second crrun on one directory: not 125"; return 1; }
	grep -q "another crrun runs this job" "$W/job.out" || { say "no word why"; return 1; }
	CR=$first
	ended 0
}

# Killed by a signal is not finished: crrun says so the shell's way, and
# the next run starts it again (no generation yet).
t_killed() {
	job job -- "${PROG[@]}"
	at 3 || return 1
	kill -KILL "$(program)"
	ended 137 || return 1
	in_history "how=killed" || return 1
	job_fg job -- "${PROG[@]}" || { say "second run failed"; return 1; }
	same_result
}

# crinfo history tells the story, and how long checkpoints took.
t_history() {
	job job -- "${PROG[@]}"
	at 5 || return 1
	kill -USR2 $CR
	ended 75 || return 1
	job_fg job -- "${PROG[@]}" || return 1
	"$CRINFO" history "$W/job" >"$W/history.txt" || { say "crinfo history failed"; return 1; }
	for want in "started pid" "warning: SIGUSR2" "checkpoint ckpt-0001" "after the warning" \
		"exit status 75 (checkpointed in ckpt-0001)" "restored from ckpt-0001" \
		"resumed pid" "exit status 0 (exited)" "2 run(s), 1 checkpoint(s)"; do
		grep -qF "$want" "$W/history.txt" || { say "no '$want' in:"; cat "$W/history.txt" >&2; return 1; }
	done
}

run_cases finish warning twice term int warning_during_checkpoint output_truncated output_appended node_failure \
	mpi_node_failure fallback none_verifies requeue requeue_pbs requeue_lsf tree python errors killed history
