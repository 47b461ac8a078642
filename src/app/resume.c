/* resume.c — see resume.h. */
#include "app/resume.h"
#include "app/output.h"
#include "sys/msg.h"

#include <errno.h>
#include <limits.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct key {
	uint64_t a, b;              /* a 128-bit hash; (0, 0) marks an empty slot */
};

struct resume {
	struct key *slot;
	size_t cap, n;              /* cap a power of two, n <= cap / 2 */
	long long rows;             /* 1 + the highest "row" of the records kept, 0 if none */
};

static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/*
 * The key of an input: two independent 64-bit hashes of its canonical
 * name ("./" prefixes, "/./" and repeated slashes removed) and det.
 */
static struct key key_of(const char *name, long det)
{
	uint64_t a = 0x243F6A8885A308D3ULL, b = 0x13198A2E03707344ULL;
	const unsigned char *p = (const unsigned char *)name;
	struct key k;
	while (p[0] == '.' && p[1] == '/') {
		p += 2;
		while (*p == '/')
			p++;
	}
	for (; *p; p++) {
		if (*p == '/' && (p[1] == '/' || (p[1] == '.' && p[2] == '/')))
			continue;
		a = (a ^ *p) * 0x100000001B3ULL;
		b = mix(b ^ *p);
	}
	a = mix(a ^ (uint64_t)det);
	b = mix(b + (uint64_t)det * 0x9E3779B97F4A7C15ULL);
	k.a = a, k.b = b;
	if (!k.a && !k.b)
		k.b = 1;
	return k;
}

/* Adds k; 1 when it was new, 0 when present, -1 when out of memory. */
static int add(struct resume *r, struct key k)
{
	size_t i;
	if ((r->n + 1) * 2 > r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 1024;
		struct key *s = calloc(cap, sizeof *s);
		if (!s)
			return -1;
		for (size_t j = 0; j < r->cap; j++)
			if (r->slot[j].a || r->slot[j].b) {
				for (i = r->slot[j].a & (cap - 1); s[i].a || s[i].b; i = (i + 1) & (cap - 1))
					;
				s[i] = r->slot[j];
			}
		free(r->slot);
		r->slot = s;
		r->cap = cap;
	}
	for (i = k.a & (r->cap - 1); r->slot[i].a || r->slot[i].b; i = (i + 1) & (r->cap - 1))
		if (r->slot[i].a == k.a && r->slot[i].b == k.b)
			return 0;
	r->slot[i] = k;
	r->n++;
	return 1;
}

int resume_done(const struct resume *r, const char *name, long det)
{
	struct key k = key_of(name, det);
	if (!r->cap)
		return 0;
	for (size_t i = k.a & (r->cap - 1); r->slot[i].a || r->slot[i].b; i = (i + 1) & (r->cap - 1))
		if (r->slot[i].a == k.a && r->slot[i].b == k.b)
			return 1;
	return 0;
}

size_t resume_bytes(const struct resume *r) { return r->cap * sizeof *r->slot; }

long long resume_rows(const struct resume *r) { return r ? r->rows : -1; }

void resume_free(struct resume *r)
{
	if (r)
		free(r->slot);
	free(r);
}

struct resume *resume_open(const char *path, size_t *done, char *err, size_t errlen)
{
	struct resume *r = calloc(1, sizeof *r);
	char tmp[4096], *line = NULL;
	size_t cap = 0;
	ssize_t n;
	FILE *f, *out = NULL;

	*done = 0;
	if (!r) {
		msg_fmt(err, errlen, "out of memory");
		return NULL;
	}
	if (!(f = fopen(path, "re"))) {
		if (errno == ENOENT)
			return r;
		msg_fmt(err, errlen, "--resume: cannot read '%s': %s", path, strerror(errno));
		free(r);
		return NULL;
	}
	snprintf(tmp, sizeof tmp, "%s.tinfer-resume", path);
	if (!(out = fopen(tmp, "we"))) {
		msg_fmt(err, errlen, "--resume: cannot write '%s': %s", tmp, strerror(errno));
		goto fail;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *rec, *det;
		char *name;
		int keep = 0;
		if (line[n - 1] != '\n') /* torn by a kill: dropped, its input runs again */
			break;
		rec = json_loadb(line, (size_t)n, 0, NULL);
		det = json_object_get(rec, "det");
		if (json_is_true(json_object_get(rec, "ok")) && (name = output_record_input(rec))) {
			int rc = add(r, key_of(name, json_is_integer(det) ? (long)json_integer_value(det) : -1));
			free(name);
			if (rc < 0) {
				json_decref(rec);
				msg_fmt(err, errlen, "--resume: out of memory");
				goto fail;
			}
			keep = rc == 1; /* a second ok record of the same input: dropped */
			if (keep && json_is_integer(json_object_get(rec, "row"))) {
				json_int_t row = json_integer_value(json_object_get(rec, "row"));
				if (row >= r->rows)
					r->rows = row < LLONG_MAX ? row + 1 : LLONG_MAX;
			}
		}
		json_decref(rec);
		if (keep && fwrite(line, 1, (size_t)n, out) != (size_t)n) {
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
	free(line);
	fclose(f);
	*done = r->n;
	return r;
fail:
	if (out) {
		fclose(out);
		unlink(tmp);
	}
	free(line);
	fclose(f);
	resume_free(r);
	return NULL;
}
