// SPDX-License-Identifier: MIT
/*
 * Standalone driver for the fuzz target in fuzz_image.c, for toolchains
 * without libFuzzer: `make check` always runs a bounded pass with it.
 *
 *   fuzz_main [-n ITERATIONS] [-s SEED] [-t SECONDS] [-o CRASH_DIR]
 *             [-w SEED_DIR] [FILE|DIR]...
 *
 * It builds valid records of every type in memory (the seeds), runs the
 * target over them and over every FILE (or every file in DIR, e.g. a
 * libFuzzer corpus or crash artifact), then over ITERATIONS pseudo-random
 * mutations of those inputs. -w writes the seeds to SEED_DIR and exits (the
 * libFuzzer run uses them as its starting corpus). On a crash the input is
 * written to CRASH_DIR/crash-<seed>-<iteration> before the signal kills the
 * process, so it can be replayed with `fuzz_main FILE` or the libFuzzer
 * binary.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define XXH_INLINE_ALL
#include <xxhash.h>
#include <zstd.h>

#include "fuzz_image.h"
#include "image.h"

#define FUZZ_MAX_INPUT (1u << 20)

struct input {
	char name[64];
	uint8_t *data;
	size_t len;
};

static struct input *inputs;
static size_t n_inputs, cap_inputs;

static void add_input(const char *name, const void *data, size_t len)
{
	struct input *in;

	if (n_inputs == cap_inputs) {
		cap_inputs = cap_inputs ? 2 * cap_inputs : 64;
		inputs = realloc(inputs, cap_inputs * sizeof(*inputs));
		if (!inputs) {
			perror("realloc");
			exit(2);
		}
	}
	in = &inputs[n_inputs++];
	snprintf(in->name, sizeof(in->name), "%s", name);
	in->data = malloc(len ? len : 1);
	if (!in->data) {
		perror("malloc");
		exit(2);
	}
	if (len)
		memcpy(in->data, data, len);
	in->len = len;
}

/* ---- seeds: one valid record of every type ---------------------------- */

static uint8_t *packed(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(*len + 1);

	if (!buf)
		exit(2);
	protobuf_c_message_pack(m, buf);
	return buf;
}

/* Adds the payload alone (what the target wraps itself) and the whole
 * record file. */
static void add_record(const char *name, const void *msg, uint32_t type)
{
	struct sc_img_header h;
	char n[64];
	size_t len;
	uint8_t *p = packed(msg, &len), *file = malloc(sizeof(h) + len + 1);

	if (!file)
		exit(2);
	h.magic = SC_IMG_MAGIC;
	h.type = type;
	h.version = SC_IMAGE_VERSION;
	h.len = (uint32_t)len;
	h.xxh3 = XXH3_64bits(p, len);
	memcpy(file, &h, sizeof(h));
	memcpy(file + sizeof(h), p, len);
	snprintf(n, sizeof(n), "%s.payload", name);
	add_input(n, p, len);
	snprintf(n, sizeof(n), "%s.img", name);
	add_input(n, file, sizeof(h) + len);
	free(p);
	free(file);
}

/* Unix sockets: a listener with a client in its queue, an accepted
 * connection with data waiting, a datagram socket connected by name. */
static void add_unix_seed(void)
{
	static uint8_t name[] = "srv.sock", dname[] = "\0log", data[] = "queued";
	static uint64_t pending[1] = { 11 };
	static ProtobufCBinaryData queue[1] = { { 6, data } }, senders[1] = { { 4, dname } };
	Sc__UnixSocket u[5];
	Sc__Fd fd[5], *fdp[5];
	Sc__Fds fds;

	for (int i = 0; i < 5; i++) {
		sc__fd__init(&fd[i]);
		sc__unix_socket__init(&u[i]);
		fdp[i] = &fd[i];
		fd[i].fd = 3 + i;
		fd[i].kind = SC__FD_KIND__UNIX;
		fd[i].has_sock_type = fd[i].has_sock_ino = fd[i].has_peer_ino = 1;
		fd[i].sock_type = 1; /* SOCK_STREAM */
		fd[i].sock_ino = 10 + (uint64_t)i;
		fd[i].unix_sock = &u[i];
		u[i].state = SC__UNIX_SOCKET__STATE__CONNECTED;
	}
	u[0].state = SC__UNIX_SOCKET__STATE__LISTEN;
	u[0].has_name = u[0].has_backlog = 1;
	u[0].name = (ProtobufCBinaryData){ sizeof(name) - 1, name };
	u[0].backlog = 5;
	u[0].pending = pending;
	u[0].n_pending = 1;
	for (int i = 1; i < 3; i++) {
		u[i].has_peer_name = 1;
		u[i].peer_name = u[0].name;
	}
	fd[2].peer_ino = 13;
	fd[3].peer_ino = 12;
	u[3].has_name = u[3].has_accepted = u[3].accepted = 1;
	u[3].name = u[0].name;
	fd[3].queue = queue;
	fd[3].n_queue = 1;
	fd[4].sock_type = 2; /* SOCK_DGRAM */
	u[4].has_peer_name = 1;
	u[4].peer_name = (ProtobufCBinaryData){ sizeof(dname) - 1, dname };
	fd[4].queue = queue;
	fd[4].n_queue = 1;
	u[4].senders = senders;
	u[4].n_senders = 1;
	sc__fds__init(&fds);
	fds.fds = fdp;
	fds.n_fds = 5;
	add_record("fds.unix", &fds, SC_IMG_FDS);
}

/* An mm and a pagemap for the target's third use: 2-byte mm length, mm
 * payload, pagemap payload. */
static void add_split(const char *name, const Sc__Mm *mm, const Sc__Pagemap *pm)
{
	size_t ml, pl;
	uint8_t *mp = packed(&mm->base, &ml), *pp = packed(&pm->base, &pl);
	uint8_t *both = malloc(2 + ml + pl);

	if (!both)
		exit(2);
	both[0] = (uint8_t)ml;
	both[1] = (uint8_t)(ml >> 8);
	memcpy(both + 2, mp, ml);
	memcpy(both + 2 + ml, pp, pl);
	add_input(name, both, 2 + ml + pl);
	free(both);
	free(mp);
	free(pp);
}

/* Five pages compressed as a writer does (doc/compression.md): frames of
 * three pages and two, with their content sizes and checksums, for the
 * target's fourth use; and pm (five pages' runs) with those frames. */
static void add_zstd(const Sc__Mm *mm, Sc__Pagemap *pm)
{
	static uint32_t fpages[2] = { 3, 2 }, fbytes[2];
	static uint8_t data[5 * SC_PAGE_SIZE];
	size_t cap = ZSTD_compressBound(sizeof(data)), len = 0;
	uint8_t *out = malloc(cap);
	ZSTD_CCtx *c = ZSTD_createCCtx();

	if (!out || !c || ZSTD_isError(ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 1)))
		exit(2);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = i < 3 * SC_PAGE_SIZE ? (uint8_t)(i * 7) : i % 64 ? 0 : 'p';
	for (size_t i = 0, done = 0; i < 2; i++) {
		size_t n = ZSTD_compress2(c, out + len, cap - len, data + done,
					  fpages[i] * SC_PAGE_SIZE);

		if (ZSTD_isError(n))
			exit(2);
		fbytes[i] = (uint32_t)n;
		done += fpages[i] * SC_PAGE_SIZE;
		len += n;
	}
	add_input("pages.zst", out, len);
	pm->has_codec = pm->has_level = 1;
	pm->codec = SC__PAGES_CODEC__PAGES_ZSTD;
	pm->level = 3;
	pm->frame_pages = fpages;
	pm->frame_bytes = fbytes;
	pm->n_frame_pages = pm->n_frame_bytes = 2;
	add_record("pagemap.zstd", pm, SC_IMG_PAGEMAP);
	add_split("mm+pagemap.zstd.split", mm, pm);
	ZSTD_freeCCtx(c);
	free(out);
}

static void build_seeds(void)
{
	static uint8_t xsave[2][832];
	Sc__GpRegs regs[2];
	Sc__ThreadCore th[2], *thp[2];
	Sc__Rlimit rl, *rlp[1] = {&rl};
	Sc__ProcCore core;
	Sc__SigAction act, *actp[1] = {&act};
	Sc__SigActs acts;
	Sc__Vma v[4], *vp[4];
	uint64_t auxv[4] = {6, 4096, 0, 0};
	/* The runtime's tracker over the heap and the stack's last pages. */
	uint64_t tracked[4] = {0x600000, 0x604000, SC_TASK_SIZE - 0x2000, SC_TASK_SIZE};
	Sc__Tracker tracker;
	Sc__Mm mm;
	Sc__PagemapEntry pe[3], *pep[3];
	Sc__Pagemap pm;
	Sc__Fd fd[3], *fdp[3];
	Sc__Fds fds;
	Sc__ProcEntry proc[2], *procp[2];
	Sc__FileSum fs[2], *fsp[2];
	Sc__Inventory inv;
	Sc__Cpu cpu;

	for (int i = 0; i < 2; i++) {
		struct sc_fpx_sw_bytes sw = {0};
		uint64_t bv = 7;

		sc__gp_regs__init(&regs[i]);
		regs[i].rip = 0x401000;
		regs[i].rsp = 0x7fffffffe000ULL;
		regs[i].eflags = 0x246;
		sw.magic1 = SC_FP_XSTATE_MAGIC1;
		sw.xstate_size = sizeof(xsave[i]);
		sw.extended_size = sizeof(xsave[i]) + SC_FP_XSTATE_MAGIC2_SIZE;
		sw.xfeatures = 7;
		memcpy(xsave[i] + SC_FPX_SW_OFFSET, &sw, sizeof(sw));
		memcpy(xsave[i] + 512, &bv, sizeof(bv));
		sc__thread_core__init(&th[i]);
		th[i].tid = 100 + i;
		th[i].regs = &regs[i];
		th[i].xsave.data = xsave[i];
		th[i].xsave.len = sizeof(xsave[i]);
		th[i].xfeatures = 7;
		th[i].rseq_ptr = 0x7ffff7d80e00ULL;
		th[i].rseq_len = 32;
		th[i].name = i ? "worker" : "main";
		thp[i] = &th[i];
	}
	sc__rlimit__init(&rl);
	rl.resource = 7;
	rl.cur = 1024;
	rl.max = 4096;
	sc__proc_core__init(&core);
	core.pid = 100;
	core.threads = thp;
	core.n_threads = 2;
	core.rlimits = rlp;
	core.n_rlimits = 1;
	core.cwd = "/tmp";
	core.umask = 022;
	add_record("core", &core, SC_IMG_CORE);

	sc__sig_action__init(&act);
	act.sig = 10;
	act.handler = 0x401200;
	sc__sig_acts__init(&acts);
	acts.acts = actp;
	acts.n_acts = 1;
	add_record("sigacts", &acts, SC_IMG_SIGACTS);

	for (int i = 0; i < 4; i++) {
		sc__vma__init(&v[i]);
		v[i].prot = PROT_READ | PROT_WRITE;
		v[i].flags = MAP_PRIVATE;
		v[i].kind = SC__VMA_KIND__ANON_PRIVATE;
		vp[i] = &v[i];
	}
	v[0].start = 0x400000;
	v[0].end = 0x402000;
	v[0].kind = SC__VMA_KIND__FILE_PRIVATE;
	v[0].path = "/usr/bin/prog";
	v[0].has_pgoff = 1;
	v[1].start = 0x600000;
	v[1].end = 0x604000;
	v[1].name = "[heap]";
	v[2].start = 0x7ffff7fc4000ULL;
	v[2].end = 0x7ffff7fc6000ULL;
	v[2].kind = SC__VMA_KIND__VDSO;
	v[3].start = 0x7ffffffde000ULL;
	v[3].end = SC_TASK_SIZE;
	v[3].flags = MAP_PRIVATE | MAP_GROWSDOWN;
	sc__mm__init(&mm);
	mm.vmas = vp;
	mm.n_vmas = 4;
	mm.start_brk = 0x600000;
	mm.brk = 0x604000;
	mm.auxv = auxv;
	mm.n_auxv = 4;
	mm.exe = "/usr/bin/prog";
	sc__tracker__init(&tracker);
	tracker.fd = 512;
	tracker.ranges = tracked;
	tracker.n_ranges = 4;
	tracker.capture = 0x5eed;
	mm.tracker = &tracker;
	add_record("mm", &mm, SC_IMG_MM);

	for (int i = 0; i < 3; i++) {
		sc__pagemap_entry__init(&pe[i]);
		pep[i] = &pe[i];
	}
	pe[0].vaddr = 0x401000;
	pe[0].nr_pages = 1;
	pe[1].vaddr = 0x600000;
	pe[1].nr_pages = 2;
	pe[2].vaddr = SC_TASK_SIZE - 2 * SC_PAGE_SIZE;
	pe[2].nr_pages = 2;
	sc__pagemap__init(&pm);
	pm.entries = pep;
	pm.n_entries = 3;
	pm.pages_bytes = 5 * SC_PAGE_SIZE;
	add_record("pagemap", &pm, SC_IMG_PAGEMAP);

	add_split("mm+pagemap.split", &mm, &pm);
	/* An incremental image's: the heap's pages in the parent. */
	pe[1].has_in_parent = 1;
	pe[1].in_parent = 1;
	pm.pages_bytes = 3 * SC_PAGE_SIZE;
	add_record("pagemap.incremental", &pm, SC_IMG_PAGEMAP);
	add_split("mm+pagemap.incremental.split", &mm, &pm);
	/* A full image's again, its pages file compressed. */
	pe[1].has_in_parent = pe[1].in_parent = 0;
	pm.pages_bytes = 5 * SC_PAGE_SIZE;
	add_zstd(&mm, &pm);

	for (int i = 0; i < 3; i++) {
		sc__fd__init(&fd[i]);
		fdp[i] = &fd[i];
	}
	fd[0].fd = 0;
	fd[0].kind = SC__FD_KIND__INHERIT;
	fd[1].fd = 3;
	fd[1].kind = SC__FD_KIND__REG;
	fd[1].flags = 02;
	fd[1].path = "/tmp/data";
	fd[1].has_pos = 1;
	fd[1].pos = 12;
	fd[2].fd = 4;
	fd[2].kind = SC__FD_KIND__CHR;
	fd[2].path = "/dev/null";
	sc__fds__init(&fds);
	fds.fds = fdp;
	fds.n_fds = 3;
	add_record("fds", &fds, SC_IMG_FDS);
	{
		/* A listening socket and an established TCP connection. */
		static struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = 0x5000 },
					  b = { .sin_family = AF_INET, .sin_port = 0x6000 };
		static uint8_t sendq[300], recvq[100];
		static Sc__InetSocket in[2];
		static Sc__TcpConnection t;
		static Sc__Fd ifd[2];
		static Sc__Fd *ifdp[2];
		static Sc__Fds ifds;

		for (int i = 0; i < 2; i++) {
			sc__fd__init(&ifd[i]);
			sc__inet_socket__init(&in[i]);
			ifd[i].fd = 5 + i;
			ifd[i].kind = SC__FD_KIND__INET;
			ifd[i].inet = &in[i];
			in[i].family = AF_INET;
			in[i].type = SOCK_STREAM;
			in[i].has_local = true;
			in[i].local = (ProtobufCBinaryData){ sizeof(a), (uint8_t *)&a };
			ifdp[i] = &ifd[i];
		}
		in[0].has_backlog = true;
		in[0].backlog = 128;
		sc__tcp_connection__init(&t);
		t.send_seq = 1000;
		t.recv_seq = 2000;
		t.has_send_queue = t.has_recv_queue = true;
		t.send_queue = (ProtobufCBinaryData){ sizeof(sendq), sendq };
		t.recv_queue = (ProtobufCBinaryData){ sizeof(recvq), recvq };
		t.mss = 1460;
		t.has_snd_wscale = t.has_rcv_wscale = true;
		t.snd_wscale = t.rcv_wscale = 7;
		t.sack = t.timestamps = true;
		in[1].has_peer = true;
		in[1].peer = (ProtobufCBinaryData){ sizeof(b), (uint8_t *)&b };
		in[1].tcp = &t;
		sc__fds__init(&ifds);
		ifds.fds = ifdp;
		ifds.n_fds = 2;
		add_record("fds.inet", &ifds, SC_IMG_FDS);
	}
	add_unix_seed();

	for (int i = 0; i < 2; i++) {
		sc__proc_entry__init(&proc[i]);
		proc[i].pid = 100 + 50 * i;
		proc[i].ppid = i ? 100 : 1;
		proc[i].pgid = 100;
		proc[i].sid = 100;
		procp[i] = &proc[i];
		sc__file_sum__init(&fs[i]);
		fs[i].name = i ? "mm-100.img" : "core-100.img";
		fs[i].size = 4096;
		fs[i].xxh3 = 0x0123456789abcdefULL;
		fsp[i] = &fs[i];
	}
	sc__inventory__init(&inv);
	inv.version = SC_IMAGE_VERSION;
	inv.writer = SC_WRITER_RUNTIME;
	inv.writer_version = "0.1.0";
	inv.time_ns = 1700000000000000000ULL;
	inv.procs = procp;
	inv.n_procs = 2;
	inv.files = fsp;
	inv.n_files = 2;
	/* A Skylake-SP's (doc/cpu-check.md). */
	sc__cpu__init(&cpu);
	cpu.vendor = "GenuineIntel";
	cpu.family = 6;
	cpu.model = 85;
	cpu.stepping = 4;
	cpu.name = "Intel(R) Xeon(R) Gold 6130 CPU @ 2.10GHz";
	cpu.leaf1_ecx = 0x7ffefbff;
	cpu.leaf1_edx = 0xbfebfbff;
	cpu.leaf7_ebx = 0xd19ffffb;
	cpu.leaf7_ecx = 0xc;
	cpu.leafd_1_eax = 0xf;
	cpu.ext1_ecx = 0x121;
	cpu.ext1_edx = 0x2c100800;
	cpu.xcr0 = 0x2e7;
	inv.cpu = &cpu;
	add_record("inventory", &inv, SC_IMG_INVENTORY);
	inv.parent = "../ckpt-1";
	inv.has_parent_inventory_xxh3 = 1;
	inv.parent_inventory_xxh3 = 0xfedcba9876543210ULL;
	add_record("inventory.incremental", &inv, SC_IMG_INVENTORY);
}

static int write_seeds(const char *dir)
{
	if (mkdir(dir, 0755) && errno != EEXIST) {
		fprintf(stderr, "fuzz_main: %s: %s\n", dir, strerror(errno));
		return 2;
	}
	for (size_t i = 0; i < n_inputs; i++) {
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/%s", dir, inputs[i].name);
		f = fopen(path, "wb");
		if (!f || fwrite(inputs[i].data, 1, inputs[i].len, f) != inputs[i].len ||
		    fclose(f)) {
			fprintf(stderr, "fuzz_main: %s: %s\n", path, strerror(errno));
			return 2;
		}
	}
	printf("fuzz_main: wrote %zu seed inputs to %s\n", n_inputs, dir);
	return 0;
}

/* ---- corpus files ------------------------------------------------------ */

static int load_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(FUZZ_MAX_INPUT);
	size_t len;
	const char *base = strrchr(path, '/');

	if (!f || !buf) {
		fprintf(stderr, "fuzz_main: %s: %s\n", path, strerror(errno));
		free(buf);
		if (f)
			fclose(f);
		return -1;
	}
	len = fread(buf, 1, FUZZ_MAX_INPUT, f);
	fclose(f);
	add_input(base ? base + 1 : path, buf, len);
	free(buf);
	return 0;
}

static int load_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;

	if (stat(path, &st)) {
		fprintf(stderr, "fuzz_main: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode))
		return load_file(path);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		char p[4096];
		struct stat es;

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		if (!stat(p, &es) && S_ISREG(es.st_mode) && load_file(p)) {
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	return 0;
}

/* ---- mutations --------------------------------------------------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static size_t below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static uint64_t rnd_cb(void *ctx)
{
	return rnd();
}

/* Values that sit on the edges the checks care about. */
static const uint64_t interesting[] = {
	0,
	1,
	0x7f,
	0x80,
	0xff,
	0x1000,
	0xfff,
	0x7fffffff,
	0x80000000,
	0xffffffff,
	1ULL << 22,
	(1ULL << 22) + 1,
	SC_XSAVE_MAX,
	SC_XSAVE_MAX + 1,
	SC_TASK_SIZE,
	SC_TASK_SIZE - 0x1000,
	SC_TASK_SIZE / 0x1000,
	SC_TASK_SIZE / 0x1000 + 1,
	1ULL << 52,
	0x7fffffffffffffffULL,
	0x8000000000000000ULL,
	0xfffffffffffff000ULL,
	UINT64_MAX,
};

static size_t put_varint(uint8_t *out, uint64_t v)
{
	size_t n = 0;

	do {
		out[n] = (uint8_t)(v & 0x7f);
		v >>= 7;
		if (v)
			out[n] |= 0x80;
		n++;
	} while (v);
	return n;
}

/* Fixes up header length and checksum if buf looks like a record file, so
 * a mutated file gets past them. */
static void fix_header(uint8_t *buf, size_t len)
{
	struct sc_img_header h;

	if (len < sizeof(h))
		return;
	memcpy(&h, buf, sizeof(h));
	if (h.magic != SC_IMG_MAGIC)
		return;
	h.len = (uint32_t)(len - sizeof(h));
	h.xxh3 = XXH3_64bits(buf + sizeof(h), len - sizeof(h));
	memcpy(buf, &h, sizeof(h));
}

/* One mutation of buf (capacity cap) in place; returns the new length. */
static size_t mutate_once(uint8_t *buf, size_t len, size_t cap)
{
	switch (below(11)) {
	case 0: /* flip a bit */
		if (len)
			buf[below(len)] ^= (uint8_t)(1u << below(8));
		break;
	case 1: /* random byte */
		if (len)
			buf[below(len)] = (uint8_t)rnd();
		break;
	case 2: /* insert bytes */
		if (len < cap) {
			size_t at = below(len + 1), n = 1 + below(8);

			if (n > cap - len)
				n = cap - len;
			memmove(buf + at + n, buf + at, len - at);
			for (size_t i = 0; i < n; i++)
				buf[at + i] = (uint8_t)rnd();
			len += n;
		}
		break;
	case 3: /* delete bytes */
		if (len) {
			size_t at = below(len), n = 1 + below(16);

			if (n > len - at)
				n = len - at;
			memmove(buf + at, buf + at + n, len - at - n);
			len -= n;
		}
		break;
	case 4: /* truncate */
		len = below(len + 1);
		break;
	case 5: /* duplicate a chunk */
		if (len && len < cap) {
			size_t from = below(len), n = 1 + below(len - from), at = below(len + 1);
			size_t tail = at <= len ? len - at : 0;

			if (n > cap - len)
				n = cap - len;
			memmove(buf + at + n, buf + at, tail);
			memmove(buf + at, buf + (from < at ? from : from + n), n);
			len += n;
		}
		break;
	case 6: /* an interesting value as a varint, replacing a byte */
		if (len + 10 <= cap) {
			uint8_t v[10];
			size_t at = below(len + 1), n;
			uint64_t x = interesting[below(sizeof(interesting) / sizeof(interesting[0]))];

			n = put_varint(v, x + (uint64_t)below(3) - 1);
			if (at < len) {
				memmove(buf + at + n, buf + at + 1, len - at - 1);
				len += n - 1;
			} else {
				len += n;
			}
			memcpy(buf + at, v, n);
		}
		break;
	case 7: /* an interesting value as raw little-endian bytes */
		if (len >= 8) {
			uint64_t x = interesting[below(sizeof(interesting) / sizeof(interesting[0]))];
			size_t w = (size_t)1 << below(4);

			if (w <= len)
				memcpy(buf + below(len - w + 1), &x, w);
		}
		break;
	case 8: /* splice with another input */
		if (n_inputs) {
			const struct input *o = &inputs[below(n_inputs)];
			size_t at = below(len + 1), from = below(o->len + 1),
			       n = below(o->len - from + 1);

			if (at + n > cap)
				n = cap - at;
			memcpy(buf + at, o->data + from, n);
			if (at + n > len)
				len = at + n;
		}
		break;
	case 9: /* a repeated byte run */
		if (len) {
			size_t at = below(len), n = 1 + below(32);

			if (n > len - at)
				n = len - at;
			memset(buf + at, (int)(rnd() & 1 ? 0xff : 0), n);
		}
		break;
	default: /* make a record file consistent again */
		fix_header(buf, len);
		break;
	}
	return len;
}

/* ---- crash capture ----------------------------------------------------- */

static const uint8_t *cur_data;
static size_t cur_len;
static char crash_path[4096];

static void on_crash(int sig)
{
	static const char msg[] = "fuzz_main: crashed, input saved to ";
	int fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd >= 0) {
		if (cur_data)
			(void)!write(fd, cur_data, cur_len);
		close(fd);
		(void)!write(2, msg, sizeof(msg) - 1);
		(void)!write(2, crash_path, strlen(crash_path));
		(void)!write(2, "\n", 1);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void run(const uint8_t *data, size_t len)
{
	cur_data = data;
	cur_len = len;
	LLVMFuzzerTestOneInput(data, len);
	cur_data = NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: fuzz_main [-n ITERATIONS] [-s SEED] [-t SECONDS] [-o CRASH_DIR]\n"
			"                 [-w SEED_DIR] [FILE|DIR]...\n");
	exit(2);
}

int main(int argc, char **argv)
{
	unsigned long long iterations = 100000, seed = 1;
	const char *seed_dir = NULL, *crash_dir = ".";
	double max_time = 0;
	size_t n_seeds, n_files;
	uint8_t *buf;
	time_t start = time(NULL);
	unsigned long long i;
	int opt;

	while ((opt = getopt(argc, argv, "n:s:t:o:w:h")) != -1) {
		switch (opt) {
		case 'n':
			iterations = strtoull(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 't':
			max_time = strtod(optarg, NULL);
			break;
		case 'o':
			crash_dir = optarg;
			break;
		case 'w':
			seed_dir = optarg;
			break;
		default:
			usage();
		}
	}

	build_seeds();
	if (seed_dir)
		return write_seeds(seed_dir);
	n_seeds = n_inputs;
	for (int a = optind; a < argc; a++)
		if (load_path(argv[a]))
			return 2;
	n_files = n_inputs - n_seeds;

	signal(SIGSEGV, on_crash);
	signal(SIGBUS, on_crash);
	signal(SIGABRT, on_crash);
	signal(SIGFPE, on_crash);
	signal(SIGILL, on_crash);

	snprintf(crash_path, sizeof(crash_path), "%s/crash-%llu-input", crash_dir, seed);
	for (size_t k = 0; k < n_inputs; k++) {
		snprintf(crash_path, sizeof(crash_path), "%s/crash-%llu-%s", crash_dir, seed,
			 inputs[k].name);
		run(inputs[k].data, inputs[k].len);
	}

	rng_state = seed * 0x9e3779b97f4a7c15ULL + 1;
	buf = malloc(FUZZ_MAX_INPUT);
	if (!buf)
		return 2;
	for (i = 0; i < iterations; i++) {
		const struct input *in = &inputs[below(n_inputs)];
		size_t len = in->len < FUZZ_MAX_INPUT ? in->len : FUZZ_MAX_INPUT;
		int rounds = 1 + (int)below(8);

		size_t n = 0;

		/* Half structure-aware (the result decodes and reaches the
		 * checks), half byte-level (framing, header, decoder). */
		if (below(2))
			n = fuzz_image_mutate(in->data, len, buf, FUZZ_MAX_INPUT, rnd_cb, NULL);
		if (n) {
			len = n;
		} else {
			memcpy(buf, in->data, len);
			for (int r = 0; r < rounds; r++)
				len = mutate_once(buf, len, FUZZ_MAX_INPUT);
			if (below(2))
				fix_header(buf, len);
		}
		snprintf(crash_path, sizeof(crash_path), "%s/crash-%llu-%llu", crash_dir, seed, i);
		run(buf, len);
		if (max_time > 0 && (i & 1023) == 0 && difftime(time(NULL), start) >= max_time)
			break;
	}
	printf("fuzz_main: %zu seeds, %zu corpus files, %llu mutated inputs (seed %llu): no crash\n",
	       n_seeds, n_files, i, seed);
	{
		static const char *const names[] = {"", "inventory", "core", "sigacts",
						    "mm", "pagemap", "fds"};

		printf("fuzz_main: decoded/accepted by check:");
		for (int t = SC_IMG_INVENTORY; t <= SC_IMG_FDS; t++)
			printf(" %s %lu/%lu", names[t], fuzz_stat_decoded[t], fuzz_stat_accepted[t]);
		printf("\n");
	}
	free(buf);
	return 0;
}
