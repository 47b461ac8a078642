/*
 * embed.c — output [B, D]: each record gets "embedding" (L2-normalised when
 * the manifest says normalize) and "dim".
 *
 * With --save-dir, the vectors go instead into one DIR/embeddings.npy,
 * float32 [N, D] in record order, and each ok record gets its "row".  The
 * file stays a valid .npy for the records already written whenever the
 * process dies (kill -9): its header has a fixed length (HEADER bytes) with
 * room for any N, and a batch's rows are written and synced before the
 * header's N is rewritten and synced, and both before the records citing
 * them are written.  So at any moment every record's row < the header's N
 * <= the rows on disk.  Rows whose records never got out (a kill, a failed
 * write of the results) are cut off by the next --resume, which continues
 * the numbering after the last row its kept records cite.
 */
#include "formats/npy.h"
#include "sys/msg.h"
#include "tasks/task.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* The header's length: magic, version, length, dict padded (npy_header). */
#define HEADER 128

/* A vector waiting for its batch's commit. */
struct pending {
	json_t *rec;                /* the record it belongs to (a key: not owned) */
	float *v;                   /* D values */
	int64_t dim;
};

struct embed {
	int normalize;              /* "normalize": true */
	const char *save_dir;       /* --save-dir */
	char path[4096];            /* save_dir/embeddings.npy */
	int fd;                     /* open on path, -1 without --save-dir */
	int64_t rows;               /* rows in the file, all cited by written (or about to be) records */
	int64_t dim;                /* D of the rows, 0 while there are none */
	int resumed;                /* dim comes from a resumed file: a mismatch is a usage error */
	struct pending *pend;
	int n_pend, cap_pend;
};

static int embed_open(struct task *t, const struct opts *o, char *err, size_t errlen)
{
	json_t *v = json_object_get(t->spec->entry, "normalize");
	struct embed *e = calloc(1, sizeof *e);
	if (!e) {
		msg_fmt(err, errlen, "out of memory");
		return EXIT_OOM;
	}
	t->state = e;
	e->fd = -1;
	if (v && !json_is_boolean(v)) {
		msg_fmt(err, errlen, "model '%s': \"normalize\" must be true or false", t->spec->name);
		return EXIT_MODEL;
	}
	e->normalize = json_is_true(v);
	e->save_dir = o->save_dir;
	return 0;
}

static void drop_pending(struct embed *e)
{
	for (int i = 0; i < e->n_pend; i++)
		free(e->pend[i].v);
	e->n_pend = 0;
}

static void embed_close(struct task *t)
{
	struct embed *e = t->state;
	if (!e)
		return;
	drop_pending(e);
	free(e->pend);
	if (e->fd >= 0)
		close(e->fd);
	free(e);
}

/* Writes len bytes at off, whatever the short writes.  0, or -1 with errno. */
static int write_at(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;
	while (len) {
		ssize_t w = pwrite(fd, p, len, off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w, len -= (size_t)w, off += w;
	}
	return 0;
}

/* Rewrites the header for rows x dim and syncs it.  0, or -1 with errno. */
static int write_header(struct embed *e)
{
	char h[NPY_HEADER_MAX];
	if (npy_header(h, HEADER, NPY_F32, 2, (const int64_t[]){e->rows, e->dim}) != HEADER)
		return -1;
	if (write_at(e->fd, h, HEADER, 0) < 0 || fdatasync(e->fd) < 0)
		return -1;
	return 0;
}

/*
 * Opens save_dir/embeddings.npy: a new run starts it empty; --resume keeps
 * the rows its kept records cite (rows of them) after checking the file is
 * one of ours, float32 [N, D] with N >= rows, and cuts off the rest.
 */
static int embed_start(struct task *t, long long rows, char *err, size_t errlen)
{
	struct embed *e = t->state;
	unsigned char h[HEADER];
	struct npy_header nh;
	struct stat st;
	char why[ERRLEN];
	ssize_t got;

	if (!e->save_dir)
		return 0;
	snprintf(e->path, sizeof e->path, "%s/embeddings.npy", e->save_dir);
	/* never through a symlink planted there */
	e->fd = open(e->path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0666);
	if (e->fd < 0 || fstat(e->fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		msg_fmt(err, errlen, "--save-dir: '%s': %s", e->path,
		        e->fd < 0 && errno == ELOOP ? "is a symbolic link" : e->fd >= 0 ? "not a regular file" : strerror(errno));
		return EXIT_USAGE;
	}
	/* one writer: shards or runs sharing a folder would mix their rows */
	if (flock(e->fd, LOCK_EX | LOCK_NB) < 0) {
		msg_fmt(err, errlen, "--save-dir: '%s' is being written by another process%s", e->path,
		        errno == EWOULDBLOCK ? " (give each shard its own --save-dir)" : "");
		return EXIT_USAGE;
	}
	if (rows < 0 || (rows == 0 && st.st_size == 0)) /* a new run starts afresh; or nothing to keep */
		goto fresh;
	if (rows > 0 && st.st_size == 0) {
		msg_fmt(err, errlen, "--resume: the records cite %lld rows of '%s', which was missing or empty", rows, e->path);
		return EXIT_USAGE;
	}
	got = pread(e->fd, h, sizeof h, 0);
	if (got < 0) {
		msg_fmt(err, errlen, "--resume: reading '%s': %s", e->path, strerror(errno));
		return EXIT_USAGE;
	}
	if (npy_parse_header(h, (size_t)got, &nh, why, sizeof why) < 0 || nh.offset != HEADER || nh.dtype != NPY_F32 ||
	    nh.swap || nh.fortran || nh.ndim != 2) {
		if (rows == 0) /* not ours, and nothing cites it: replaced */
			goto fresh;
		msg_fmt(err, errlen, "--resume: '%s' is not the float32 [N, D] matrix tinfer writes%s%s", e->path,
		        why[0] ? ": " : "", why[0] ? why : "");
		return EXIT_USAGE;
	}
	if (nh.count > (size_t)(st.st_size - HEADER) / 4) {
		if (rows == 0)
			goto fresh;
		msg_fmt(err, errlen, "--resume: '%s' is cut short: its header claims %lld rows", e->path,
		        (long long)nh.shape[0]);
		return EXIT_USAGE;
	}
	if (rows > nh.shape[0]) {
		msg_fmt(err, errlen, "--resume: the records cite %lld rows of '%s', which holds %lld", rows, e->path,
		        (long long)nh.shape[0]);
		return EXIT_USAGE;
	}
	e->rows = rows;
	e->dim = rows ? nh.shape[1] : 0;
	e->resumed = rows > 0;
	/* rows no kept record cites (their records never got out): cut off */
	if (ftruncate(e->fd, (off_t)(HEADER + e->rows * e->dim * 4)) < 0 || write_header(e) < 0) {
		msg_fmt(err, errlen, "--resume: '%s': %s", e->path, strerror(errno));
		return EXIT_USAGE;
	}
	return 0;
fresh:
	e->rows = e->dim = 0;
	if (ftruncate(e->fd, 0) < 0 || write_header(e) < 0) {
		msg_fmt(err, errlen, "--save-dir: writing '%s': %s", e->path, strerror(errno));
		return EXIT_USAGE;
	}
	return 0;
}

/* Keeps row (dim values, normalised or not) for the commit of the record rec. */
static int stash(struct embed *e, json_t *rec, const float *row, int64_t dim, double norm)
{
	float *v = malloc((size_t)dim * sizeof *v + 1);
	if (!v)
		return -1;
	if (e->n_pend == e->cap_pend) {
		int cap = e->cap_pend ? e->cap_pend * 2 : 16;
		struct pending *p = realloc(e->pend, (size_t)cap * sizeof *p);
		if (!p) {
			free(v);
			return -1;
		}
		e->pend = p;
		e->cap_pend = cap;
	}
	for (int64_t j = 0; j < dim; j++)
		v[j] = norm > 0.0 ? (float)(row[j] / norm) : row[j];
	e->pend[e->n_pend++] = (struct pending){rec, v, dim};
	return 0;
}

static int embed_post(struct task *t, const tch_value *out, struct task_item *items, int n, char *err,
                      size_t errlen)
{
	struct embed *e = t->state;
	int64_t shape[2];
	float *v = task_float_rows(t, out, n, 2, shape, err, errlen);
	if (!v)
		return -1;
	for (int i = 0; i < n; i++) {
		float *row = v + (size_t)i * (size_t)shape[1];
		json_t *arr;
		double norm = 0.0;
		if (task_fail_nonfinite(&items[i], row, (size_t)shape[1]))
			continue;
		if (e->normalize) {
			for (int64_t j = 0; j < shape[1]; j++)
				norm += (double)row[j] * row[j];
			norm = sqrt(norm);
		}
		if (e->fd >= 0) { /* to the file, at the batch's commit */
			if (stash(e, items[i].rec, row, shape[1], norm) < 0) {
				free(v);
				msg_fmt(err, errlen, "out of memory");
				return -1;
			}
			continue;
		}
		arr = json_array();
		for (int64_t j = 0; j < shape[1]; j++)
			json_array_append_new(arr, json_real(norm > 0.0 ? row[j] / norm : (double)row[j]));
		json_object_set_new(items[i].rec, "embedding", arr);
		json_object_set_new(items[i].rec, "dim", json_integer(shape[1]));
	}
	free(v);
	return 0;
}

/* The pending vector of rec, NULL when there is none. */
static struct pending *pending_of(struct embed *e, const json_t *rec)
{
	for (int i = 0; i < e->n_pend; i++)
		if (e->pend[i].rec == rec)
			return &e->pend[i];
	return NULL;
}

/*
 * Appends the batch's vectors to embeddings.npy in record order: rows
 * written and synced, then the header's N rewritten and synced, then each
 * record gets its "row".  A vector of another length than the file's rows
 * fails its input; on a resumed file it is a usage error (the wrong model
 * for that file).
 */
static int embed_commit(struct task *t, struct task_item *items, int n, char *err, size_t errlen)
{
	struct embed *e = t->state;
	float *buf = NULL;
	int64_t first = e->rows, k = 0;
	int rc = 0;

	if (e->fd < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		struct pending *p = items[i].failed ? NULL : pending_of(e, items[i].rec);
		if (!p)
			continue;
		if (!e->dim)
			e->dim = p->dim;
		if (p->dim != e->dim) {
			if (e->resumed) {
				msg_fmt(err, errlen, "--resume: the rows of '%s' have %lld values, model '%s' gives %lld",
				        e->path, (long long)e->dim, t->spec->name, (long long)p->dim);
				rc = EXIT_USAGE;
				goto out;
			}
			msg_fmt(items[i].err, ERRLEN, "embedding has %lld values, the rows of '%s' have %lld",
			        (long long)p->dim, e->path, (long long)e->dim);
			items[i].failed = 1;
			continue;
		}
		if (!buf && !(buf = malloc((size_t)n * (size_t)e->dim * sizeof *buf))) {
			msg_fmt(err, errlen, "out of memory");
			rc = EXIT_OOM;
			goto out;
		}
		memcpy(buf + (size_t)k * (size_t)e->dim, p->v, (size_t)e->dim * sizeof *buf);
		k++;
	}
	if (!k)
		goto out;
	if (write_at(e->fd, buf, (size_t)k * (size_t)e->dim * sizeof *buf,
	             (off_t)(HEADER + first * e->dim * (int64_t)sizeof *buf)) < 0 || fdatasync(e->fd) < 0) {
		msg_fmt(err, errlen, "writing '%s': %s", e->path, strerror(errno));
		rc = EXIT_WRITE;
		goto out;
	}
	e->rows += k;
	if (write_header(e) < 0) {
		msg_fmt(err, errlen, "writing '%s': %s", e->path, strerror(errno));
		rc = EXIT_WRITE;
		goto out;
	}
	for (int i = 0, row = 0; i < n; i++)
		if (!items[i].failed && pending_of(e, items[i].rec)) {
			json_object_set_new(items[i].rec, "row", json_integer(first + row++));
			json_object_set_new(items[i].rec, "dim", json_integer(e->dim));
		}
out:
	free(buf);
	drop_pending(e);
	return rc;
}

const struct task_def embed_task = {
	.name = "embed",
	.inputs = TASK_IN_IMAGE | TASK_IN_TENSOR,
	.options = (const char *const[]){"save-dir", NULL},
	.keys = (const char *const[]){"normalize", NULL},
	.open = embed_open,
	.close = embed_close,
	.post = embed_post,
	.start = embed_start,
	.commit = embed_commit,
};
