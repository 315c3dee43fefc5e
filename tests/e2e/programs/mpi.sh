# Run by tests/e2e/run (mpi.e2e): mpirun -np 2 of mpi_ring.c; the shell,
# mpirun and the two ranks are one tree. Rank 0 writes its results to a
# file, printed at the end.
set -e
. "$(dirname "${BASH_SOURCE[0]}")/../mpi_env.sh"
build_mpi_ring
mpirun "${mpirun_args[@]}" "$mpi_ring" result.txt
cat result.txt
