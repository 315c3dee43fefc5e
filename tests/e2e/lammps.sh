# Run by tests/e2e/run (lammps.e2e): LAMMPS, a molecular-dynamics code,
# under mpirun -np 2, its screen output filtered down to the lines of the
# steps (the rest holds timings, which differ run to run); the shell,
# mpirun, both ranks and the filter are one tree.
set -e
. "$(dirname "${BASH_SOURCE[0]}")/mpi_env.sh"
mpirun "${mpirun_args[@]}" lmp -in "$(dirname "${BASH_SOURCE[0]}")/lammps.in" -log none |
	grep --line-buffered -E '^ +[0-9]+ '
