// SPDX-License-Identifier: MIT
/*
 * SysV shared memory segments (doc/trees.md, "SysV shared memory").
 *
 * crload makes each segment of the image once, before it forks anybody,
 * with the same key, id, size and mode, and fills it from every process's
 * stored pages of it; each process then attaches it with shmat where its
 * VMAs were (premap.c), so shmctl and shmdt work on it again. The id is
 * steered with /proc/sys/kernel/shm_next_id (root, or the owner of a new
 * IPC namespace: crload makes one when it restores into new namespaces).
 * A segment that still exists with the same key, id and size and that
 * nobody attaches is the one the checkpointed process left behind: crload
 * takes it over and gives it the image's contents.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/shm.h>
#include <unistd.h>

#include "restore.h"

bool sysv_in_image(const struct sc_image *img)
{
	for (size_t i = 0; i < img->nprocs; i++)
		if (img->procs[i].mm->n_sysv_shm)
			return true;
	return false;
}

static int add_id(uint32_t **ids, size_t *n, uint32_t id)
{
	uint32_t *more = realloc(*ids, (*n + 1) * sizeof(*more));

	if (!more)
		return -1;
	more[(*n)++] = id;
	*ids = more;
	return 0;
}

/* The segment with sh's id and key, made anew or taken over; its id or -1. */
static int get_segment(const Sc__SysvShm *sh, struct sysv_made *sm, char *err)
{
	struct shmid_ds ds;
	int id, fd, why = 0;
	char num[16];

	/* A segment removed by processes that were just killed lives until
	 * the last of them is gone: wait for it a moment. */
	for (int tries = 0; shmctl((int)sh->id, IPC_STAT, &ds) == 0; tries++) {
		if (sh->key && ds.shm_perm.__key == sh->key && ds.shm_segsz == sh->size &&
		    !ds.shm_nattch)
			return (int)sh->id;
		if (!(ds.shm_perm.mode & SHM_DEST) || tries == 2000)
			return sc_err(err,
				      "SysV shared memory id %u is taken (key %#x, %zu bytes, %lu "
				      "attached): remove it (ipcrm -m %u) to restore",
				      sh->id, (unsigned)ds.shm_perm.__key, (size_t)ds.shm_segsz,
				      (unsigned long)ds.shm_nattch, sh->id);
		usleep(1000);
	}
	if (sh->key && (id = shmget(sh->key, 0, 0)) >= 0)
		return sc_err(
			err,
			"SysV shared memory key %#x is taken by id %d: remove it (ipcrm -m %d) "
			"to restore",
			(unsigned)sh->key, id, id);
	fd = open("/proc/sys/kernel/shm_next_id", O_WRONLY | O_CLOEXEC);
	snprintf(num, sizeof(num), "%u", sh->id);
	if (fd < 0 || write(fd, num, strlen(num)) < 0)
		why = errno;
	if (fd >= 0)
		close(fd);
	id = shmget(sh->key, sh->size, IPC_CREAT | IPC_EXCL | (int)(sh->mode & 0777));
	if (id >= 0 && add_id(&sm->made, &sm->nmade, (uint32_t)id)) {
		shmctl(id, IPC_RMID, NULL);
		sc_err(err, "out of memory");
		return -1;
	}
	if (id < 0 || (uint32_t)id != sh->id) {
		const char *what = id < 0 ? strerror(errno) : "the kernel gave another id";

		return sc_err(err, "cannot make SysV shared memory id %u (key %#x) again: %s%s%s",
			      sh->id, (unsigned)sh->key, what,
			      why ? "; /proc/sys/kernel/shm_next_id: " : "",
			      why ? strerror(why) : "");
	}
	return id;
}

/* Gives segment id the image's mode and contents (every process's pages). */
static int fill_segment(int id, const Sc__SysvShm *sh, const struct sc_image *img, char *err)
{
	struct shmid_ds ds;
	char *mem = shmat(id, NULL, 0);
	int r = 0;

	if (mem == (void *)-1) {
		sc_err(err, "SysV shared memory id %u: %s", sh->id, strerror(errno));
		return -1;
	}
	/* A segment taken over held what its process last wrote. */
	memset(mem, 0, sh->size);
	for (size_t i = 0; i < img->nprocs && !r; i++) {
		const Sc__Mm *mm = img->procs[i].mm;

		for (size_t k = 0; k < mm->n_vmas && !r; k++)
			if (sc_sysv_of(mm, mm->vmas[k]) && mm->vmas[k]->ino == sh->id)
				r = shared_fill(-1, mem, img, &img->procs[i], mm->vmas[k], err);
	}
	shmdt(mem);
	if (!r && shmctl(id, IPC_STAT, &ds) == 0) {
		ds.shm_perm.mode = sh->mode & 0777;
		if (shmctl(id, IPC_SET, &ds))
			r = -1;
	}
	if (r && !err[0])
		sc_err(err, "SysV shared memory id %u: %s", sh->id, strerror(errno));
	return r;
}

int sysv_make(const struct sc_image *img, struct sysv_made *sm, char *err)
{
	uint32_t *done = NULL;
	size_t ndone = 0;

	err[0] = '\0';
	for (size_t i = 0; i < img->nprocs; i++) {
		const Sc__Mm *mm = img->procs[i].mm;

		for (size_t k = 0; k < mm->n_sysv_shm; k++) {
			const Sc__SysvShm *sh = mm->sysv_shm[k];
			bool known = false;
			int id;

			for (size_t j = 0; j < ndone; j++)
				known |= done[j] == sh->id;
			if (known)
				continue;
			if ((id = get_segment(sh, sm, err)) < 0 || fill_segment(id, sh, img, err) ||
			    add_id(&done, &ndone, sh->id) ||
			    ((sh->mode & SHM_DEST) && add_id(&sm->dest, &sm->ndest, sh->id))) {
				if (!err[0])
					sc_err(err, "out of memory");
				free(done);
				return -1;
			}
		}
	}
	free(done);
	return 0;
}

void sysv_finish(struct sysv_made *sm, bool ok)
{
	const uint32_t *ids = ok ? sm->dest : sm->made;
	size_t n = ok ? sm->ndest : sm->nmade;

	for (size_t i = 0; i < n; i++)
		shmctl((int)ids[i], IPC_RMID, NULL);
	free(sm->dest);
	free(sm->made);
	memset(sm, 0, sizeof(*sm));
}
