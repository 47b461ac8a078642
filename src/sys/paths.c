/* paths.c — see paths.h. */
#include "sys/paths.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int path_find(enum path_kind what, char *out, size_t len)
{
	static const char *const shim[] = {"libtinfer_tch.so", "../lib/tinfer/libtinfer_tch.so", NULL};
	static const char *const samples[] = {"../share/tinfer/samples/models.json", "../samples/models.json", NULL};
	const char *const *rel = what == PATH_SHIM ? shim : samples;
	char exe[PATH_MAX], cand[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	const char *dir;

	if (n <= 0) {
		snprintf(out, len, "%s", rel[0]);
		return -1;
	}
	exe[n] = '\0';
	dir = dirname(exe);
	for (; *rel; rel++) {
		snprintf(cand, sizeof cand, "%s/%s", dir, *rel);
		if (access(cand, R_OK) == 0 && realpath(cand, out) && strlen(out) < len)
			return 0;
	}
	snprintf(out, len, "%s/%s", dir, what == PATH_SHIM ? shim[1] : samples[0]);
	return -1;
}
