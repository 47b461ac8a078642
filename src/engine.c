/* engine.c — see engine.h. */
#include "engine.h"
#include "msg.h"
#include "paths.h"

#include <dlfcn.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct tch_api api; /* filled once; the process uses one shim */
static int loaded;

/*
 * dlopen()s path; NULL with a reason in err when that fails.  Lazy binding,
 * as a program linked against libtorch gets: resolving all of libtorch's
 * symbols up front costs ~60 ms of a ~500 ms load, and a libtorch that does
 * not match the shim fails here anyway, on its soname.
 */
static void *open_shim(const char *path, char *err, size_t errlen)
{
	void *h = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
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

