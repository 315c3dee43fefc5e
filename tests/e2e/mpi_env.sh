# Sourced by the Open MPI tests (mpi.sh, lammps.sh, mpi_forward.sh): how
# they run mpirun, and mpi_ring.c built once with mpicc.
mpi_src=$(dirname "${BASH_SOURCE[0]}")/mpi_ring.c
mpi_ring=${TMPDIR:-/tmp}/selfckpt-mpi_ring-$(cksum <"$mpi_src" | cut -d' ' -f1)
# build_mpi_ring: makes $mpi_ring unless it is there.
build_mpi_ring() {
	[ -x "$mpi_ring" ] && return
	mpicc -O2 -o "$mpi_ring.tmp.$$" "$mpi_src" && mv "$mpi_ring.tmp.$$" "$mpi_ring"
}
# Open MPI's session directory (TMPDIR) is the work directory, so that the
# files an image refers to are the test's own.
export TMPDIR=$PWD
# The e2e tests run as root on CI machines.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Two ranks on the one node, whatever its cores, over shared memory.
mpirun_args=(-np 2 --oversubscribe --mca btl self,vader)
