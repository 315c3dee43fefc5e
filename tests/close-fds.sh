# Sourced by the test, demo and bench scripts. close_extra_fds closes every
# descriptor above stderr in the calling (sub)shell: what started us (make's
# jobserver, a CI runner) must not leak into a program to be checkpointed.
# Without redirecting the loop: that would leave stderr on /dev/null.
close_extra_fds() {
	local fd
	for fd in $(ls /proc/$BASHPID/fd); do
		if [ "$fd" -gt 2 ] && [ -e "/proc/$BASHPID/fd/$fd" ]; then
			eval "exec $fd>&-"
		fi
	done
}
