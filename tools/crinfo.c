// SPDX-License-Identifier: MIT
/*
 * crinfo: read, verify and explain images, and check the machine.
 *
 *   crinfo show [--json] DIR   what the image holds
 *   crinfo bt DIR              where each thread was frozen
 *   crinfo verify DIR          can it be restored (exit status 0 if so)
 *   crinfo check [DIR]         what this machine can do [for that image]
 *   crinfo history DIR         what happened to a job crrun ran there
 *   crinfo tiers LOCAL SHARED  which tiers hold each generation complete
 *
 * Images are untrusted input: everything goes through the loader's own
 * validating reader (common/image.c) first, and a bad image is one line
 * on stderr and exit status 1.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "crinfo.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: crinfo show [--json] IMAGE_DIR\n"
		   "       crinfo bt IMAGE_DIR\n"
		   "       crinfo verify IMAGE_DIR\n"
		   "       crinfo check [IMAGE_DIR]\n"
		   "       crinfo history JOB_DIR\n"
		   "       crinfo tiers LOCAL_DIR SHARED_DIR\n"
		   "  show    what the image holds: writer, process tree, threads, memory,\n"
		   "          descriptors, signal handlers (--json: every field, for scripts)\n"
		   "  bt      a symbolized backtrace of every thread, where it was frozen\n"
		   "  verify  checksums, records, parent images, referenced files and this\n"
		   "          machine: exit status 0 only if the image can be restored\n"
		   "  check   what this machine and user can do; with IMAGE_DIR, whether\n"
		   "          that image can be restored here\n"
		   "  history what happened to the job crrun ran in JOB_DIR: starts, checkpoints,\n"
		   "          warnings, restores, exits, and how long checkpoints take\n"
		   "  tiers   which of a job's two tiers hold each generation complete, with\n"
		   "          its chain (SELFCKPT_DIR and SELFCKPT_FLUSH_DIR: doc/tiers.md)\n");
}

static int with_image(const char *dir, int (*fn)(const struct sc_image *, FILE *))
{
	struct sc_image img;
	char err[SC_ERR_LEN];
	int r;

	if (sc_image_load(dir, &img, err)) {
		fprintf(stderr, "crinfo: %s: %s\n", dir, err);
		sc_image_free(&img);
		return 1;
	}
	r = fn(&img, stdout);
	sc_image_free(&img);
	if (fflush(stdout) || ferror(stdout)) {
		perror("crinfo: stdout");
		return 1;
	}
	return r ? 1 : 0;
}

static int json(const struct sc_image *img, FILE *out)
{
	char err[SC_ERR_LEN];

	if (crinfo_json(img, out, err)) {
		fprintf(stderr, "crinfo: %s: %s\n", img->dir, err);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	bool as_json = false;
	const char *cmd;
	int c;

	while ((c = getopt_long(argc, argv, "+jh", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			as_json = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("crinfo %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind++];
	/* Options may follow the command too: crinfo show --json DIR. */
	while ((c = getopt_long(argc, argv, "+j", longopts, NULL)) != -1) {
		if (c != 'j') {
			usage(stderr);
			return 2;
		}
		as_json = true;
	}
	if (!strcmp(cmd, "check") && optind == argc)
		return crinfo_check(stdout);
	if (!strcmp(cmd, "tiers") && optind == argc - 2 && !as_json)
		return crinfo_tiers((const char *const[]){ argv[optind], argv[optind + 1] },
				    stdout);
	if (optind != argc - 1 || (as_json && strcmp(cmd, "show"))) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(cmd, "show"))
		return with_image(argv[optind], as_json ? json : crinfo_show);
	if (!strcmp(cmd, "bt"))
		return with_image(argv[optind], crinfo_bt);
	if (!strcmp(cmd, "verify"))
		return crinfo_verify(argv[optind], stdout);
	if (!strcmp(cmd, "check"))
		return with_image(argv[optind], crinfo_check_image);
	if (!strcmp(cmd, "history"))
		return crinfo_history(argv[optind], stdout);
	usage(stderr);
	return 2;
}
