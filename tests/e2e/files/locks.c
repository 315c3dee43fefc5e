// SPDX-License-Identifier: MIT
/*
 * Locks held at checkpoint are held again after restore: a POSIX record
 * lock, a flock() lock and an OFD lock (shared ones, so that the original
 * and a restored copy may hold them at once in the leave-running run).
 * The first is on a low descriptor, the others past 100 spare ones: the
 * runtime finds locks through each fdinfo for its first 64 descriptors,
 * through /proc/locks after (runtime/dump_fds.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zdtm.h"

/* Does our fdinfo for fd list a lock of this kind? */
static int fdinfo_has(int fd, const char *kind)
{
	char path[64], buf[4096];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, kind) != NULL;
}

/* Can another process take a write lock of this kind? (It must not.) */
static int other_can_lock(const char *path, int kind)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int fd = open(path, O_RDWR);
		struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 12, .l_len = 2 };
		int r = kind == 'f' ? flock(fd, LOCK_EX | LOCK_NB)
				    : fcntl(fd, kind == 'o' ? F_OFD_SETLK : F_SETLK, &fl);
		_exit(r == 0 ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		test_fail("fork: %m");
	return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

int main(int argc, char **argv)
{
	struct flock rd = { .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 10, .l_len = 10 };
	struct flock ofd = { .l_type = F_RDLCK, .l_whence = SEEK_SET };
	int a, b, c;

	test_init(argc, argv);
	a = open("posix.lck", O_RDWR | O_CREAT, 0644);
	for (int i = 0; i < 100; i++)
		if (open("/dev/null", O_RDONLY) < 0)
			test_fail("spare descriptor: %m");
	b = open("flock.lck", O_RDWR | O_CREAT, 0644);
	c = open("ofd.lck", O_RDWR | O_CREAT, 0644);
	if (a < 0 || b < 0 || c < 0 || ftruncate(a, 100) || fcntl(a, F_SETLK, &rd) ||
	    flock(b, LOCK_SH | LOCK_NB) || fcntl(c, F_OFD_SETLK, &ofd))
		test_fail("locking: %m");

	test_ready();
	test_wait_stop();

	if (!fdinfo_has(a, "POSIX  ADVISORY  READ") || !fdinfo_has(b, "FLOCK  ADVISORY  READ") ||
	    !fdinfo_has(c, "OFDLCK ADVISORY  READ"))
		test_fail("a lock is not held after restore");
	if (other_can_lock("posix.lck", 'p') || other_can_lock("flock.lck", 'f') ||
	    other_can_lock("ofd.lck", 'o'))
		test_fail("another process could take a write lock over ours");
	test_pass();
}
