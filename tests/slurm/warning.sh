#!/usr/bin/env bash
# crrun under a real Slurm (tests/slurm/lib.sh), warned before the end:
# jobs whose time limit comes (`sbatch --signal=B:USR2@LEAD --requeue`) are
# checkpointed, requeue themselves through crrun --requeue, resume, and end
# with the output files of an uninterrupted run; a C program, a python3 one,
# an Open MPI job; the job's own output file, truncated or appended to by
# Slurm, never stops the restore.
set -u
suite=warning
. "$(dirname "$0")/jobs.sh"

# Slurm looks at time limits every 30 s and sends the --signal warning at
# the first look that finds the job within LEAD + 30 s of its end
# (doc/batch.md). With the shortest limit, one minute, a lead of 20 s
# warns each run 10 to 40 s into it; a lead of 30 s or more is due from
# the start, and a job started as the controller looked was never warned.
LEAD=20
# The programs run longer than the limit, about 65 s without a stop: a
# job takes three to five runs.
C_JOB=(650 c.res 100)
PY_JOB=(130 py.res 500)
# The others are warned at once; theirs are shorter.
MPIRUN_ARGS="-np 4 --oversubscribe --mca btl self,vader"
OUT_STEPS=60 OUT_MS=100

# limit_job NAME COMMAND: the job script $W/NAME.sh, under a time limit.
limit_job() {
	cat >"$W/$1.sh" <<-JOB
		#!/bin/bash
		#SBATCH --job-name=$1 --time=1 --signal=B:USR2@$LEAD --requeue
		#SBATCH --output=$1.out
		exec crrun --requeue $1 -- $2
	JOB
}

# Each run is warned, checkpointed and requeued until the work is done.
t_time_limit() {
	local c py
	limit_job c "batchjob ${C_JOB[*]}"
	limit_job py "python3 $BATCHJOB_PY ${PY_JOB[*]}"
	c=$(submit c.sh) && py=$(submit py.sh) || return 1
	batchjob "${C_JOB[0]}" "$W/c.ref" 0 >/dev/null
	python3 "$BATCHJOB_PY" "${PY_JOB[0]}" "$W/py.ref" 0 >/dev/null
	jobs_to_end 6 "$c" "$py" || return 1
	same_file c.res c.ref && same_file py.res py.ref || return 1
	for name in c py; do
		story $name "started pid .* job slurm:" "warning: SIGUSR2" \
			"checkpoint ckpt-[0-9]+: .* then exit" "exit status 75 \(checkpointed" \
			"requeue of slurm:[0-9]+: exit status 0" "resumed pid .* restart 1" \
			"exit status 0 \(exited\)" || return 1
		story $name "requeue of slurm" "restored from ckpt-" || return 1
	done
}

# The warning a time limit gives (--signal=B:USR2), sent at once: to the
# batch shell's pid only, which is crrun's.
warn() { scancel --batch --signal=USR2 "$1"; }

# Open MPI: mpirun and its four ranks (one CPU, oversubscribed) are
# checkpointed as one tree, requeued and restored; rank 0's results are
# an uninterrupted run's, which runs meanwhile.
t_mpi() {
	local ring ref st=0
	command -v mpicc >/dev/null && command -v mpirun >/dev/null ||
		{ echo "SKIP: slurm/$suite/mpi: Open MPI is not installed (openmpi-bin libopenmpi-dev)"; return 77; }
	# mpi_env.sh sets TMPDIR for the e2e tests: only mpi_ring is wanted.
	ring=$(. "$here/../e2e/mpi_env.sh" && build_mpi_ring >&2 && echo "$mpi_ring") ||
		{ say "mpicc failed"; return 1; }
	cat >"$W/mpi.sh" <<-JOB
		#!/bin/bash
		#SBATCH --job-name=mpi --requeue --output=mpi.out
		exec crrun --requeue mpi -- mpirun $MPIRUN_ARGS $ring result.txt
	JOB
	# The test runs jobs as root, which Open MPI wants confirmed.
	local -x OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
	mkdir -p "$W/ref"
	(cd "$W/ref" && TMPDIR=$W/ref exec mpirun $MPIRUN_ARGS "$ring" result.txt >/dev/null) &
	ref=$!
	mpi_warned || st=1
	wait $ref || { say "the uninterrupted mpirun failed"; st=1; }
	[ $st -eq 0 ] && same_file result.txt ref/result.txt
}

mpi_warned() {
	local job
	# Open MPI's session directory, which the images refer to, is the job's.
	job=$(TMPDIR=$W submit mpi.sh) || return 1
	at result.txt "^step 500:" && warn "$job" && jobs_to_end 3 "$job" || return 1
	grep -Eq " checkpoint .*procs=([5-9]|[1-9][0-9])" "$W/mpi/history" ||
		{ say "not checkpointed as mpirun and its 4 ranks:"; cat "$W/mpi/history" >&2; return 1; }
	story mpi "started pid" "warning: SIGUSR2" "checkpoint ckpt-[0-9]+: .* then exit" \
		"requeue of slurm:$job: exit status 0" "resumed pid" "exit status 0 \(exited\)"
}

# The job's output file, which Slurm truncates for the requeued job or
# (--open-mode=append) writes its own lines into, never stops the
# restore: the restored program writes on in it.
t_output() {
	local mode job last jobs=()
	for mode in append truncate; do
		cat >"$W/$mode.sh" <<-JOB
			#!/bin/bash
			#SBATCH --job-name=$mode --requeue --open-mode=$mode --output=$mode.out
			exec crrun --requeue $mode -- batchjob $OUT_STEPS $mode.res $OUT_MS
		JOB
		job=$(submit $mode.sh) || return 1
		jobs+=("$job")
	done
	batchjob $OUT_STEPS "$W/ref" 0 >/dev/null
	for mode in append truncate; do
		at $mode.res "^step 10 " || return 1
	done
	warn "${jobs[0]}" && warn "${jobs[1]}" && jobs_to_end 3 "${jobs[@]}" || return 1
	for mode in append truncate; do
		same_file $mode.res ref || return 1
		story $mode "warning: SIGUSR2" "requeue of slurm" "restored from ckpt-" || return 1
	done
	last="^step $((OUT_STEPS - 1))\$"
	# Nothing of the first run's lines, nor Slurm's, is cut.
	in_order append.out "^step 0$" "^crrun: checkpointed in" "restored from" "$last" &&
		unseen append.out || return 1
	in_order truncate.out "restored from" "$last" || return 1
	# Or the test did not try what it means to.
	! grep -q "^step 0$" "$W/truncate.out" || { say "Slurm did not truncate truncate.out"; return 1; }
}

slurm_cases mpi output time_limit
