// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "image.h"
#include "procparse.h"
#include "vdso.h"

static int vdso_index(const char *name, size_t len)
{
	if (len == 6 && !memcmp(name, "[vvar]", 6))
		return 0;
	if (len == 13 && !memcmp(name, "[vvar_vclock]", 13))
		return 1;
	if (len == 6 && !memcmp(name, "[vdso]", 6))
		return 2;
	return -1;
}

int sc_own_maps(struct sc_vdso_layout *vd, int (*each)(void *arg, uint64_t start, uint64_t end),
		void *arg)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4096 + 128];

	if (!f)
		return -1;
	memset(vd, 0, sizeof(*vd));
	while (fgets(line, sizeof(line), f)) {
		struct pp_map m;
		size_t len = strcspn(line, "\n");
		int k;

		if (pp_parse_maps_line(line, len, &m))
			continue;
		if (m.start >= SC_TASK_SIZE)
			continue;
		if (each && each(arg, m.start, m.end)) {
			fclose(f);
			errno = ENOMEM;
			return -1;
		}
		if (m.path && (k = vdso_index(m.path, m.path_len)) >= 0)
			vd->part[k] = (struct sc_range){ m.start, m.end };
	}
	fclose(f);
	return 0;
}

int sc_check_vdso(const Sc__Mm *mm, char *err)
{
	struct sc_vdso_layout cur, img;

	if (sc_own_maps(&cur, NULL, NULL)) {
		sc_err(err, "/proc/self/maps: %s", strerror(errno));
		return -1;
	}
	memset(&img, 0, sizeof(img));
	for (size_t i = 0; i < mm->n_vmas; i++) {
		const Sc__Vma *v = mm->vmas[i];

		if (sc_is_vdso_kind(v))
			img.part[v->kind - SC__VMA_KIND__VVAR] =
				(struct sc_range){ v->start, v->end };
	}
	for (int k = 0; k < 3; k++) {
		uint64_t ilen = img.part[k].end - img.part[k].start;
		uint64_t clen = cur.part[k].end - cur.part[k].start;
		uint64_t ioff = img.part[k].start - img.part[2].start;
		uint64_t coff = cur.part[k].start - cur.part[2].start;

		if (ilen != clen || (ilen && ioff != coff))
			return sc_err(
				err,
				"the vDSO of this kernel differs from the image's (written under "
				"another kernel); restore it on the kernel that wrote it");
	}
	return 0;
}
