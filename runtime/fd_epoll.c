// SPDX-License-Identifier: MIT
/* epoll: the interest list (descriptor, events, data) from fdinfo. */
#include <errno.h>
#include <string.h>

#include "fd_dump.h"
#include "procparse.h"

static bool fd_epoll_claims(const struct fd_live *l)
{
	return !strcmp(l->target, "anon_inode:[eventpoll]");
}

static int fd_epoll_dump(struct fd_dump_ctx *ctx, const struct fd_live *l, Sc__Fd *e)
{
	size_t pos = 0, ll, n = 0;
	const char *line;

	e->kind = SC__FD_KIND__EPOLL;
	for (size_t i = 0; i + 4 < l->fdinfo_len; i++)
		n += !memcmp(l->fdinfo + i, "tfd:", 4);
	e->epoll = rt_alloc(sizeof(*e->epoll) * (n ? n : 1));
	if (!e->epoll)
		return -ENOMEM;
	while ((line = pp_next_line(l->fdinfo, l->fdinfo_len, &pos, &ll))) {
		struct pp_epoll_target t;
		Sc__EpollTarget *et;

		if (ll < 4 || memcmp(line, "tfd:", 4))
			continue;
		if (pp_parse_epoll_target(line, ll, &t) || e->n_epoll == n)
			return -EIO;
		et = rt_alloc(sizeof(*et));
		if (!et)
			return -ENOMEM;
		sc__epoll_target__init(et);
		et->tfd = t.tfd;
		et->events = t.events;
		et->data = t.data;
		e->epoll[e->n_epoll++] = et;
	}
	return 0;
}

const struct fd_dump_half fd_epoll_dump_half = {
	.claims = fd_epoll_claims,
	.dump = fd_epoll_dump,
};
