# Run by tests/e2e/run (lammps.e2e): LAMMPS, a molecular-dynamics code,
# under mpirun -np 2; the shell, mpirun and both ranks are one tree. Rank 0
# writes its log to a file, as batch jobs do: once it is past step 100 the
# script says so (the driver checkpoints then, in the middle of the run);
# at the end it prints the lines of the steps (the rest of the log holds
# timings, which differ run to run).
set -e
. "$(dirname "${BASH_SOURCE[0]}")/../mpi_env.sh"
mpirun "${mpirun_args[@]}" lmp -in "$(dirname "${BASH_SOURCE[0]}")/lammps.in" \
	-log lammps.log -screen none &
mpirun=$!
until grep -qsE '^ +100 ' lammps.log; do sleep 0.1; done
echo "LAMMPS is past step 100"
wait $mpirun
grep -E '^ +[0-9]+ ' lammps.log
