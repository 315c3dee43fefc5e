# Sourced by the Open MPI tests (mpi.sh, lammps.sh): how they run mpirun.
# Open MPI's session directory (TMPDIR) is the work directory, so that the
# files an image refers to are the test's own.
export TMPDIR=$PWD
# The e2e tests run as root on CI machines.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# mpirun passes SIGUSR2, the checkpoint trigger, on to the ranks, which
# would each take a checkpoint of their own after the tree's.
export OMPI_MCA_ess_base_forward_signals=none
# Two ranks on the one node, whatever its cores, over shared memory.
mpirun_args=(-np 2 --oversubscribe --mca btl self,vader)
