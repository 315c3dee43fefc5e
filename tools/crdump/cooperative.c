// SPDX-License-Identifier: MIT
/*
 * A target that runs the runtime checkpoints itself, better than ptrace
 * can (no process stopped from outside, its own consistent tree cut). So
 * crdump asks it: the runtime's selfckpt_beacon (selfckpt/beacon.h), found
 * with libelf in the library's dynamic symbols and read from the target's
 * memory, names the trigger signal and the image directory; crdump sends
 * the signal, waits for a new "latest" image, and moves it to DIR.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "crdump.h"
#include "selfckpt/beacon.h"

#define WAIT_LIMIT_S 600

/* Where libselfckpt.so is mapped in pid: its path and load base. */
static int find_runtime(pid_t pid, char *path, size_t len, uint64_t *base)
{
	char maps[64], line[4096 + 128];
	int found = -1;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	f = fopen(maps, "re");
	if (!f)
		return -1;
	while (found && fgets(line, sizeof(line), f)) {
		unsigned long start, off;
		int at = 0;

		if (!strstr(line, "/libselfckpt.so") ||
		    sscanf(line, "%lx-%*x %*s %lx %*s %*u %n", &start, &off, &at) < 2 || !at)
			continue;
		line[strcspn(line, "\n")] = '\0';
		snprintf(path, len, "%s", line + at);
		*base = start - off;
		found = 0;
	}
	fclose(f);
	return found;
}

/* The beacon's address in the library file, from its dynamic symbols. */
static int beacon_offset(const char *path, uint64_t *off)
{
	Elf_Scn *scn = NULL;
	int fd, found = -1;
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	while (elf && found && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		Elf_Data *data;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM ||
		    !(data = elf_getdata(scn, NULL)) || !sh.sh_entsize)
			continue;
		for (size_t i = 0; found && i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;
			const char *name;

			if (gelf_getsym(data, (int)i, &sym) &&
			    (name = elf_strptr(elf, sh.sh_link, sym.st_name)) &&
			    !strcmp(name, SELFCKPT_BEACON_SYMBOL)) {
				*off = sym.st_value;
				found = 0;
			}
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return found;
}

static int peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)addr, len };

	return process_vm_readv(pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

static void latest_of(const char *dir, char *name, size_t len)
{
	char path[PATH_MAX + 16];
	ssize_t n;

	snprintf(path, sizeof(path), "%s/latest", dir);
	n = readlink(path, name, len - 1);
	name[n > 0 ? n : 0] = '\0';
}

/* Moves the image directory src to dst, or copies it across filesystems. */
static int move_image(const char *src, const char *dst, char *err)
{
	char from[PATH_MAX + 256], to[PATH_MAX + 256];
	struct dirent *d;
	DIR *dir;

	if (!rename(src, dst))
		return 0;
	if (errno != EXDEV) {
		snprintf(err, CD_ERR_LEN, "moving %.200s to %.200s: %s", src, dst, strerror(errno));
		return -1;
	}
	if (mkdir(dst, 0700) && errno != EEXIST) {
		snprintf(err, CD_ERR_LEN, "%.400s: %s", dst, strerror(errno));
		return -1;
	}
	dir = opendir(src);
	while (dir && (d = readdir(dir))) {
		char buf[1 << 16];
		int in, out;
		ssize_t n = 0;

		if (d->d_name[0] == '.')
			continue;
		if (snprintf(from, sizeof(from), "%s/%s", src, d->d_name) >= (int)sizeof(from) ||
		    snprintf(to, sizeof(to), "%s/%s", dst, d->d_name) >= (int)sizeof(to)) {
			snprintf(err, CD_ERR_LEN, "%.400s: the name is too long", to);
			closedir(dir);
			return -1;
		}
		in = open(from, O_RDONLY | O_CLOEXEC);
		out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof(buf))) > 0)
			if (write(out, buf, (size_t)n) != n)
				n = -1;
		if (in < 0 || out < 0 || n < 0 || fsync(out)) {
			snprintf(err, CD_ERR_LEN, "copying %.400s: %s", from, strerror(errno));
			closedir(dir);
			return -1;
		}
		close(in);
		close(out);
	}
	if (!dir) {
		snprintf(err, CD_ERR_LEN, "%.400s: %s", src, strerror(errno));
		return -1;
	}
	closedir(dir);
	return 0;
}

/* The beacon at addr in pid, of this version or of version 1, which ends
 * before outcome (NULL then). */
static int read_beacon(pid_t pid, uint64_t addr, struct selfckpt_beacon *b)
{
	memset(b, 0, sizeof(*b));
	if (peek(pid, addr, b, offsetof(struct selfckpt_beacon, outcome)))
		return -1;
	if (b->version == 1)
		return 0;
	return b->version == SELFCKPT_BEACON_VERSION ? peek(pid, addr, b, sizeof(*b)) : -1;
}

/* How many checkpoints pid ended so far (0 when its beacon cannot say). */
static int ended_so_far(pid_t pid, const struct selfckpt_beacon *b, uint32_t *ended)
{
	*ended = 0;
	return b->outcome ? peek(pid, (uint64_t)&b->outcome->ended, ended, sizeof(*ended)) : 0;
}

/* Whether a checkpoint pid ended since it had ended `before` failed, its
 * reason in err. The last one's: the one asked for, or one that ended
 * since with the same outcome for it (a checkpoint asked while one runs
 * is taken right after it). */
static bool failed(pid_t pid, const struct selfckpt_beacon *b, uint32_t before, char *err)
{
	struct selfckpt_outcome o;

	if (!b->outcome || peek(pid, (uint64_t)b->outcome, &o, sizeof(o)) || o.ended == before ||
	    !o.err)
		return false;
	o.why[sizeof(o.why) - 1] = '\0';
	snprintf(err, CD_ERR_LEN, "process %d: %.480s", pid, o.why);
	return true;
}

bool cd_runs_runtime(pid_t pid)
{
	char lib[PATH_MAX];
	uint64_t base;

	return find_runtime(pid, lib, sizeof(lib), &base) == 0;
}

int cd_cooperative(pid_t pid, const char *dst, bool leave_running, char *err)
{
	char lib[PATH_MAX], dir[PATH_MAX], before[256], now[256], src[PATH_MAX + 256];
	struct selfckpt_beacon b;
	uint64_t base, off;
	uint32_t ended;
	int sig;

	if (find_runtime(pid, lib, sizeof(lib), &base) || beacon_offset(lib, &off) ||
	    read_beacon(pid, base + off, &b) ||
	    peek(pid, (uint64_t)b.trigger_sig, &sig, sizeof(sig)) ||
	    peek(pid, (uint64_t)b.dir, dir, sizeof(dir)) || ended_so_far(pid, &b, &ended)) {
		snprintf(err, CD_ERR_LEN,
			 "process %d runs the selfckpt runtime, but its settings cannot be read "
			 "(another version of it?): checkpoint it with its trigger signal",
			 pid);
		return -1;
	}
	dir[sizeof(dir) - 1] = '\0';
	fprintf(stderr,
		"crdump: process %d runs the selfckpt runtime: asking it to checkpoint "
		"itself (signal %d, images in %s)\n",
		pid, sig, dir);
	latest_of(dir, before, sizeof(before));
	if (kill(pid, sig)) {
		snprintf(err, CD_ERR_LEN, "process %d: %s", pid, strerror(errno));
		return -1;
	}
	for (int i = 0;; i++) {
		struct timespec ts = { 0, 10000000 };

		latest_of(dir, now, sizeof(now));
		if (now[0] && strcmp(now, before))
			break;
		if (failed(pid, &b, ended, err))
			return -1;
		if (kill(pid, 0) || i == WAIT_LIMIT_S * 100) {
			snprintf(err, CD_ERR_LEN,
				 "process %d %s without a new image in %.300s (its log says why)",
				 pid, kill(pid, 0) ? "exited" : "went on", dir);
			return -1;
		}
		nanosleep(&ts, NULL);
	}
	snprintf(src, sizeof(src), "%s/%s", dir, now);
	if (move_image(src, dst, err))
		return -1;
	/* "latest" named the image that is now dst. */
	latest_of(dir, before, sizeof(before));
	if (!strcmp(before, now)) {
		snprintf(src, sizeof(src), "%s/latest", dir);
		unlink(src);
	}
	if (!leave_running)
		kill(pid, SIGKILL);
	fprintf(stderr, "crdump: %s: the image process %d wrote (%s)%s\n", dst, pid, now,
		leave_running ? "" : "; killed");
	return 0;
}
