# Sourced by the tests of crrun under Slurm (warning.sh, requeue.sh) after
# setting suite=NAME: the Slurm of lib.sh, job scripts as a user writes
# them, submitted with sbatch, each case in a work directory of its own and
# reported by one PASS or FAIL line. The scripts end in
# `exec crrun ... DIR -- PROGRAM`: Slurm's B: warning reaches the batch
# shell's pid only (doc/batch.md).
: "${suite:?}"
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../close-fds.sh"
close_extra_fds
. "$here/lib.sh"
slurm_skip_unless_usable
: "${CRRUN:?}" "${CRINFO:?}" "${BATCH_BIN:?}"
# The job scripts name crrun and batchjob as commands a user installed.
export PATH=$(dirname "$CRRUN"):$BATCH_BIN:$PATH
BATCHJOB_PY=$(cd "$here/../batch" && pwd)/batchjob.py

say() { printf '  %s\n' "$*" >&2; }

# slurm_cases CASE...: starts Slurm, runs each t_CASE in its own work
# directory $W, cancelling what it left in the queue, stops Slurm and exits:
# 0 if no case failed (77: skipped, the case said why). On a failure it shows the jobs' output files,
# their histories and the controller's last words. SLURM_CASES="CASE..."
# in the environment runs those instead.
slurm_cases() {
	local t st start failed=0
	slurm_start || { echo "FAIL: slurm/$suite: Slurm did not start"; exit 1; }
	[ -z "${SLURM_CASES:-}" ] || set -- $SLURM_CASES
	for t; do
		W=$SLURM_DIR/work/$t
		mkdir -p "$W"
		start=$SECONDS
		"t_$t"
		st=$?
		case $st in
		0) echo "PASS: slurm/$suite/$t ($((SECONDS - start)) s)" ;;
		77) ;; # skipped: the case said why
		*)
			failed=$((failed + 1))
			echo "FAIL: slurm/$suite/$t ($((SECONDS - start)) s)"
			show_case ;;
		esac
		slurm_cancel_all
	done
	slurm_stop
	exit $((failed > 0))
}

show_case() {
	local f
	for f in "$W"/*.out "$W"/*/history; do
		[ -f "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }
	done
	echo "--- slurmctld.log"
	tail -n 15 "$SLURM_DIR/log/slurmctld.log"
}

# submit SCRIPT: sbatch of $W/SCRIPT in $W; echoes the job id.
submit() {
	slurm_submit -D "$W" "$W/$1" || { say "sbatch refused $1"; return 1; }
}

# at FILE LINE: the job wrote LINE (an ERE) into its file $W/FILE.
at() {
	slurm_poll "$SLURM_WAIT" grep -Eqs "$2" "$W/$1" || { say "no '$2' in $1"; return 1; }
}

# jobs_to_end MAX_RUNS JOBID...: follows the jobs to their end, each
# started again at once whenever it is requeued (slurm_requeue_now), at most
# MAX_RUNS runs each. Succeeds once all are COMPLETED; fails if one ends
# otherwise, or none moves on for $SLURM_WAIT s.
jobs_to_end() {
	local max=$1 job state left end=$((SECONDS + SLURM_WAIT))
	local -A runs
	shift
	for job; do runs[$job]=1; done
	while :; do
		left=0
		for job; do
			state=$(slurm_job_field "$job" JobState)
			case $state in
			COMPLETED) continue ;;
			# Empty: scontrol did not answer this time. SIGNALING:
			# a signal (the time limit's warning) is on its way.
			PENDING | RUNNING | CONFIGURING | COMPLETING | REQUEUED | SIGNALING | "") ;;
			*)
				say "job $job ended $state in run ${runs[$job]}"
				return 1 ;;
			esac
			left=$((left + 1))
			slurm_requeued "$job" $((runs[$job] - 1)) || continue
			runs[$job]=$((runs[$job] + 1))
			[ "${runs[$job]}" -le "$max" ] || { say "job $job requeued after $max runs"; return 1; }
			slurm_requeue_now "$job" || return 1
			end=$((SECONDS + SLURM_WAIT))
		done
		[ $left -gt 0 ] || return 0
		[ $SECONDS -lt $end ] || { say "$left job(s) not done after ${SLURM_WAIT}s"; return 1; }
		sleep 0.5
	done
}

# same_file FILE REFERENCE: the job's output file is an uninterrupted run's.
same_file() {
	cmp -s "$W/$1" "$W/$2" && return 0
	say "$1 differs from the uninterrupted run's $2:"
	diff "$W/$1" "$W/$2" | head -n 5 >&2
	return 1
}

# unseen FILE: batchjob, whose stdout is $W/FILE, saw none of the batch
# system's signals, SIGCONT included: Slurm sends it to every process of a
# job it ends or requeues, before SIGTERM (doc/batch.md).
unseen() {
	local sig seen=
	for sig in HUP INT USR1 USR2 TERM CONT; do
		grep -q "saw signal $(kill -l $sig)$" "$W/$1" && seen+=" SIG$sig"
	done
	[ -z "$seen" ] || { say "the program saw$seen"; return 1; }
}

# in_order FILE ERE...: FILE (in $W) has lines matching each ERE, in this
# order, other lines between them.
in_order() {
	local file=$1
	shift
	awk 'BEGIN { for (i = 2; i < ARGC; i++) { want[++n] = ARGV[i]; ARGV[i] = "" }; k = 1 }
		k <= n && $0 ~ want[k] { k++ }
		END { if (k <= n) { print "  no \"" want[k] "\" in that order in:"; exit 1 } }' \
		"$W/$file" "$@" >&2 && return 0
	sed 's/^/    /' "$W/$file" >&2
	return 1
}

# story DIR ERE...: the same of `crinfo history DIR` (DIR in $W).
story() {
	local dir=$1
	shift
	"$CRINFO" history "$W/$dir" >"$W/$dir.story" || { say "crinfo history $dir failed"; return 1; }
	in_order "$dir.story" "$@"
}
