// SPDX-License-Identifier: MIT
/* sc_err (err.h), in a file of its own: everything below the image reader
 * uses it, the descriptor kinds' checks included, which the reader calls. */
#include <stdarg.h>
#include <stdio.h>

#include "err.h"

int sc_err(char *err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, SC_ERR_LEN, fmt, ap);
	va_end(ap);
	return -1;
}
