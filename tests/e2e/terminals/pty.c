// SPDX-License-Identifier: MIT
/*
 * Pty pairs the program created come back as pairs: data flows both
 * ways, the bytes that were waiting in each direction arrive, and the
 * settings hold: raw mode with a custom speed and VMIN, window size, and
 * on a second pair canonical mode with echo off and packet mode on the
 * master. The slave is the new master's (the pts number may differ). A
 * third pair has no slave open yet: its master must not read EIO (as
 * after a slave's hangup), and its slave opens by ptsname() afterwards.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "zdtm.h"

struct pair {
	int m, s;
	struct termios t;
};

static void open_pair(struct pair *p)
{
	p->m = posix_openpt(O_RDWR | O_NOCTTY);
	if (p->m < 0 || grantpt(p->m) || unlockpt(p->m))
		test_fail("posix_openpt: %m");
	p->s = open(ptsname(p->m), O_RDWR | O_NOCTTY);
	if (p->s < 0 || tcgetattr(p->s, &p->t))
		test_fail("%s: %m", ptsname(p->m));
}

static void put(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		test_fail("write: %m");
}

/* Reads exactly len bytes (within 3 s) and compares them. */
static void get(int fd, const char *what, const char *want, size_t len)
{
	char buf[256];
	size_t got = 0;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (got < len) {
		ssize_t n;

		if (poll(&p, 1, 3000) != 1)
			test_fail("%s: %zu of %zu bytes", what, got, len);
		n = read(fd, buf + got, sizeof(buf) - got);
		if (n <= 0)
			test_fail("%s: read: %m", what);
		got += (size_t)n;
	}
	if (got != len || memcmp(buf, want, len))
		test_fail("%s: got '%.*s', wanted '%.*s'", what, (int)got, buf, (int)len, want);
}

static void nothing(int fd, const char *what)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, 200) != 0)
		test_fail("%s: unexpected bytes", what);
}

static void same_termios(const struct pair *p, const char *what)
{
	struct termios now;

	if (tcgetattr(p->s, &now))
		test_fail("%s: tcgetattr: %m", what);
	if (now.c_iflag != p->t.c_iflag || now.c_oflag != p->t.c_oflag ||
	    now.c_cflag != p->t.c_cflag || now.c_lflag != p->t.c_lflag ||
	    memcmp(now.c_cc, p->t.c_cc, sizeof(now.c_cc)))
		test_fail("%s: termios changed (lflag %#x, was %#x)", what, now.c_lflag,
			  p->t.c_lflag);
}

int main(int argc, char **argv)
{
	struct winsize ws = { .ws_row = 33, .ws_col = 111, .ws_xpixel = 7 }, now;
	char link[64], path[64];
	struct pair raw, canon;
	int pkt = 1, lone, lone_s;
	char c;

	test_init(argc, argv);
	open_pair(&raw);
	cfmakeraw(&raw.t);
	cfsetspeed(&raw.t, B9600);
	raw.t.c_cc[VMIN] = 3;
	if (tcsetattr(raw.s, TCSANOW, &raw.t) || tcgetattr(raw.s, &raw.t) ||
	    ioctl(raw.m, TIOCSWINSZ, &ws))
		test_fail("raw pair: %m");
	open_pair(&canon);
	canon.t.c_lflag &= ~(tcflag_t)(ECHO | ECHOE | ECHOK);
	if (tcsetattr(canon.s, TCSANOW, &canon.t) || tcgetattr(canon.s, &canon.t) ||
	    ioctl(canon.m, TIOCPKT, &pkt))
		test_fail("canonical pair: %m");
	lone = posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
	if (lone < 0 || grantpt(lone) || unlockpt(lone))
		test_fail("posix_openpt: %m");
	/* Waiting in every direction but towards a canonical slave (lost). */
	put(raw.m, "for the raw slave");
	put(raw.s, "for the raw master");
	put(canon.s, "line\n");
	usleep(100000);

	test_ready();
	test_wait_stop();

	same_termios(&raw, "raw pair");
	same_termios(&canon, "canonical pair");
	if (ioctl(raw.s, TIOCGWINSZ, &now) || now.ws_row != 33 || now.ws_col != 111 ||
	    now.ws_xpixel != 7)
		test_fail("window size %ux%u, wanted 111x33", now.ws_col, now.ws_row);
	if (ioctl(canon.m, TIOCGPKT, &pkt) || !pkt)
		test_fail("packet mode lost");
	/* The slave belongs to the master it came back with. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", raw.s);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	if (n <= 0 || (link[n] = '\0', strcmp(link, ptsname(raw.m))))
		test_fail("slave %s is not %s", n > 0 ? link : "?", ptsname(raw.m));

	get(raw.s, "raw slave, waiting", "for the raw slave", 17);
	get(raw.m, "raw master, waiting", "for the raw master", 18);
	get(canon.m, "canonical master, waiting", "\0line\r\n", 7);
	put(raw.m, "abc\r");
	get(raw.s, "raw slave", "abc\r", 4);
	put(raw.s, "x\n");
	get(raw.m, "raw master", "x\n", 2);
	put(canon.m, "hello\n");
	get(canon.s, "canonical slave", "hello\n", 6);
	nothing(canon.m, "canonical master (echo is off)");
	if (read(lone, &c, 1) != -1 || errno != EAGAIN)
		test_fail("master without a slave: read gives %m, not EAGAIN");
	lone_s = open(ptsname(lone), O_RDWR | O_NOCTTY);
	if (lone_s < 0)
		test_fail("%s: %m", ptsname(lone));
	put(lone, "hi\n");
	get(lone_s, "slave opened after restore", "hi\n", 3);
	test_pass();
}
