// SPDX-License-Identifier: MIT
/* The child's side of the status pipe (status.h). */
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "image.h"
#include "status.h"

void status_message(int fd, const char *msg)
{
	char buf[SC_ERR_LEN + 2];
	int n = snprintf(buf, sizeof(buf), "M%s", msg);

	if (write(fd, buf, (size_t)n) < 0)
		return;
}

void status_notice(int fd, const char *fmt, ...)
{
	char buf[SC_ERR_LEN];
	va_list ap;
	int n;

	buf[0] = 'N';
	va_start(ap, fmt);
	n = vsnprintf(buf + 1, sizeof(buf) - 2, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 3)
		n = (int)sizeof(buf) - 3;
	buf[n + 1] = '\n';
	if (write(fd, buf, (size_t)n + 2) < 0)
		return;
}
