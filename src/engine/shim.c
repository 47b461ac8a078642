/* shim.c — see shim.h. */
#include "engine/shim.h"
#include "sys/msg.h"
#include "sys/paths.h"

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <signal.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct tch_api api; /* filled once; the process uses one shim */
static int loaded;

/*
 * libtorch's static initialisers allocate, and throw where nothing can
 * catch when memory is short (a tight ulimit -v): the C++ runtime aborts.
 * While the shim loads, an abort ends the process with one line and exit
 * status 4 instead of a core dump.  Records already written stay written.
 */
static void on_load_abort(int sig)
{
	static const char line[] = "tinfer: libtorch aborted while loading: out of memory (is ulimit -v too low?)\n";
	(void)sig;
	if (write(2, line, sizeof line - 1) < 0)
		_exit(EXIT_OOM);
	_exit(EXIT_OOM);
}

/*
 * dlopen()s path; NULL with a reason in err when that fails.  Lazy binding,
 * as a program linked against libtorch gets: resolving all of libtorch's
 * symbols up front costs ~60 ms of a ~500 ms load, and a libtorch that does
 * not match the shim fails here anyway, on its soname.
 */
static void *open_shim(const char *path, char *err, size_t errlen)
{
	struct sigaction sa = {.sa_handler = on_load_abort}, old;
	void *h;
	sigaction(SIGABRT, &sa, &old);
	h = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
	sigaction(SIGABRT, &old, NULL);
	if (!h)
		msg_fmt(err, errlen, "cannot load the libtorch shim: %s", dlerror());
	return h;
}

const struct tch_api *engine_get(char *err, size_t errlen)
{
	char path[PATH_MAX];
	const char *env = getenv("TINFER_TCH_LIB");
	void *h = NULL;

	if (loaded)
		return &api;
	if (env && *env)
		h = open_shim(env, err, errlen);
	else if (path_find(PATH_SHIM, path, sizeof path) == 0)
		h = open_shim(path, err, errlen);
	else
		msg_fmt(err, errlen, "cannot find the libtorch shim: looked next to the program and at %s", path);
	if (!h)
		return NULL;
#define TCH_RESOLVE(ret, name, args)                                                     \
	*(void **)&api.name = dlsym(h, #name);                                           \
	if (!api.name) {                                                                 \
		msg_fmt(err, errlen, "libtorch shim lacks %s: rebuild tinfer", #name);   \
		dlclose(h);                                                              \
		return NULL;                                                             \
	}
	TCH_API(TCH_RESOLVE)
#undef TCH_RESOLVE
	if (api.tch_abi_version() != TCH_ABI_VERSION) {
		msg_fmt(err, errlen, "libtorch shim has ABI %d, tinfer wants %d: reinstall",
		        api.tch_abi_version(), TCH_ABI_VERSION);
		dlclose(h);
		return NULL;
	}
	loaded = 1;
	return &api;
}


/*
 * The contents of the section called name in the ELF64 file map[0..size),
 * checking every offset against size: into *len, or NULL.
 */
static const char *elf_section(const char *map, size_t size, const char *name, size_t *len)
{
	const Elf64_Ehdr *eh = (const void *)map;
	const Elf64_Shdr *sh, *names;
	if (size < sizeof *eh || memcmp(eh->e_ident, ELFMAG, SELFMAG) || eh->e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh->e_shentsize != sizeof *sh || eh->e_shoff > size || eh->e_shstrndx >= eh->e_shnum ||
	    (size - eh->e_shoff) / sizeof *sh < eh->e_shnum)
		return NULL;
	sh = (const void *)(map + eh->e_shoff);
	names = &sh[eh->e_shstrndx];
	if (names->sh_offset > size || names->sh_size > size - names->sh_offset)
		return NULL;
	for (int i = 0; i < eh->e_shnum; i++) {
		size_t n = strlen(name) + 1;
		if (sh[i].sh_name >= names->sh_size || names->sh_size - sh[i].sh_name < n ||
		    memcmp(map + names->sh_offset + sh[i].sh_name, name, n))
			continue;
		if (sh[i].sh_type == SHT_NOBITS || sh[i].sh_offset > size || sh[i].sh_size > size - sh[i].sh_offset)
			return NULL;
		*len = sh[i].sh_size;
		return map + sh[i].sh_offset;
	}
	return NULL;
}

int engine_built_against(char *buf, size_t len)
{
	char path[PATH_MAX];
	const char *env = getenv("TINFER_TCH_LIB");
	static const char marker[] = TCH_BUILT_MARKER;
	struct stat st;
	const char *map, *sec;
	size_t n, m = sizeof marker - 1;
	int fd, rc = -1;

	if (env && *env)
		snprintf(path, sizeof path, "%s", env);
	else if (path_find(PATH_SHIM, path, sizeof path) < 0)
		return -1;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	/* mapped, only the ELF headers, the section names and the section are read */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
	    (map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0)) != MAP_FAILED) {
		if ((sec = elf_section(map, (size_t)st.st_size, TCH_BUILT_SECTION, &n)) && n > m &&
		    !memcmp(sec, marker, m)) {
			const char *v = sec + m, *end = memchr(v, '\0', n - m);
			if (end && end > v && (size_t)(end - v) < len) {
				memcpy(buf, v, (size_t)(end - v));
				buf[end - v] = '\0';
				rc = 0;
			}
		}
		munmap((void *)map, (size_t)st.st_size);
	}
	close(fd);
	return rc;
}
