// SPDX-License-Identifier: MIT
/*
 * Asking for compressed pages files (doc/compression.md), in the app's
 * context: the constructor (config.c) and crdump's option parsing. libzstd
 * is loaded here, only when asked for, so that a preloaded process that
 * does not compress maps nothing more.
 */
#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"

#define ZSTD_SONAME "libzstd.so.1"

int rt_compress_parse(const char *s, int lo, int hi, int *v)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(s, &end, 10);
	if (*s < '0' || *s > '9' || *end || errno || n < lo || n > hi)
		return -1;
	*v = (int)n;
	return 0;
}

int rt_compress_default_threads(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set))
		return 1;
	n = CPU_COUNT(&set);
	return n < 1 ? 1 : n > RT_ZSTD_THREADS_MAX ? RT_ZSTD_THREADS_MAX : n;
}

int rt_compress_load(struct rt_compress *c, char *why, size_t len)
{
	static const struct {
		const char *name;
		size_t at;
	} calls[] = {
#define CALL(field, sym) { #sym, offsetof(struct rt_zstd_calls, field) }
		CALL(get_cparams, ZSTD_getCParams),
		CALL(estimate, ZSTD_estimateCStreamSize_usingCParams),
		CALL(init_static, ZSTD_initStaticCCtx),
		CALL(set_parameter, ZSTD_CCtx_setParameter),
		CALL(compress2, ZSTD_compress2),
		CALL(is_error, ZSTD_isError),
		CALL(estimate_dctx, ZSTD_estimateDCtxSize),
		CALL(init_static_dctx, ZSTD_initStaticDCtx),
		CALL(decompress, ZSTD_decompressDCtx),
#undef CALL
	};
	void *lib = dlopen(ZSTD_SONAME, RTLD_NOW | RTLD_LOCAL);

	if (!lib) {
		snprintf(why, len, "cannot load %s: %s", ZSTD_SONAME, dlerror());
		return -1;
	}
	for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		void *fn = dlsym(lib, calls[i].name);

		if (!fn) {
			snprintf(why, len, "%s has no %s (zstd 1.4.5 or later is needed)",
				 ZSTD_SONAME, calls[i].name);
			dlclose(lib);
			return -1;
		}
		memcpy((char *)&c->zstd + calls[i].at, &fn, sizeof(fn));
	}
	return 0;
}
