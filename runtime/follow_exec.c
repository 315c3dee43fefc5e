// SPDX-License-Identifier: MIT
/*
 * Programs a process execs run the runtime too, even when the app scrubs
 * its environment (clearenv(), env -i, a launcher's own envp): every exec
 * function gets an environment that still preloads this library and
 * carries the SELFCKPT_* settings this process started with.
 *
 * The wrappers may run in a vfork child, which shares the parent's memory:
 * they build the new environment on the stack and call functions resolved
 * at load time, never malloc or dlsym.
 *
 * A statically linked program cannot load the runtime: each exec of one
 * says so on stderr, naming it.
 */
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"

#define INTERPOSE __attribute__((visibility("default")))
#define MAX_KEPT 8

extern char **environ;

/* "NAME=value" strings to keep in every exec'ed environment. */
static char *kept[MAX_KEPT];
static int nkept;
static char *preload_entry; /* "LD_PRELOAD=<this library>" */
static size_t preload_len;
static const char *lib_path;
static size_t lib_len;
/* Where those strings are made, one after the other: every exec'd program
 * writes them, and does so into one page, not one page each. */
static char entries[PATH_MAX + RT_MAX_PATH + 512];
static size_t entries_used;

static int (*real_execve)(const char *, char *const[], char *const[]);
static int (*real_execvpe)(const char *, char *const[], char *const[]);
static int (*real_fexecve)(int, char *const[], char *const[]);
static int (*real_posix_spawn)(pid_t *, const char *, const posix_spawn_file_actions_t *,
			       const posix_spawnattr_t *, char *const[], char *const[]);
static int (*real_posix_spawnp)(pid_t *, const char *, const posix_spawn_file_actions_t *,
				const posix_spawnattr_t *, char *const[], char *const[]);

static const char *const settings[] = {
	"SELFCKPT_SIGNAL", "SELFCKPT_EXIT", "SELFCKPT_STOP", "SELFCKPT_INTERVAL", "SELFCKPT_LOG",
};

/* "name=value" in entries, or from malloc when it does not fit there. */
static char *make_entry(const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;
	char *e = entries + entries_used;

	if (len <= sizeof(entries) - entries_used)
		entries_used += len;
	else if (!(e = malloc(len)))
		return NULL;
	rt_stpcpy(rt_stpcpy(rt_stpcpy(e, name), "="), value);
	return e;
}

void rt_follow_exec_init(void)
{
	Dl_info info;
	char *e;

	real_execve = dlsym(RTLD_NEXT, "execve");
	real_execvpe = dlsym(RTLD_NEXT, "execvpe");
	real_fexecve = dlsym(RTLD_NEXT, "fexecve");
	real_posix_spawn = dlsym(RTLD_NEXT, "posix_spawn");
	real_posix_spawnp = dlsym(RTLD_NEXT, "posix_spawnp");
	if (!dladdr((void *)rt_follow_exec_init, &info) || !info.dli_fname ||
	    strlen(info.dli_fname) >= PATH_MAX)
		return;
	lib_path = info.dli_fname;
	lib_len = strlen(lib_path);
	preload_entry = make_entry("LD_PRELOAD", lib_path);
	preload_len = strlen(preload_entry);
	/* The directory as resolved at start: a child in another working
	 * directory writes where its parent does. */
	if ((e = make_entry("SELFCKPT_DIR", rt_cfg.dir)))
		kept[nkept++] = e;
	for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
		const char *v = getenv(settings[i]);

		if (v && (e = make_entry(settings[i], v)))
			kept[nkept++] = e;
	}
}

/*
 * The wrappers run in the child between fork and exec, which faults in
 * again every page of code it runs (fork copies no page table of a file
 * mapping): they compare strings with these few lines rather than with
 * four libc functions on four pages, and read the program with raw calls.
 */

/* Whether a starts with the n bytes of b (which hold no NUL). */
static bool starts_with(const char *a, const char *b, size_t n)
{
	while (n--)
		if (*a++ != *b++)
			return false;
	return true;
}

/* The length of s up to its end or either stop character. */
static size_t span(const char *s, char stop, char stop2)
{
	size_t n = 0;

	while (s[n] && s[n] != stop && s[n] != stop2)
		n++;
	return n;
}

static bool same_name(const char *entry, const char *kv)
{
	size_t n = span(kv, '=', '=');

	return starts_with(entry, kv, n) && entry[n] == '=';
}

/* Does the LD_PRELOAD value (space or colon separated) name this library? */
static bool preloads_us(const char *value)
{
	for (const char *p = value; *p;) {
		size_t len = span(p, ':', ' ');

		if (len == lib_len && starts_with(p, lib_path, len))
			return true;
		p += len;
		p += *p != '\0';
	}
	return false;
}

/* How many entries env has; its LD_PRELOAD entry, if any, in *preload. */
static size_t scan_env(char *const env[], const char **preload)
{
	size_t n = 0;

	*preload = NULL;
	for (; env && env[n]; n++)
		if (starts_with(env[n], "LD_PRELOAD=", 11))
			*preload = env[n];
	return n;
}

/*
 * Fills out (room for n + MAX_KEPT + 2 pointers) with env plus what it
 * lacks; combined is a buffer for an LD_PRELOAD that names the app's
 * libraries and ours.
 */
static char *const *fixed_env(char *const env[], size_t n, const char *preload, char **out,
			      char *combined, size_t combined_len)
{
	size_t k = 0;

	if (!lib_path)
		return env;
	for (size_t i = 0; i < n; i++) {
		if (env[i] == preload) {
			if (preloads_us(preload + 11)) {
				out[k++] = env[i];
			} else {
				snprintf(combined, combined_len, "%s:%s", preload_entry,
					 preload + 11);
				out[k++] = combined;
			}
			continue;
		}
		out[k++] = env[i];
	}
	if (!preload)
		out[k++] = preload_entry;
	for (int j = 0; j < nkept; j++) {
		bool present = false;

		for (size_t i = 0; i < n && !present; i++)
			present = same_name(env[i], kept[j]);
		if (!present)
			out[k++] = kept[j];
	}
	out[k] = NULL;
	return out;
}

/* Declares what fixed_env needs on the caller's stack, and calls it. */
#define WITH_FIXED_ENV(env, fixed)                                                                 \
	const char *preload_;                                                                      \
	size_t n_ = scan_env(env, &preload_);                                                      \
	char *out_[n_ + MAX_KEPT + 2];                                                             \
	char combined_[preload_ ? strlen(preload_) + preload_len + 2 : 1];                         \
	char *const *fixed = fixed_env(env, n_, preload_, out_, combined_, sizeof(combined_))

/* Statically linked: an ELF executable with no interpreter, which will
 * not load the runtime. One line per such exec; true if it is one. */
static bool warn_if_static(int fd, const char *name)
{
	Elf64_Ehdr eh;
	/* The whole table in one read: this runs on every exec. */
	Elf64_Phdr ph[64];
	size_t len;

	if (sc_sys4(__NR_pread64, fd, &eh, sizeof(eh), 0) != sizeof(eh) ||
	    !starts_with((char *)eh.e_ident, ELFMAG, 4) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_phentsize != sizeof(ph[0]) || eh.e_phnum > sizeof(ph) / sizeof(ph[0]))
		return false;
	len = eh.e_phnum * sizeof(ph[0]);
	if (sc_sys4(__NR_pread64, fd, ph, len, eh.e_phoff) != (long)len)
		return false;
	for (int i = 0; i < eh.e_phnum; i++)
		if (ph[i].p_type == PT_INTERP)
			return false;
	dprintf(2,
		"selfckpt: %s is statically linked: it cannot run the runtime and will not be "
		"checkpointed\n",
		name);
	return true;
}

static bool check_path(const char *path)
{
	int fd = (int)sc_sys4(__NR_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC, 0);
	bool is_static = false;

	if (fd >= 0) {
		is_static = warn_if_static(fd, path);
		sc_sys1(__NR_close, fd);
	}
	return is_static;
}

/* The file execvp would run: file itself if it has a slash, else the
 * first executable match in PATH. */
static bool check_searched(const char *file)
{
	const char *path = getenv("PATH");
	char buf[PATH_MAX];

	if (strchr(file, '/'))
		return check_path(file);
	for (const char *p = path ? path : "/bin:/usr/bin"; *p;) {
		size_t len = strcspn(p, ":");

		if (snprintf(buf, sizeof(buf), "%.*s/%s", (int)len, len ? p : ".", file) <
			    (int)sizeof(buf) &&
		    !access(buf, X_OK))
			return check_path(buf);
		p += len;
		p += *p == ':';
	}
	return false;
}

/*
 * A trigger signal that arrives during exec stays pending across it, and
 * the new program would die of it before the runtime's constructor could
 * install a handler (a tree checkpoint signals every member). So exec
 * happens with it blocked (a mask survives exec); the constructor
 * unblocks it, and the pending signal is taken then. A failed exec puts
 * the mask back. A static program would never unblock it: not for one.
 */
static uint64_t block_trigger(bool is_static)
{
	uint64_t one = 1ULL << (rt_cfg.trigger_sig - 1), old = 0;

	/* A copy still writing the last checkpoint would become an ordinary
	 * child of the new program, its exit a SIGCHLD that program never
	 * asked for: it is waited for first. */
	rt_snapshot_reap(true);

	/* With no new set, this only reads the mask, to put back. */
	sc_sys4(__NR_rt_sigprocmask, SIG_BLOCK, is_static ? NULL : &one, &old, 8);
	return old;
}

static int unblock_after_failure(int ret, uint64_t old)
{
	int saved = errno;

	sc_sys4(__NR_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
	errno = saved;
	return ret;
}

INTERPOSE int execve(const char *path, char *const argv[], char *const envp[])
{
	WITH_FIXED_ENV(envp, env);
	uint64_t old = block_trigger(check_path(path));

	return unblock_after_failure(real_execve(path, argv, env), old);
}

INTERPOSE int execvpe(const char *file, char *const argv[], char *const envp[])
{
	WITH_FIXED_ENV(envp, env);
	uint64_t old = block_trigger(check_searched(file));

	return unblock_after_failure(real_execvpe(file, argv, env), old);
}

INTERPOSE int execv(const char *path, char *const argv[])
{
	return execve(path, argv, environ);
}

INTERPOSE int execvp(const char *file, char *const argv[])
{
	return execvpe(file, argv, environ);
}

INTERPOSE int fexecve(int fd, char *const argv[], char *const envp[])
{
	WITH_FIXED_ENV(envp, env);

	uint64_t old = block_trigger(warn_if_static(fd, "the program exec'ed by descriptor"));

	return unblock_after_failure(real_fexecve(fd, argv, env), old);
}

/* execl, execlp, execle: their arguments as an argv on the stack. */
#define VARARGS_ARGV(first, ap, argv, then_env)                                                    \
	size_t argc_ = 1;                                                                          \
	va_start(ap, first);                                                                       \
	while (va_arg(ap, char *))                                                                 \
		argc_++;                                                                           \
	va_end(ap);                                                                                \
	char *argv[argc_ + 1];                                                                     \
	va_start(ap, first);                                                                       \
	argv[0] = (char *)(first);                                                                 \
	for (size_t i_ = 1; i_ <= argc_; i_++)                                                     \
		argv[i_] = va_arg(ap, char *);                                                     \
	then_env;                                                                                  \
	va_end(ap)

INTERPOSE int execl(const char *path, const char *arg, ...)
{
	va_list ap;

	VARARGS_ARGV(arg, ap, argv, (void)0);
	return execve(path, argv, environ);
}

INTERPOSE int execlp(const char *file, const char *arg, ...)
{
	va_list ap;

	VARARGS_ARGV(arg, ap, argv, (void)0);
	return execvpe(file, argv, environ);
}

INTERPOSE int execle(const char *path, const char *arg, ...)
{
	char *const *envp;
	va_list ap;

	VARARGS_ARGV(arg, ap, argv, envp = va_arg(ap, char *const *));
	return execve(path, argv, envp);
}

INTERPOSE int posix_spawn(pid_t *pid, const char *path, const posix_spawn_file_actions_t *fa,
			  const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	WITH_FIXED_ENV(envp, env);

	check_path(path);
	return real_posix_spawn(pid, path, fa, attr, argv, env);
}

INTERPOSE int posix_spawnp(pid_t *pid, const char *file, const posix_spawn_file_actions_t *fa,
			   const posix_spawnattr_t *attr, char *const argv[], char *const envp[])
{
	WITH_FIXED_ENV(envp, env);

	check_searched(file);
	return real_posix_spawnp(pid, file, fa, attr, argv, env);
}
