// SPDX-License-Identifier: MIT
/*
 * crinfo: read, verify and explain images, and check the machine.
 *
 *   crinfo show [--json] DIR   what the image holds, and which tiers hold it
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
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "crinfo.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: crinfo show [--json] [--flush-dir=SHARED_DIR] IMAGE_DIR\n"
		   "       crinfo bt IMAGE_DIR\n"
		   "       crinfo verify [--flush-dir=SHARED_DIR] IMAGE_DIR\n"
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
		   "          its chain (SELFCKPT_DIR and SELFCKPT_FLUSH_DIR: doc/tiers.md)\n"
		   "IMAGE_DIR may be a job's SELFCKPT_DIR: its latest generation. show and\n"
		   "verify say which tiers hold a generation complete, the shared one named\n"
		   "by --flush-dir or recorded there by crflush.\n");
}

/* dir, or its latest generation when it is a job's SELFCKPT_DIR (no
 * image of its own, and a "latest"), into buf (PATH_MAX). */
static const char *image_dir(const char *dir, char *buf)
{
	snprintf(buf, PATH_MAX, "%s/" SC_INVENTORY_FILE, dir);
	if (!access(buf, F_OK))
		return dir;
	snprintf(buf, PATH_MAX, "%s/latest", dir);
	return access(buf, F_OK) ? dir : buf;
}

/* The image at given (or its job's latest) into img: 0, or 1 said. */
static int load_image(const char *given, struct sc_image *img)
{
	char err[SC_ERR_LEN], buf[PATH_MAX];
	const char *dir = image_dir(given, buf);

	if (!sc_image_load(dir, img, err))
		return 0;
	fprintf(stderr, "crinfo: %s: %s\n", dir, err);
	sc_image_free(img);
	return 1;
}

/* img freed and stdout flushed: the exit status of a command whose
 * work returned r. */
static int done(struct sc_image *img, int r)
{
	sc_image_free(img);
	if (fflush(stdout) || ferror(stdout)) {
		perror("crinfo: stdout");
		return 1;
	}
	return r ? 1 : 0;
}

static int with_image(const char *given, int (*fn)(const struct sc_image *, FILE *))
{
	struct sc_image img;

	return load_image(given, &img) ?: done(&img, fn(&img, stdout));
}

static int json(const struct sc_image *img, const struct cr_tiers *tiers, FILE *out)
{
	char err[SC_ERR_LEN];

	if (crinfo_json(img, tiers, out, err)) {
		fprintf(stderr, "crinfo: %s: %s\n", img->dir, err);
		return -1;
	}
	return 0;
}

/* crinfo show: the image, with the tiers of its job (doc/tiers.md); the
 * shared one flush_dir, or the one crflush recorded when NULL. */
static int show(const char *given, const char *flush_dir, bool as_json)
{
	struct sc_image img;
	struct cr_tiers tiers;

	if (load_image(given, &img))
		return 1;
	cr_image_tiers(img.dir, flush_dir, &tiers);
	return done(&img, as_json ? json(&img, &tiers, stdout) : crinfo_show(&img, &tiers, stdout));
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "flush-dir", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	bool as_json = false;
	char buf[PATH_MAX];
	/* --flush-dir: the shared tier of the image's job, if given. */
	const char *cmd, *flush_dir = NULL;
	int c;

	while ((c = getopt_long(argc, argv, "+jf:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			as_json = true;
			break;
		case 'f':
			flush_dir = optarg;
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
	while ((c = getopt_long(argc, argv, "+jf:", longopts, NULL)) != -1) {
		if (c == 'j') {
			as_json = true;
		} else if (c == 'f') {
			flush_dir = optarg;
		} else {
			usage(stderr);
			return 2;
		}
	}
	/* The shared tier is a matter of show and verify only. */
	if (flush_dir && strcmp(cmd, "show") && strcmp(cmd, "verify")) {
		usage(stderr);
		return 2;
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
		return show(argv[optind], flush_dir, as_json);
	if (!strcmp(cmd, "bt"))
		return with_image(argv[optind], crinfo_bt);
	if (!strcmp(cmd, "verify"))
		return crinfo_verify(image_dir(argv[optind], buf), flush_dir, stdout);
	if (!strcmp(cmd, "check"))
		return with_image(argv[optind], crinfo_check_image);
	if (!strcmp(cmd, "history"))
		return crinfo_history(argv[optind], stdout);
	usage(stderr);
	return 2;
}
