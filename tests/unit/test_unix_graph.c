// SPDX-License-Identifier: MIT
/*
 * Check suite for common/unix_graph.[ch]: sockets found by inode in any
 * order given, the listener each waiting client is linked to, socketpairs
 * told from named connections, the links a tree must keep whole, what
 * a record alone tells, and an image's sockets gathered into a graph.
 */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "image.h"
#include "testutil.h"
#include "unix_graph.h"

static struct unix_node node(uint64_t ino, uint64_t peer, uint32_t owner)
{
	return (struct unix_node){ .ino = ino, .peer = peer, .owner = owner, .type = SOCK_STREAM };
}

/* The heap sort orders every size and order it is given, duplicates too. */
START_TEST(test_sorted_and_found)
{
	enum { N = 257 };
	struct unix_node v[N];
	struct unix_graph g = { v, N };

	srandom(_i + 1);
	for (size_t i = 0; i < N; i++)
		v[i] = node(1 + (uint64_t)(random() % 100), 0, (uint32_t)(random() % 4));
	for (g.n = 0; g.n <= N; g.n += 1 + g.n / 3) {
		unix_graph_index(&g);
		for (size_t i = 1; i < g.n; i++)
			ck_assert(v[i - 1].ino < v[i].ino ||
				  (v[i - 1].ino == v[i].ino && v[i - 1].owner <= v[i].owner));
		for (uint64_t ino = 0; ino <= 101; ino++) {
			size_t count = 99, want = 0;
			struct unix_node *f = unix_graph_find(&g, ino, &count);

			for (size_t i = 0; i < g.n; i++)
				want += v[i].ino == ino;
			ck_assert_uint_eq(count, want);
			ck_assert(want ? f && f->ino == ino && (f == v || f[-1].ino < ino) : !f);
		}
	}
}
END_TEST

START_TEST(test_repeated)
{
	struct unix_node v[] = { node(7, 0, 1), node(5, 0, 0), node(7, 0, 0), node(9, 0, 0) };
	struct unix_graph g = { v, 4 };

	unix_graph_index(&g);
	ck_assert_ptr_null(unix_graph_repeated(&g));
	ck_assert_ptr_null(unix_graph_find(&g, 6, NULL));
	ck_assert_uint_eq(unix_graph_find(&g, 7, NULL)->owner, 0);
	v[3] = node(9, 0, 0);
	v[1] = node(9, 0, 0);
	unix_graph_index(&g);
	ck_assert_uint_eq(unix_graph_repeated(&g)->ino, 9);
}
END_TEST

/* Listener 10 holds 11 and 12 waiting (and a client closed since, 0);
 * 13-14 a socketpair, 15-16 a connection one of whose ends is named, 17
 * connected to 18, which is connected elsewhere. */
START_TEST(test_links)
{
	static const uint64_t queue[] = { 11, 0, 12 };
	struct unix_node v[] = { node(12, 0, 0),  node(14, 13, 0), node(13, 14, 0),
				 node(10, 0, 0),  node(11, 0, 1),  node(15, 16, 0),
				 node(16, 15, 1), node(17, 18, 0), node(18, 19, 0) };
	struct unix_graph g = { v, sizeof(v) / sizeof(v[0]) };
	uint64_t out[8];

	v[3].listening = true;
	v[3].queue = queue;
	v[3].nqueue = 3;
	v[6].named = true;
	v[0].listener = 99; /* forgotten by the index */
	unix_graph_index(&g);
	ck_assert_uint_eq(unix_graph_find(&g, 11, NULL)->listener, 10);
	ck_assert_uint_eq(unix_graph_find(&g, 12, NULL)->listener, 10);
	ck_assert_uint_eq(unix_graph_find(&g, 13, NULL)->listener, 0);

	ck_assert_uint_eq(unix_graph_pair_peer(&g, 13), 14);
	ck_assert_uint_eq(unix_graph_pair_peer(&g, 14), 13);
	ck_assert_uint_eq(unix_graph_pair_peer(&g, 15), 0);
	ck_assert_uint_eq(unix_graph_pair_peer(&g, 16), 0);
	ck_assert_uint_eq(unix_graph_pair_peer(&g, 17), 0);
	ck_assert_uint_eq(unix_graph_pair_peer(&g, 10), 0);
	ck_assert_uint_eq(unix_graph_pair_peer(&g, 42), 0);

	ck_assert_uint_eq(unix_graph_links(&g, 10, out, 8), 3);
	ck_assert_uint_eq(out[0], 11);
	ck_assert_uint_eq(out[1], 0);
	ck_assert_uint_eq(out[2], 12);
	ck_assert_uint_eq(unix_graph_links(&g, 10, out, 2), 2);
	ck_assert_uint_eq(unix_graph_links(&g, 11, out, 8), 1);
	ck_assert_uint_eq(out[0], 10);
	ck_assert_uint_eq(unix_graph_links(&g, 15, out, 8), 1);
	ck_assert_uint_eq(out[0], 16);
	ck_assert_uint_eq(unix_graph_links(&g, 42, out, 8), 0);
	/* Datagram sockets are joined to nothing a tree must keep. */
	unix_graph_find(&g, 15, NULL)->type = SOCK_DGRAM;
	ck_assert_uint_eq(unix_graph_links(&g, 15, out, 8), 0);
}
END_TEST

static ProtobufCBinaryData name(const char *s)
{
	return (ProtobufCBinaryData){ strlen(s), (uint8_t *)s };
}

START_TEST(test_records)
{
	Sc__Fd l = SC__FD__INIT, c = SC__FD__INIT;
	Sc__UnixSocket lu = SC__UNIX_SOCKET__INIT, cu = SC__UNIX_SOCKET__INIT;
	uint64_t pending[] = { 31 };
	ProtobufCBinaryData n = name("/tmp/sock"), other = name("/tmp/other");
	struct unix_node nd;

	l.unix_sock = &lu;
	c.unix_sock = &cu;
	l.sock_type = c.sock_type = SOCK_STREAM;
	l.sock_ino = 30;
	c.sock_ino = 31;
	c.peer_ino = 0;
	lu.state = SC__UNIX_SOCKET__STATE__LISTEN;
	lu.has_name = true;
	lu.name = n;
	lu.pending = pending;
	lu.n_pending = 1;
	cu.state = SC__UNIX_SOCKET__STATE__CONNECTED;
	cu.has_peer_name = true;
	cu.peer_name = n;

	unix_node_of_fd(&nd, &l, 3);
	ck_assert_uint_eq(nd.ino, 30);
	ck_assert_uint_eq(nd.owner, 3);
	ck_assert_ptr_eq(nd.data, &l);
	ck_assert_ptr_eq(nd.queue, pending);
	ck_assert_uint_eq(nd.nqueue, 1);
	ck_assert(nd.listening && nd.named && nd.type == SOCK_STREAM);

	ck_assert(unix_fd_listens_on(&l, SOCK_STREAM, &n));
	ck_assert(!unix_fd_listens_on(&l, SOCK_SEQPACKET, &n));
	ck_assert(!unix_fd_listens_on(&l, SOCK_STREAM, &other));
	ck_assert(!unix_fd_listens_on(&c, SOCK_STREAM, &n));

	ck_assert(unix_fd_queueable(&l, &c));
	cu.accepted = true;
	ck_assert(!unix_fd_queueable(&l, &c));
	cu.accepted = false;
	c.sock_type = SOCK_SEQPACKET;
	ck_assert(!unix_fd_queueable(&l, &c));
	c.sock_type = SOCK_STREAM;

	ck_assert(!unix_fd_is_pair(&c));
	ck_assert(!unix_fd_is_pair(&l));
	cu.has_peer_name = false;
	ck_assert(unix_fd_is_pair(&c));
	cu.has_name = true;
	ck_assert(!unix_fd_is_pair(&c));
}
END_TEST

static bool stream_only(const Sc__Fd *f)
{
	return f->sock_type == SOCK_STREAM;
}

/* Two processes: the second holds socket 5 too, a dup of it, a pipe and a
 * datagram socket. */
START_TEST(test_image_graph)
{
	Sc__Fd f[6];
	Sc__Fd *p0[] = { &f[0], &f[1] }, *p1[] = { &f[2], &f[3], &f[4], &f[5] };
	Sc__UnixSocket u = SC__UNIX_SOCKET__INIT;
	Sc__Fds fds[2] = { SC__FDS__INIT, SC__FDS__INIT };
	struct sc_proc_img procs[2] = { { .fds = &fds[0] }, { .fds = &fds[1] } };
	struct sc_image img = { .procs = procs, .nprocs = 2 };
	static const uint64_t inos[] = { 5, 9, 5, 5, 0, 7 };
	struct unix_graph g;
	struct unix_node *n;
	size_t count;

	for (int i = 0; i < 6; i++) {
		sc__fd__init(&f[i]);
		f[i].fd = i + 3;
		f[i].kind = SC__FD_KIND__UNIX;
		f[i].sock_type = SOCK_STREAM;
		f[i].sock_ino = inos[i];
		f[i].unix_sock = &u;
	}
	f[3].has_dup_of = true;
	f[4].kind = SC__FD_KIND__PIPE;
	f[4].unix_sock = NULL;
	f[5].sock_type = SOCK_DGRAM;
	fds[0].fds = p0;
	fds[0].n_fds = 2;
	fds[1].fds = p1;
	fds[1].n_fds = 4;

	ck_assert_int_eq(sc_image_unix_graph(&img, NULL, &g), 0);
	ck_assert_uint_eq(g.n, 4);
	n = unix_graph_find(&g, 5, &count);
	ck_assert_uint_eq(count, 2);
	ck_assert_uint_eq(n[0].owner, 0);
	ck_assert_ptr_eq(n[0].data, &f[0]);
	ck_assert_uint_eq(n[1].owner, 1);
	ck_assert_ptr_eq(n[1].data, &f[2]);
	ck_assert_ptr_nonnull(unix_graph_find(&g, 7, NULL));
	free(g.v);

	ck_assert_int_eq(sc_image_unix_graph(&img, stream_only, &g), 0);
	ck_assert_uint_eq(g.n, 3);
	ck_assert_ptr_null(unix_graph_find(&g, 7, NULL));
	free(g.v);
}
END_TEST

static Suite *unix_graph_suite(void)
{
	Suite *s = suite_create("unix_graph");
	TCase *tc = tcase_create("unix_graph");

	tcase_add_loop_test(tc, test_sorted_and_found, 0, 4);
	tcase_add_test(tc, test_repeated);
	tcase_add_test(tc, test_links);
	tcase_add_test(tc, test_records);
	tcase_add_test(tc, test_image_graph);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(unix_graph_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
