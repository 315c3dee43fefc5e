# Run by tests/e2e/run (drained.e2e): a command that wrote into a pipe and
# exited before its reader read any of it, as gcc -pipe's cc1 often does
# before as. The reader's stdin then holds the bytes and no writer.
{
	seq 1 2000
	: >seq.done
} | {
	sleep 3
	cat
} &
until [ -e seq.done ]; do sleep 0.05; done
# The writer is gone once the file exists, or a moment after.
sleep 0.2
echo "seq has exited; its output waits in the pipe"
wait
