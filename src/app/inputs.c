/* inputs.c — see inputs.h. */
#include "app/inputs.h"
#include "app/crops.h"
#include "formats/imgstream.h"
#include "formats/tar.h"
#include "sys/msg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Largest input read into memory: a file, stdin's bytes, a tar member, an image of a stream. */
#define MAX_FILE_BYTES ((size_t)2 << 30)

/* A directory being listed: its sorted entries, one at a time. */
struct dir_frame {
	char **names;               /* full paths */
	size_t n, i;
	dev_t dev;
	ino_t ino;
	char *named;                /* the operand, when the user named this directory; else NULL */
	size_t before;              /* inputs yielded when it started (a named directory with none gets an error) */
};

/* A tar shard being read member by member. */
struct tar_frame {
	struct tar_reader *t;
	int fd;                     /* closed at the end; -1 for stdin */
	char *shard;                /* the shard's name: members are "SHARD/MEMBER" */
	const unsigned char *head;  /* bytes of stdin already read to recognise the tar */
	size_t head_len, head_off;
	unsigned char *head_buf;
	int named;                  /* the user named it (a shard with no input gets an error record) */
	size_t before;              /* inputs yielded when it opened */
};

struct inputs {
	struct input_opts o;
	int next_operand;
	int lists_started;          /* --files-from or stdin's paths opened */
	FILE *list;                 /* paths, one per line (or NUL) */
	int list_is_stdin;
	int list_streaming;
	struct dir_frame dirs[64];  /* directory nesting, with -r */
	int ndirs;
	struct tar_frame tar;       /* at most one shard open at a time */
	int in_tar;
	struct imgstream *stream;
	long frame;                 /* --image-stream: the next image's number in the stream */
	struct crops *crops;
	FILE *crop_file;
	size_t pos;                 /* inputs yielded */
	int stdin_used;
	int done;
};

static int has_ext(const char *name, const char *const *exts)
{
	const char *dot = strrchr(name, '.');
	if (!dot || strchr(dot, '/'))
		return 0;
	for (; *exts; exts++)
		if (!strcasecmp(dot + 1, *exts))
			return 1;
	return 0;
}

static int is_tar_name(const char *name)
{
	size_t n = strlen(name);
	return n > 4 && !strcasecmp(name + n - 4, ".tar");
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Fills in the next position and hands out name (owned now) and error (copied). */
static int yield(struct inputs *l, struct input *in, char *name, const char *error)
{
	in->pos = l->pos++;
	in->name = name;
	in->det = -1;
	if (error)
		in->error = strdup(error);
	return 1;
}

static ssize_t fd_read(void *ctx, void *buf, size_t n)
{
	struct tar_frame *f = ctx;
	ssize_t got;
	if (f->head_off < f->head_len) { /* what was read to recognise the archive comes first */
		size_t k = f->head_len - f->head_off < n ? f->head_len - f->head_off : n;
		memcpy(buf, f->head + f->head_off, k);
		f->head_off += k;
		return (ssize_t)k;
	}
	do
		got = read(f->fd < 0 ? STDIN_FILENO : f->fd, buf, n);
	while (got < 0 && errno == EINTR);
	return got;
}

/* Starts reading a tar shard from fd (-1: stdin, with its first head_len bytes in head); named: by the user. */
static int open_tar(struct inputs *l, const char *shard, int named, int fd, unsigned char *head, size_t head_len)
{
	struct tar_frame *f = &l->tar;
	memset(f, 0, sizeof *f);
	f->fd = fd;
	f->named = named;
	f->before = l->pos;
	f->head = f->head_buf = head;
	f->head_len = head_len;
	if (!(f->shard = strdup(shard)) || !(f->t = tar_open((struct byte_src){fd_read, f}))) {
		free(f->shard);
		free(head);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	l->in_tar = 1;
	return 0;
}

static void close_tar(struct inputs *l)
{
	tar_close(l->tar.t);
	if (l->tar.fd >= 0)
		close(l->tar.fd);
	free(l->tar.shard);
	free(l->tar.head_buf);
	memset(&l->tar, 0, sizeof l->tar);
	l->in_tar = 0;
}

/* The next member of the open shard that is an input; 0 when the shard is done. */
static int next_member(struct inputs *l, struct input *in)
{
	struct tar_frame *f = &l->tar;
	for (;;) {
		struct tar_member m;
		char err[ERRLEN], *name;
		const char *base;
		int rc = tar_next(f->t, &m, err, sizeof err);
		if (rc <= 0) {
			int none = rc == 0 && f->named && l->pos == f->before;
			char *shard = rc < 0 || none ? strdup(f->shard) : NULL;
			close_tar(l);
			if (none)
				return yield(l, in, shard, "tar shard holds no input files");
			return rc < 0 ? yield(l, in, shard, err) : 0;
		}
		base = strrchr(m.name, '/') ? strrchr(m.name, '/') + 1 : m.name;
		if (!m.regular || !has_ext(m.name, l->o.exts) || base[0] == '.') {
			if (tar_skip(f->t, err, sizeof err) < 0) {
				char *shard = strdup(f->shard);
				close_tar(l);
				return yield(l, in, shard, err);
			}
			continue;
		}
		if (asprintf(&name, "%s/%s", f->shard, m.name) < 0)
			return yield(l, in, strdup(f->shard), "out of memory");
		if (is_tar_name(m.name)) { /* one level of shards: a tar in a tar is reported, not read */
			if (tar_skip(f->t, err, sizeof err) < 0)
				return yield(l, in, name, err);
			return yield(l, in, name, "a tar shard inside a tar shard is not read");
		}
		in->data = tar_read(f->t, MAX_FILE_BYTES, &in->len, err, sizeof err);
		return yield(l, in, name, in->data ? NULL : err);
	}
}

/* Lists directory path into a new frame (named: the operand that named it, else NULL). */
static int push_dir(struct inputs *l, const char *path, const char *named, struct input *in)
{
	struct dir_frame *d;
	struct stat st;
	struct dirent *de;
	DIR *dh;
	char msg[ERRLEN];
	size_t cap = 0;

	if (stat(path, &st) < 0)
		return yield(l, in, strdup(path), msg_fmt(msg, sizeof msg, "%s", strerror(errno)));
	for (int k = 0; k < l->ndirs; k++)
		if (l->dirs[k].dev == st.st_dev && l->dirs[k].ino == st.st_ino)
			return yield(l, in, strdup(path), "directory loop (a symlink points back up)");
	if (l->ndirs == (int)(sizeof l->dirs / sizeof l->dirs[0]))
		return yield(l, in, strdup(path), "directories nested too deep");
	if (!(dh = opendir(path)))
		return yield(l, in, strdup(path), msg_fmt(msg, sizeof msg, "cannot read directory: %s", strerror(errno)));
	d = &l->dirs[l->ndirs];
	memset(d, 0, sizeof *d);
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	d->named = named ? strdup(named) : NULL;
	d->before = l->pos;
	while ((de = readdir(dh))) {
		char *p;
		if (de->d_name[0] == '.')
			continue;
		if (d->n == cap) {
			char **g = realloc(d->names, (cap = cap ? cap * 2 : 64) * sizeof *g);
			if (!g)
				break;
			d->names = g;
		}
		if (asprintf(&p, "%s%s%s", path, path[strlen(path) - 1] == '/' ? "" : "/", de->d_name) < 0)
			break;
		d->names[d->n++] = p;
	}
	closedir(dh);
	if (d->n)
		qsort(d->names, d->n, sizeof *d->names, by_name);
	l->ndirs++;
	return 0;
}

static void pop_dir(struct inputs *l)
{
	struct dir_frame *d = &l->dirs[--l->ndirs];
	for (size_t i = d->i; i < d->n; i++)
		free(d->names[i]);
	free(d->names);
	free(d->named);
}

/*
 * One named input: a file, a tar shard, or a directory (listed).  Yields
 * an input (1) or opens what yields them next (0).
 */
static int operand(struct inputs *l, const char *path, const char *named, struct input *in)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return push_dir(l, path, named, in);
	if (is_tar_name(path) && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		char msg[ERRLEN];
		if (fd < 0)
			return yield(l, in, strdup(path), msg_fmt(msg, sizeof msg, "%s", strerror(errno)));
		if (open_tar(l, path, named != NULL, fd, NULL, 0) < 0)
			return yield(l, in, strdup(path), "out of memory");
		return 0;
	}
	return yield(l, in, strdup(path), NULL);
}

/* "-": stdin's bytes.  A tar shard is read member by member, anything else whole. */
static int stdin_operand(struct inputs *l, struct input *in)
{
	unsigned char *head = malloc(512);
	size_t n = 0;
	char err[ERRLEN];
	if (!head)
		return yield(l, in, strdup("-"), "out of memory");
	while (n < 512) {
		ssize_t got = read(STDIN_FILENO, head + n, 512 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		n += (size_t)got;
	}
	if (n == 512 && tar_is_header(head)) {
		if (open_tar(l, "-", 1, -1, head, n) < 0)
			return yield(l, in, strdup("-"), "out of memory");
		return 0;
	}
	/* the rest of stdin after what was read to look at it */
	{
		unsigned char *rest = inputs_read("-", &in->len, err, sizeof err), *all;
		if (!rest && n == 0) {
			free(head);
			return yield(l, in, strdup("-"), err);
		}
		if (!rest)
			in->len = 0;
		if (!(all = malloc(n + in->len + 1))) {
			free(head);
			free(rest);
			return yield(l, in, strdup("-"), "out of memory");
		}
		memcpy(all, head, n);
		if (rest)
			memcpy(all + n, rest, in->len);
		in->len += n;
		in->data = all;
		free(head);
		free(rest);
		return yield(l, in, strdup("-"), NULL);
	}
}

struct inputs *inputs_open(const struct input_opts *o, char *err, size_t errlen)
{
	struct inputs *l = calloc(1, sizeof *l);
	int dash = 0;
	if (!l) {
		msg_fmt(err, errlen, "out of memory");
		return NULL;
	}
	l->o = *o;
	for (int i = 0; i < o->n_operands; i++)
		if (!strcmp(o->operands[i], "-") && dash++) {
			msg_fmt(err, errlen, "the input - (stdin) can be given only once");
			goto fail;
		}
	if (o->image_stream) {
		if (o->n_operands || o->files_from) {
			msg_fmt(err, errlen, "--image-stream reads stdin: give no inputs and no --files-from");
			goto fail;
		}
		if (!(l->stream = imgstream_open((struct byte_src){fd_read, &l->tar}))) {
			msg_fmt(err, errlen, "out of memory");
			goto fail;
		}
		l->tar.fd = -1;
		return l;
	}
	if (o->crop_from) {
		if (o->n_operands || o->files_from) {
			msg_fmt(err, errlen, "--crop-from takes its inputs from the records: give no inputs and no --files-from");
			goto fail;
		}
		l->crop_file = strcmp(o->crop_from, "-") ? fopen(o->crop_from, "re") : stdin;
		if (!l->crop_file) {
			msg_fmt(err, errlen, "--crop-from '%s': %s", o->crop_from, strerror(errno));
			goto fail;
		}
		if (!(l->crops = crops_open(l->crop_file, strcmp(o->crop_from, "-") ? o->crop_from : "stdin", o->crop_pad))) {
			msg_fmt(err, errlen, "out of memory");
			goto fail;
		}
		return l;
	}
	if (o->files_from) {
		l->list_is_stdin = !strcmp(o->files_from, "-");
		if (!(l->list = l->list_is_stdin ? stdin : fopen(o->files_from, "re"))) {
			msg_fmt(err, errlen, "--files-from '%s': %s", o->files_from, strerror(errno));
			goto fail;
		}
	} else if (o->n_operands == 0) {
		if (isatty(STDIN_FILENO)) {
			msg_fmt(err, errlen, "no inputs: give files, directories, -T FILE, or pipe paths in");
			goto fail;
		}
		l->list = stdin;
		l->list_is_stdin = 1;
	}
	if (l->list) {
		struct stat st;
		l->list_streaming = fstat(fileno(l->list), &st) == 0 && !S_ISREG(st.st_mode);
	}
	return l;
fail:
	if (l->crop_file && l->crop_file != stdin)
		fclose(l->crop_file);
	free(l);
	return NULL;
}

int inputs_streaming(const struct inputs *l)
{
	if (l->crops)
		return crops_streaming(l->crops);
	return l->stream || (l->in_tar && l->tar.fd < 0) || (l->list && l->list_streaming && !l->ndirs);
}

/* The next path of the list (newline- or NUL-separated), malloc'd; NULL at its end or on error (*bad). */
static char *next_listed(struct inputs *l, char *err, size_t errlen, int *bad)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	*bad = 0;
	while ((n = getdelim(&line, &cap, l->o.null_sep ? '\0' : '\n', l->list)) >= 0) {
		if (!l->o.null_sep && memchr(line, '\0', (size_t)n)) {
			msg_fmt(err, errlen, "the list of inputs holds NUL bytes: paths separated by NUL need -0");
			*bad = 1;
			free(line);
			return NULL;
		}
		if (!l->o.null_sep && n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (!l->o.null_sep && n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n > 0)
			return line;
	}
	free(line);
	return NULL;
}

int inputs_next(struct inputs *l, struct input *in, char *err, size_t errlen)
{
	memset(in, 0, sizeof *in);
	in->det = -1;
	while (!l->done) {
		if (l->in_tar) {
			if (next_member(l, in))
				return 1;
			continue;
		}
		if (l->ndirs) {
			struct dir_frame *d = &l->dirs[l->ndirs - 1];
			struct stat st;
			char *p;
			if (d->i == d->n) {
				char *named = d->named;
				int none = l->pos == d->before;
				d->named = NULL;
				pop_dir(l);
				if (named && none)
					return yield(l, in, named,
					             l->o.recursive ? "directory holds no input files"
					                            : "directory holds no input files (use -r for its subdirectories)");
				free(named);
				continue;
			}
			p = d->names[d->i++];
			if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
				int rc = l->o.recursive ? push_dir(l, p, NULL, in) : 0;
				free(p);
				if (rc)
					return rc;
				continue;
			}
			if (!has_ext(p, l->o.exts)) {
				free(p);
				continue;
			}
			if (is_tar_name(p)) {
				int rc = operand(l, p, NULL, in);
				free(p);
				if (rc)
					return rc;
				continue;
			}
			return yield(l, in, p, NULL);
		}
		if (l->stream) {
			char why[ERRLEN];
			unsigned char *buf = NULL;
			size_t len = 0;
			int rc = imgstream_next(l->stream, MAX_FILE_BYTES, &buf, &len, why, sizeof why);
			long frame = l->frame++;
			char *name;
			if (rc == 0) {
				l->done = 1;
				break;
			}
			if (rc < 0)
				l->done = 1; /* a stream cut mid-image ends with that image's error */
			if (frame % (l->o.every > 0 ? l->o.every : 1) && rc > 0) {
				free(buf);
				continue;
			}
			if (asprintf(&name, "-#%ld", frame) < 0) {
				free(buf);
				return yield(l, in, strdup("-"), "out of memory");
			}
			if (rc < 0) {
				free(buf);
				return yield(l, in, name, why);
			}
			in->data = buf;
			in->len = len;
			return yield(l, in, name, NULL);
		}
		if (l->crops) {
			if (crops_next(l->crops, in)) {
				in->pos = l->pos++;
				return 1;
			}
			l->done = 1;
			break;
		}
		if (l->next_operand < l->o.n_operands) {
			const char *p = l->o.operands[l->next_operand++];
			int rc = strcmp(p, "-") ? operand(l, p, p, in) : stdin_operand(l, in);
			if (rc)
				return rc;
			continue;
		}
		if (l->list) {
			int bad;
			char *p = next_listed(l, err, errlen, &bad);
			int rc;
			if (bad)
				return -1;
			if (!p) {
				if (!l->list_is_stdin)
					fclose(l->list);
				l->list = NULL;
				l->done = 1;
				break;
			}
			if (!strcmp(p, "-")) {
				free(p);
				if (l->list_is_stdin)
					return yield(l, in, strdup("-"), "the input - (stdin) is the list of inputs itself");
				rc = stdin_operand(l, in);
			} else {
				rc = operand(l, p, p, in);
				free(p);
			}
			if (rc)
				return rc;
			continue;
		}
		l->done = 1;
	}
	return 0;
}

void input_free(struct input *in)
{
	free(in->name);
	free(in->data);
	free(in->error);
	crop_free(in->crop);
	memset(in, 0, sizeof *in);
	in->det = -1;
}

void inputs_close(struct inputs *l)
{
	if (!l)
		return;
	while (l->ndirs)
		pop_dir(l);
	if (l->in_tar)
		close_tar(l);
	imgstream_close(l->stream);
	crops_close(l->crops);
	if (l->crop_file && l->crop_file != stdin)
		fclose(l->crop_file);
	if (l->list && !l->list_is_stdin)
		fclose(l->list);
	free(l);
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
