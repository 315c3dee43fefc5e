// SPDX-License-Identifier: MIT
/*
 * Check suite for common/tree_descs.[ch]: nodes found by kind and id in
 * any order given, their holders counted once per process and in the
 * caller's order of processes, a process's node and another's, an image's
 * pipes and ptys gathered, and the record that keeps a pipe's bytes.
 */
#include <check.h>
#include <stdbool.h>
#include <stdlib.h>

#include "image.h"
#include "testutil.h"
#include "tree_descs.h"

static struct tree_desc node(uint8_t kind, uint64_t id, uint32_t owner, int fd)
{
	return (struct tree_desc){
		.kind = kind, .id = id, .owner = owner, .pid = 100 + (int)owner, .fd = fd
	};
}

/* The heap sort orders every size and order it is given, duplicates too. */
START_TEST(test_sorted_and_found)
{
	enum { N = 257 };
	struct tree_desc v[N];
	struct tree_descs t = { v, N };

	srandom(_i + 1);
	for (size_t i = 0; i < N; i++)
		v[i] = node((uint8_t)(random() % 3), 1 + (uint64_t)(random() % 50),
			    (uint32_t)(random() % 4), (int)(random() % 8));
	for (t.n = 0; t.n <= N; t.n += 1 + t.n / 3) {
		tree_descs_index(&t);
		for (size_t i = 1; i < t.n; i++) {
			const struct tree_desc *a = &v[i - 1], *b = &v[i];

			ck_assert(a->kind < b->kind || (a->kind == b->kind && a->id < b->id) ||
				  (a->kind == b->kind && a->id == b->id &&
				   (a->owner < b->owner ||
				    (a->owner == b->owner && a->fd <= b->fd))));
		}
		for (uint8_t kind = 0; kind < 3; kind++)
			for (uint64_t id = 0; id <= 51; id++) {
				size_t count = 99, want = 0;
				struct tree_desc *f = tree_descs_find(&t, kind, id, &count);

				for (size_t i = 0; i < t.n; i++)
					want += v[i].kind == kind && v[i].id == id;
				ck_assert_uint_eq(count, want);
				ck_assert(want ? f && f->kind == kind && f->id == id &&
							  (f == v || f[-1].kind != kind ||
							   f[-1].id < id)
					       : !f);
			}
	}
}
END_TEST

/* Pipe 7: two ends in process 2, one in 0; pty 7 (another kind, the same
 * id) in process 1 alone. */
START_TEST(test_holders)
{
	struct tree_desc v[] = { node(TREE_PIPE_END, 7, 2, 4), node(TREE_PTY_SLAVE, 7, 1, 3),
				 node(TREE_PIPE_END, 7, 2, 3), node(TREE_PIPE_END, 7, 0, 9),
				 node(TREE_PIPE_END, 8, 1, 3) };
	struct tree_descs t = { v, sizeof(v) / sizeof(v[0]) };
	const struct tree_desc *d;
	size_t count;

	tree_descs_index(&t);
	d = tree_descs_find(&t, TREE_PIPE_END, 7, &count);
	ck_assert_uint_eq(count, 3);
	ck_assert_uint_eq(d[0].owner, 0);
	ck_assert_int_eq(d[1].fd, 3);
	ck_assert_int_eq(d[2].fd, 4);
	ck_assert_uint_eq(tree_descs_holders(&t, TREE_PIPE_END, 7), 2);
	ck_assert_uint_eq(tree_descs_holders(&t, TREE_PIPE_END, 8), 1);
	ck_assert_uint_eq(tree_descs_holders(&t, TREE_PTY_SLAVE, 7), 1);
	ck_assert_uint_eq(tree_descs_holders(&t, TREE_PIPE, 7), 0);
	ck_assert_ptr_null(tree_descs_find(&t, TREE_PIPE, 7, NULL));

	ck_assert_int_eq(tree_descs_of(&t, TREE_PIPE_END, 7, 102)->fd, 3);
	ck_assert_ptr_null(tree_descs_of(&t, TREE_PIPE_END, 7, 101));
	ck_assert_int_eq(tree_descs_elsewhere(&t, TREE_PIPE_END, 7, 0)->pid, 102);
	ck_assert_int_eq(tree_descs_elsewhere(&t, TREE_PIPE_END, 7, 2)->pid, 100);
	ck_assert_ptr_null(tree_descs_elsewhere(&t, TREE_PTY_SLAVE, 7, 1));
	ck_assert_int_eq(tree_descs_elsewhere(&t, TREE_PTY_SLAVE, 7, 0)->pid, 101);
}
END_TEST

/* Process 0 (pid 10) holds both ends of pipe 42 and stores its bytes, a
 * pty master and a dup of the master; process 1 (pid 11) holds the read
 * end of 42, whose bytes it says pid 10 stores, and a terminal on the
 * pty's slave; process 2 (pid 12) holds pipe 43 and says pid 11 stores
 * its bytes, which it does not. */
START_TEST(test_image)
{
	Sc__Fd f[7];
	Sc__Fd *p0[] = { &f[0], &f[1], &f[2], &f[3] }, *p1[] = { &f[4], &f[5] }, *p2[] = { &f[6] };
	Sc__Fd **held[] = { p0, p1, p2 };
	static const size_t nheld[] = { 4, 2, 1 };
	Sc__Pipe pipes[3];
	Sc__Pipe *records[] = { &pipes[0], &pipes[1], &pipes[2] };
	Sc__Fds fds[3] = { SC__FDS__INIT, SC__FDS__INIT, SC__FDS__INIT };
	struct sc_proc_img procs[3] = { { .pid = 10, .fds = &fds[0] },
					{ .pid = 11, .fds = &fds[1] },
					{ .pid = 12, .fds = &fds[2] } };
	struct sc_image img = { .procs = procs, .nprocs = 3 };
	static const Sc__FdKind kinds[] = { SC__FD_KIND__PIPE,	     SC__FD_KIND__PIPE,
					    SC__FD_KIND__PTY_MASTER, SC__FD_KIND__PTY_MASTER,
					    SC__FD_KIND__PIPE,	     SC__FD_KIND__TTY,
					    SC__FD_KIND__PIPE };
	const struct tree_desc *d;
	struct tree_descs t;
	size_t count;

	for (int i = 0; i < 7; i++) {
		sc__fd__init(&f[i]);
		f[i].fd = i + 3;
		f[i].kind = kinds[i];
		f[i].has_pipe_id = f[i].kind == SC__FD_KIND__PIPE;
		f[i].pipe_id = f[i].has_pipe_id ? 42 : 0;
		f[i].has_pty_id = !f[i].has_pipe_id;
		f[i].pty_id = f[i].has_pty_id ? 5 : 0;
	}
	f[3].has_dup_of = true;
	f[3].dup_of = 5;
	f[6].pipe_id = 43;
	for (int i = 0; i < 3; i++) {
		sc__pipe__init(&pipes[i]);
		pipes[i].id = 42;
		pipes[i].size = 65536;
		fds[i].fds = held[i];
		fds[i].n_fds = nheld[i];
		fds[i].pipes = &records[i];
		fds[i].n_pipes = 1;
	}
	pipes[1].has_data_pid = true;
	pipes[1].data_pid = 10;
	pipes[2].id = 43;
	pipes[2].has_data_pid = true;
	pipes[2].data_pid = 11;
	ck_assert_int_eq(sc_image_tree_descs(&img, &t), 0);
	/* Four pipe ends, three records, one terminal: no master. */
	ck_assert_uint_eq(t.n, 8);
	d = tree_descs_find(&t, TREE_PIPE_END, 42, &count);
	ck_assert_uint_eq(count, 3);
	ck_assert_ptr_eq(d[0].data, &f[0]);
	ck_assert_int_eq(d[2].pid, 11);
	ck_assert_uint_eq(tree_descs_holders(&t, TREE_PIPE_END, 42), 2);
	ck_assert_uint_eq(tree_descs_holders(&t, TREE_PIPE_END, 43), 1);
	ck_assert_int_eq(tree_descs_find(&t, TREE_PIPE, 42, NULL)->fd, -1);

	d = tree_descs_elsewhere(&t, TREE_PTY_SLAVE, 5, 0);
	ck_assert_ptr_eq(d->data, &f[5]);
	ck_assert_ptr_null(tree_descs_elsewhere(&t, TREE_PTY_SLAVE, 5, 1));

	/* The bytes of 42 are pid 10's record's; 43's keeper has no record
	 * of it, so its own record stands. */
	ck_assert_ptr_eq(tree_descs_pipe_bytes(&t, &pipes[1]), &pipes[0]);
	ck_assert_ptr_eq(tree_descs_pipe_bytes(&t, &pipes[0]), &pipes[0]);
	ck_assert_ptr_eq(tree_descs_pipe_bytes(&t, &pipes[2]), &pipes[2]);
	ck_assert(tree_descs_keeps_pipe(&t, 10, 42));
	ck_assert(!tree_descs_keeps_pipe(&t, 11, 42));
	ck_assert(!tree_descs_keeps_pipe(&t, 11, 43));
	ck_assert(!tree_descs_keeps_pipe(&t, 99, 42));
	/* A record without an end held keeps nothing. */
	fds[0].n_fds = 0;
	free(t.v);
	ck_assert_int_eq(sc_image_tree_descs(&img, &t), 0);
	ck_assert(!tree_descs_keeps_pipe(&t, 10, 42));
	free(t.v);
}
END_TEST

/* A descriptor of the image by pid and number. */
START_TEST(test_image_fd)
{
	Sc__Fd f[3];
	Sc__Fd *p0[] = { &f[0], &f[1] }, *p1[] = { &f[2] };
	Sc__Fds fds[2] = { SC__FDS__INIT, SC__FDS__INIT };
	struct sc_proc_img procs[2] = { { .pid = 10, .fds = &fds[0] },
					{ .pid = 11, .fds = &fds[1] } };
	struct sc_image img = { .procs = procs, .nprocs = 2 };
	static const int numbers[] = { 0, 7, 7 };

	for (int i = 0; i < 3; i++) {
		sc__fd__init(&f[i]);
		f[i].fd = numbers[i];
	}
	fds[0].fds = p0;
	fds[0].n_fds = 2;
	fds[1].fds = p1;
	fds[1].n_fds = 1;
	ck_assert_ptr_eq(sc_image_fd(&img, 10, 0), &f[0]);
	ck_assert_ptr_eq(sc_image_fd(&img, 10, 7), &f[1]);
	ck_assert_ptr_eq(sc_image_fd(&img, 11, 7), &f[2]);
	ck_assert_ptr_null(sc_image_fd(&img, 11, 0));
	ck_assert_ptr_null(sc_image_fd(&img, 12, 7));
}
END_TEST

static Suite *tree_descs_suite(void)
{
	Suite *s = suite_create("tree_descs");
	TCase *tc = tcase_create("tree_descs");

	tcase_add_loop_test(tc, test_sorted_and_found, 0, 4);
	tcase_add_test(tc, test_holders);
	tcase_add_test(tc, test_image);
	tcase_add_test(tc, test_image_fd);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(tree_descs_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
