# Run by tests/e2e/run (mpi.e2e): mpirun -np 2 of mpi_ring.c (built here
# once with mpicc); the shell, mpirun and the two ranks are one tree.
# Rank 0 writes its results to a file, printed at the end.
set -e
src=$(dirname "${BASH_SOURCE[0]}")/mpi_ring.c
bin=${TMPDIR:-/tmp}/selfckpt-mpi_ring-$(cksum <"$src" | cut -d' ' -f1)
if [ ! -x "$bin" ]; then
	mpicc -O2 -o "$bin.tmp.$$" "$src"
	mv "$bin.tmp.$$" "$bin"
fi
. "$(dirname "${BASH_SOURCE[0]}")/mpi_env.sh"
mpirun "${mpirun_args[@]}" "$bin" result.txt
cat result.txt
