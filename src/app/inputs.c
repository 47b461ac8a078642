/* inputs.c — see inputs.h. */
#include "app/inputs.h"
#include "sys/msg.h"

#include <dirent.h>
#include <fcntl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Largest input file read into memory. */
#define MAX_FILE_BYTES ((size_t)2 << 30)

/* Appends path (copied) with an optional error (copied); -1 when out of memory. */
static int add(struct input_list *l, const char *path, const char *error)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;
		char **p = realloc(l->paths, cap * sizeof *p), **e;
		if (!p)
			return -1;
		l->paths = p;
		e = realloc(l->errors, cap * sizeof *e);
		if (!e)
			return -1;
		l->errors = e;
		l->cap = cap;
	}
	l->paths[l->n] = strdup(path);
	l->errors[l->n] = error ? strdup(error) : NULL;
	if (!l->paths[l->n])
		return -1;
	l->n++;
	return 0;
}

static int has_ext(const char *name, const char *const *exts)
{
	const char *dot = strrchr(name, '.');
	if (!dot)
		return 0;
	for (; *exts; exts++)
		if (!strcasecmp(dot + 1, *exts))
			return 1;
	return 0;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Directories being walked, to stop symlink loops. */
struct visit {
	dev_t dev;
	ino_t ino;
	const struct visit *up;
};

/*
 * Adds the files of directory dir, sorted, and with recursive its
 * subdirectories' (each where it sorts).  -1 only when out of memory.
 */
static int add_dir(struct input_list *l, const char *dir, const struct input_opts *io,
                   const struct visit *up)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	struct visit here;
	char **names = NULL, msg[ERRLEN];
	size_t n = 0, cap = 0;
	int rc = 0;

	if (stat(dir, &st) < 0)
		return add(l, dir, msg_fmt(msg, sizeof msg, "%s", strerror(errno)));
	for (const struct visit *v = up; v; v = v->up)
		if (v->dev == st.st_dev && v->ino == st.st_ino)
			return add(l, dir, "directory loop (a symlink points back up)");
	here = (struct visit){st.st_dev, st.st_ino, up};
	if (!(d = opendir(dir)))
		return add(l, dir, msg_fmt(msg, sizeof msg, "cannot read directory: %s", strerror(errno)));
	while ((de = readdir(d))) {
		char *p;
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **g = realloc(names, (cap = cap ? cap * 2 : 64) * sizeof *g);
			if (!g) {
				rc = -1;
				break;
			}
			names = g;
		}
		if (asprintf(&p, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", de->d_name) < 0) {
			rc = -1;
			break;
		}
		names[n++] = p;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof *names, by_name);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0) {
			int isdir = stat(names[i], &st) == 0 && S_ISDIR(st.st_mode);
			if (isdir && io->recursive)
				rc = add_dir(l, names[i], io, &here);
			else if (!isdir && has_ext(names[i], io->exts))
				rc = add(l, names[i], NULL);
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

/*
 * Adds one named input: a file, "-", or a directory.  A named directory that
 * holds no input still gets an entry, with an error, so that nothing named
 * goes without a record.
 */
static int add_operand(struct input_list *l, const char *path, const struct input_opts *io)
{
	struct stat st;
	size_t before = l->n;
	if (strcmp(path, "-") && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		if (add_dir(l, path, io, NULL) < 0)
			return -1;
		if (l->n == before)
			return add(l, path, io->recursive ? "directory holds no input files"
			                                  : "directory holds no input files (use -r for its subdirectories)");
		return 0;
	}
	return add(l, path, NULL);
}

/* Adds every path listed in f (newline- or NUL-separated). */
static int add_list(struct input_list *l, FILE *f, const struct input_opts *io)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int rc = 0;
	while (rc == 0 && (n = getdelim(&line, &cap, io->null_sep ? '\0' : '\n', f)) >= 0) {
		if (!io->null_sep && n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (!io->null_sep && n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n == 0)
			continue;
		rc = add_operand(l, line, io);
	}
	free(line);
	return rc;
}

int inputs_collect(const struct input_opts *io, struct input_list *l, char *err, size_t errlen)
{
	int stdin_bytes = 0;
	memset(l, 0, sizeof *l);
	for (int i = 0; i < io->n_operands; i++) {
		if (!strcmp(io->operands[i], "-") && stdin_bytes++) {
			msg_fmt(err, errlen, "the input - (stdin) can be given only once");
			return -1;
		}
		if (add_operand(l, io->operands[i], io) < 0)
			goto oom;
	}
	if (io->files_from) {
		FILE *f = strcmp(io->files_from, "-") ? fopen(io->files_from, "re") : stdin;
		int rc;
		if (!f) {
			msg_fmt(err, errlen, "--files-from '%s': %s", io->files_from, strerror(errno));
			return -1;
		}
		rc = add_list(l, f, io);
		if (f != stdin)
			fclose(f);
		if (rc < 0)
			goto oom;
	} else if (io->n_operands == 0) {
		if (isatty(STDIN_FILENO)) {
			msg_fmt(err, errlen, "no inputs: give files, directories, -T FILE, or pipe paths in");
			return -1;
		}
		if (add_list(l, stdin, io) < 0)
			goto oom;
	}
	return 0;
oom:
	msg_fmt(err, errlen, "out of memory listing inputs");
	return -1;
}

void inputs_shard(struct input_list *l, size_t i, size_t n)
{
	size_t k = 0;
	for (size_t p = 0; p < l->n; p++) {
		if (p % n == i) {
			l->paths[k] = l->paths[p];
			l->errors[k] = l->errors[p];
			k++;
		} else {
			free(l->paths[p]);
			free(l->errors[p]);
		}
	}
	l->n = k;
}

void inputs_free(struct input_list *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->paths[i]);
		free(l->errors[i]);
	}
	free(l->paths);
	free(l->errors);
	memset(l, 0, sizeof *l);
}

unsigned char *inputs_read(const char *path, size_t *len, char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	size_t cap = 65536, n = 0;
	struct stat st;
	int fd = STDIN_FILENO;

	if (strcmp(path, "-")) {
		if (stat(path, &st) < 0) {
			msg_fmt(err, errlen, "%s", strerror(errno));
			return NULL;
		}
		if (!S_ISREG(st.st_mode)) {
			msg_fmt(err, errlen, S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
			return NULL;
		}
		if ((size_t)st.st_size > MAX_FILE_BYTES) {
			msg_fmt(err, errlen, "file too large (%lld bytes)", (long long)st.st_size);
			return NULL;
		}
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
			msg_fmt(err, errlen, "%s", strerror(errno));
			return NULL;
		}
		cap = (size_t)st.st_size + 1; /* + 1: the read that sees the end */
	}
	for (;;) {
		ssize_t got;
		if (!buf || n == cap) {
			unsigned char *g;
			if (buf)
				cap *= 2;
			if (cap > MAX_FILE_BYTES + 1 || !(g = realloc(buf, cap))) {
				msg_fmt(err, errlen, cap > MAX_FILE_BYTES + 1 ? "input too large" : "out of memory");
				goto fail;
			}
			buf = g;
		}
		got = read(fd, buf + n, cap - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			msg_fmt(err, errlen, "%s", strerror(errno));
			goto fail;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (n == 0) {
		free(buf);
		msg_fmt(err, errlen, "empty file");
		return NULL;
	}
	*len = n;
	return buf;
fail:
	if (fd != STDIN_FILENO)
		close(fd);
	free(buf);
	return NULL;
}
