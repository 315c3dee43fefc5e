// SPDX-License-Identifier: MIT
/*
 * crinfo verify DIR: can this image be restored, as far as can be known
 * without restoring it? Every file's size and XXH3 against the inventory
 * and every record's validity (the loader's own reader, common/image.c),
 * the chain of parent images, the files the process maps and reopens
 * (crload's own preflight), and whether this machine can take it
 * (crinfo_check_image). Each problem is one line naming the file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crinfo.h"
#include "fd_restore.h"

static bool summed(const Sc__Inventory *inv, const char *name)
{
	for (size_t i = 0; i < inv->n_files; i++)
		if (!strcmp(inv->files[i]->name, name))
			return true;
	return false;
}

/* One of the files sc_image_load() read and checked already. */
static bool loaded(const struct sc_image *img, const char *name)
{
	static const char *const prefixes[] = {
		SC_CORE_PREFIX,	   SC_SIGACTS_PREFIX, SC_MM_PREFIX,
		SC_PAGEMAP_PREFIX, SC_PAGES_PREFIX,   SC_FDS_PREFIX
	};
	char n[80];

	for (size_t i = 0; i < img->nprocs; i++)
		for (size_t k = 0; k < sizeof(prefixes) / sizeof(prefixes[0]); k++) {
			snprintf(n, sizeof(n), "%s-%d.img", prefixes[k], img->procs[i].pid);
			if (!strcmp(n, name))
				return true;
		}
	return false;
}

/* Files the inventory lists beyond the ones the reader loaded are
 * checked too; files it does not list are not part of the image. */
static int other_files(const struct sc_image *img, FILE *out)
{
	char err[SC_ERR_LEN];
	struct dirent *d;
	int bad = 0;
	DIR *dir;

	for (size_t i = 0; i < img->inv->n_files; i++)
		if (!loaded(img, img->inv->files[i]->name) &&
		    sc_image_check_file(img, img->inv->files[i], err)) {
			fprintf(stderr, "crinfo: %s: %s\n", img->dir, err);
			bad++;
		}
	dir = opendir(img->dir);
	while (dir && (d = readdir(dir)))
		if (d->d_name[0] != '.' && strcmp(d->d_name, SC_INVENTORY_FILE) &&
		    !summed(img->inv, d->d_name))
			fprintf(out,
				"note     %s is not part of the image (not in the inventory)\n",
				d->d_name);
	if (dir)
		closedir(dir);
	return bad;
}

static int problem(const struct sc_image *img, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int problem(const struct sc_image *img, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "crinfo: %s: ", img->dir);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 1;
}

/* The files the process maps and the paths it reopens are still there,
 * and mapped files are the very ones it mapped. The files crload would
 * cut back are noted. */
static int references(const struct sc_image *img, FILE *out)
{
	char err[SC_ERR_LEN], name[80];
	struct file_cuts cuts = { 0 };
	int bad = 0;

	for (size_t i = 0; i < img->nprocs; i++) {
		const struct sc_proc_img *p = &img->procs[i];

		snprintf(name, sizeof(name), "%s-%d.img", SC_MM_PREFIX, p->pid);
		for (size_t k = 0; k < p->mm->n_vmas; k++) {
			const Sc__Vma *v = p->mm->vmas[k];
			struct stat st;

			/* crload makes a file in memory again from its pages. */
			if ((v->kind != SC__VMA_KIND__FILE_PRIVATE &&
			     v->kind != SC__VMA_KIND__FILE_SHARED) ||
			    sc_vma_is_file_in_memory(v))
				continue;
			if (stat(v->path, &st))
				bad += problem(img, "%s: mapped file %s is gone", name, v->path);
			else if (v->has_ino && st.st_ino != v->ino)
				bad += problem(
					img, "%s: mapped file %s was replaced since the checkpoint",
					name, v->path);
		}
		snprintf(name, sizeof(name), "%s-%d.img", SC_FDS_PREFIX, p->pid);
		if (fd_path_preflight(img, p->pid, p->fds, NULL, false, &cuts, err))
			bad += problem(img, "%s: %s", name, err);
		for (size_t k = 0; k < p->fds->n_fds; k++) {
			const Sc__Fd *f = p->fds->fds[k];
			struct stat st;

			if (f->kind == SC__FD_KIND__FIFO && !f->has_dup_of && stat(f->path, &st))
				bad += problem(img, "%s: named pipe %s is gone", name, f->path);
		}
	}
	for (size_t i = 0; i < cuts.n; i++)
		if (file_cut_grew(&cuts.v[i]))
			fprintf(out,
				"note     %s grew by %llu bytes since the checkpoint: crload cuts it back, "
				"keeping them beside the image\n",
				cuts.v[i].path,
				(unsigned long long)(cuts.v[i].now - cuts.v[i].size));
	file_cuts_free(&cuts);
	return bad;
}

/* Every frame of each compressed pages file of gi decompressed, its
 * checksum checked (doc/compression.md), and every chunk of each pages
 * file with sums in parts checked against its sum (doc/checksums.md): a
 * bad frame or chunk is named. */
static int pages_parts(const struct sc_image *gi, FILE *out)
{
	char err[SC_ERR_LEN];
	size_t frames = 0, chunks = 0;
	int bad = 0;

	for (size_t i = 0; i < gi->nprocs; i++) {
		const struct sc_proc_img *p = &gi->procs[i];
		bool z = p->pm->codec == SC__PAGES_CODEC__PAGES_ZSTD;
		int fd;

		if (!z && !p->pm->has_chunk_bytes)
			continue;
		fd = openat(gi->dirfd, p->pages_name, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			bad += problem(gi, "%s: %s", p->pages_name, strerror(errno));
		else if ((z && sc_pages_check_frames(fd, p->pm, err)) ||
			 sc_pages_check_chunks(fd, p->pm, p->pages_size, err))
			bad += problem(gi, "%s: %s", p->pages_name, err);
		else {
			frames += z ? p->pm->n_frame_pages : 0;
			chunks += p->pm->n_chunk_xxh3;
		}
		if (fd >= 0)
			close(fd);
	}
	if (frames && !bad)
		fprintf(out,
			"ok       %s: %zu zstd frames decompress to their pages, checksums "
			"as they say\n",
			gi->dir, frames);
	if (chunks && !bad)
		fprintf(out, "ok       %s: %zu chunks of its pages files, checksums as they say\n",
			gi->dir, chunks);
	return bad;
}

/* The image and its chain of parents: each one's files, and each link. */
static int verify(const char *dir, FILE *out)
{
	char err[SC_ERR_LEN];
	struct sc_image img;
	int bad = 0;

	/* The reader checks every link of the chain (doc/incremental.md). */
	if (sc_image_load(dir, &img, err)) {
		fprintf(stderr, "crinfo: %s: %s\n", dir, err);
		sc_image_free(&img);
		return 1;
	}
	for (const struct sc_image *gi = &img; gi; gi = gi->parent) {
		int here = other_files(gi, out);

		if (!here)
			fprintf(out,
				"ok       %s: the inventory and %zu files, sizes and checksums as "
				"it says, every record valid\n",
				gi->dir, gi->inv->n_files);
		if (gi->parent)
			fprintf(out,
				"ok       %s: its parent %s has the inventory it was written "
				"against (xxh3 %016llx)\n",
				gi->dir, gi->inv->parent,
				(unsigned long long)gi->inv->parent_inventory_xxh3);
		bad += here + pages_parts(gi, out);
	}
	bad += references(&img, out);
	bad += crinfo_check_image(&img, out);
	sc_image_free(&img);
	return bad;
}

int crinfo_verify(const char *dir, const char *flush_dir, FILE *out)
{
	char line[CR_TIERS_SUMMARY_LEN];
	int bad = verify(dir, out);
	struct cr_tiers t;

	/* Where else it is: a generation damaged here may be whole there. */
	cr_image_tiers(dir, flush_dir, &t);
	if (t.gen)
		fprintf(out, "tiers    %s\n", cr_tiers_summary(&t, line, sizeof(line)));

	/* One problem is its own one line; several get a count. */
	if (bad > 1)
		fprintf(stderr, "crinfo: %s: cannot be restored (%d problems)\n", dir, bad);
	else if (!bad)
		fprintf(out, "%s: can be restored, as far as can be known without restoring it\n",
			dir);
	return bad ? 1 : 0;
}
