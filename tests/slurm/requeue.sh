#!/usr/bin/env bash
# crrun under a real Slurm (tests/slurm/lib.sh), the job requeued by Slurm
# itself: pre-empted (`scontrol requeue`: SIGTERM to every process, SIGKILL
# KillWait later), it takes a final checkpoint in time; its node failed
# (every process killed at once), it resumes from its newest periodic
# generation with no flag given. Either way it ends with the output file of
# an uninterrupted run.
set -u
suite=requeue
. "$(dirname "$0")/jobs.sh"

STEPS=50 MS=200
# Seconds between periodic checkpoints: several of them in a run.
INTERVAL=2

# job_script NAME [LINE...]: the job script $W/NAME.sh, which runs
# batchjob through crrun after the LINEs. Its output file keeps every
# run's lines.
job_script() {
	local name=$1
	shift
	{
		echo "#!/bin/bash"
		echo "#SBATCH --job-name=$name --requeue --output=$name.out --open-mode=append"
		printf '%s\n' "$@"
		echo "exec crrun --requeue $name -- batchjob $STEPS $name.res $MS"
	} >"$W/$name.sh"
}

# The SIGTERM of pre-emption is a warning too: a final checkpoint, and
# crrun gone with status 75 before KillWait ends (a SIGKILL would leave no
# exit in the history). crrun does not requeue: Slurm does.
t_preempt() {
	local job took
	job_script preempt
	job=$(submit preempt.sh) || return 1
	batchjob $STEPS "$W/ref" 0 >/dev/null
	at preempt.res "^step 10 " || return 1
	scontrol requeue "$job" || { say "scontrol requeue $job failed"; return 1; }
	jobs_to_end 3 "$job" && same_file preempt.res ref && unseen preempt.out || return 1
	story preempt "started pid" "warning: SIGTERM" "checkpoint ckpt-[0-9]+: .* then exit" \
		"exit status 75 \(checkpointed" "resumed pid .* restart 1" "exit status 0 \(exited\)" &&
		story preempt "exit status 75" "restored from ckpt-" || return 1
	! grep -q " requeue " "$W/preempt/history" || { say "crrun requeued the job itself"; return 1; }
	took=$(awk '$2 == "warning" { w = $1 } $2 == "exit" && w { print $1 - w; exit }' \
		"$W/preempt/history")
	awk -v t="$took" -v kw="$SLURM_KILL_WAIT" 'BEGIN { exit !(t < kw) }' ||
		{ say "crrun took ${took}s to exit after SIGTERM, KillWait is ${SLURM_KILL_WAIT}s"; return 1; }
}

# checkpoints: how many the program took.
checkpoints() { cat "$W/node/history" 2>/dev/null | grep -c " checkpoint "; }
steps() { cat "$W/node.res" 2>/dev/null | grep -c "^step"; }
# The job wrote steps since its newest generation: no checkpoint while it
# wrote more output.
written_past_generation() {
	local ckpts=$(checkpoints) before=$(steps)
	sleep "$(awk -v ms=$MS 'BEGIN { print 2 * ms / 1000 }')"
	[ "$ckpts" -gt 0 ] && [ "$ckpts" = "$(checkpoints)" ] && [ "$(steps)" -gt "$before" ]
}

# A node failure: no warning, every process killed; Slurm requeues the job,
# which resumes from the newest periodic generation.
t_node_failure() {
	local job newest
	job_script node "export SELFCKPT_INTERVAL=$INTERVAL"
	job=$(submit node.sh) || return 1
	batchjob $STEPS "$W/ref" 0 >/dev/null
	slurm_poll "$SLURM_WAIT" written_past_generation ||
		{ say "no output past a periodic checkpoint"; return 1; }
	slurm_node_fail "$job" || return 1
	newest=$(sed -n 's/.* checkpoint .*image=\(ckpt-[0-9]*\).*/\1/p' "$W/node/history" | tail -n 1)
	jobs_to_end 3 "$job" && same_file node.res ref && unseen node.out || return 1
	story node "started pid" "checkpoint ckpt-[0-9]+: .* then run" \
		"resumed pid .* restart 1" "exit status 0 \(exited\)" || return 1
	story node "started pid" "restored from $newest" || return 1
	! grep -q " warning " "$W/node/history" || { say "a warning came"; return 1; }
}

slurm_cases preempt node_failure
