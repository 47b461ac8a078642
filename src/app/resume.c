/* resume.c — see resume.h. */
#include "app/resume.h"
#include "sys/msg.h"

#include <errno.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* An open-addressing table from input path to its position in the list. */
struct path_index {
	size_t cap;     /* power of two, at least twice the entries */
	size_t *slot;   /* position + 1; 0 = empty */
	char *const *paths;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static int index_build(struct path_index *ix, const struct input_list *in)
{
	ix->cap = 16;
	while (ix->cap < in->n * 2)
		ix->cap *= 2;
	ix->paths = in->paths;
	if (!(ix->slot = calloc(ix->cap, sizeof *ix->slot)))
		return -1;
	for (size_t i = 0; i < in->n; i++) {
		size_t k = hash(in->paths[i]) & (ix->cap - 1);
		while (ix->slot[k])
			k = (k + 1) & (ix->cap - 1);
		ix->slot[k] = i + 1;
	}
	return 0;
}

/* Every position holding path (an input may be listed twice): calls back. */
static void index_each(const struct path_index *ix, const char *path, unsigned char *done, int mark,
                       int *found)
{
	size_t k = hash(path) & (ix->cap - 1);
	*found = 0;
	for (; ix->slot[k]; k = (k + 1) & (ix->cap - 1))
		if (!strcmp(ix->paths[ix->slot[k] - 1], path)) {
			*found = 1;
			if (mark)
				done[ix->slot[k] - 1] = 1;
		}
}

long resume_scan(const char *path, const struct input_list *in, unsigned char *done, char *err,
                 size_t errlen)
{
	struct path_index ix = {0};
	char tmp[4096], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long count = 0;
	FILE *f, *out = NULL;

	if (!(f = fopen(path, "re"))) {
		if (errno == ENOENT)
			return 0;
		msg_fmt(err, errlen, "--resume: cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	snprintf(tmp, sizeof tmp, "%s.tinfer-resume", path);
	if (index_build(&ix, in) < 0 || !(out = fopen(tmp, "we"))) {
		msg_fmt(err, errlen, "--resume: cannot write '%s': %s", tmp, strerror(errno));
		goto fail;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *rec;
		const char *input;
		int ok, found;
		if (line[n - 1] != '\n') /* torn by a kill: dropped, its input runs again */
			break;
		rec = json_loadb(line, (size_t)n, 0, NULL);
		input = json_string_value(json_object_get(rec, "input"));
		ok = json_is_true(json_object_get(rec, "ok"));
		if (input) {
			index_each(&ix, input, done, ok, &found);
			if (found && !ok) {
				json_decref(rec);
				continue; /* retried now: its new record replaces this one */
			}
		}
		json_decref(rec);
		if (fwrite(line, 1, (size_t)n, out) != (size_t)n) {
			msg_fmt(err, errlen, "--resume: writing '%s': %s", tmp, strerror(errno));
			goto fail;
		}
	}
	if (ferror(f) || fflush(out) != 0 || fsync(fileno(out)) != 0) {
		msg_fmt(err, errlen, "--resume: '%s': %s", path, strerror(errno));
		goto fail;
	}
	if (fclose(out) != 0 || rename(tmp, path) != 0) {
		out = NULL;
		msg_fmt(err, errlen, "--resume: replacing '%s': %s", path, strerror(errno));
		goto fail;
	}
	for (size_t i = 0; i < in->n; i++)
		count += done[i];
	free(line);
	free(ix.slot);
	fclose(f);
	return count;
fail:
	if (out) {
		fclose(out);
		unlink(tmp);
	}
	free(line);
	free(ix.slot);
	fclose(f);
	return -1;
}
