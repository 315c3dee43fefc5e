# Run by tests/e2e/run (mpi.e2e): mpirun -np 2 of mpi_ring.c (built here
# once with mpicc); the shell, mpirun and the two ranks are one tree.
# Rank 0 writes its results to a file, printed at the end. Open MPI's
# session directory (TMPDIR) is the work directory, so that the files an
# image refers to are the test's own.
set -e
src=$(dirname "${BASH_SOURCE[0]}")/mpi_ring.c
bin=${TMPDIR:-/tmp}/selfckpt-mpi_ring-$(cksum <"$src" | cut -d' ' -f1)
if [ ! -x "$bin" ]; then
	mpicc -O2 -o "$bin.tmp.$$" "$src"
	mv "$bin.tmp.$$" "$bin"
fi
export TMPDIR=$PWD
# The e2e tests run as root on CI machines.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# mpirun passes SIGUSR2, the checkpoint trigger, on to the ranks, which
# would each take a checkpoint of their own after the tree's.
export OMPI_MCA_ess_base_forward_signals=none
mpirun -np 2 --oversubscribe --mca btl self,vader "$bin" result.txt
cat result.txt
