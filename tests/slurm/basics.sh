#!/usr/bin/env bash
# The one-node Slurm of tests/slurm/lib.sh, and what the batch tests rely
# on: a batch job runs and writes its output file; a job requeued with
# `scontrol requeue` runs again, its script from the start, with
# SLURM_RESTART_COUNT=1; a job whose node fails (its processes, slurmstepd
# and slurmd killed) is requeued by Slurm itself and runs again the same way.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../close-fds.sh"
close_extra_fds
. "$here/lib.sh"
slurm_skip_unless_usable
fail() {
	echo "FAIL: slurm/basics: $*"
	[ -n "$SLURM_DIR" ] && tail -n 5 "$SLURM_DIR"/log/*.log
	exit 1
}
slurm_start || fail "Slurm did not start"
W=$SLURM_DIR/work
mkdir -p "$W"

# A plain job: its output and its exit status.
job=$(slurm_submit -o "$W/plain.out" --wrap 'echo "hello from $SLURM_JOB_ID"') ||
	fail "sbatch refused a plain job"
slurm_wait_state "$job" COMPLETED FAILED || fail "plain job did not end"
[ "$(slurm_job_field "$job" JobState)" = COMPLETED ] || fail "plain job $(slurm_job_field "$job" JobState)"
[ "$(cat "$W/plain.out")" = "hello from $job" ] || fail "plain job wrote '$(cat "$W/plain.out")'"

# A job that runs until it is requeued: the first run waits (the file
# "started" tells the test it runs), the second one ends at once.
cat >"$W/requeued.sh" <<'JOB'
#!/bin/bash
echo "run ${SLURM_RESTART_COUNT:-0}" >>"$1"
[ "${SLURM_RESTART_COUNT:-0}" -ge 1 ] && exit 0
touch "$1.started"
sleep 600
JOB

# requeue_case NAME HOW: runs the job above, has it requeued by HOW (a
# command given the job id), and checks that it ran twice.
requeue_case() {
	local name=$1 how=$2 job runs
	job=$(slurm_submit --requeue -o /dev/null "$W/requeued.sh" "$W/$name.runs") ||
		fail "$name: sbatch refused the job"
	slurm_poll "$SLURM_WAIT" test -e "$W/$name.runs.started" ||
		fail "$name: job did not start: $(slurm_job_field "$job" JobState)"
	$how "$job" || fail "$name: job not requeued"
	slurm_requeue_now "$job" || fail "$name: requeued job did not start again"
	slurm_wait_state "$job" COMPLETED FAILED || fail "$name: requeued job did not end"
	[ "$(slurm_job_field "$job" JobState)" = COMPLETED ] ||
		fail "$name: requeued job $(slurm_job_field "$job" JobState)"
	runs=$(tr '\n' ' ' <"$W/$name.runs")
	[ "$runs" = "run 0 run 1 " ] || fail "$name: the runs were '$runs', not 'run 0 run 1'"
	[ "$(slurm_job_field "$job" Restarts)" = 1 ] ||
		fail "$name: Restarts=$(slurm_job_field "$job" Restarts)"
}
requeue_case requeue "scontrol requeue"
requeue_case node_fail slurm_node_fail

slurm_stop
echo "PASS: slurm/basics"
