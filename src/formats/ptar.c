/*
 * ptar.c — TorchScript archive metadata without libtorch (see ptar.h).
 *
 * Only the end of the file, the zip central directory and the small records
 * asked for (data.pkl, constants.pkl, extra files) are read; weights are never
 * touched.  Every offset and size read from the file is checked against the
 * file's real size before it is used, so a hostile archive fails with a
 * message instead of over-reading or allocating what it claims.
 */
#include "formats/ptar.h"
#include "sys/msg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define EOCD_SIZE 22
#define EOCD64_SIZE 56
#define LOC64_SIZE 20
#define CDH_SIZE 46
#define LFH_SIZE 30
#define MAX_COMMENT 65535

#define MAX_CD_BYTES (512u << 20)       /* central directory read into memory */
#define MAX_RECORDS (1 << 20)           /* storage records remembered */
#define MAX_SMALL_FILE (64u << 20)      /* pickles and extra files */
#define MAX_PICKLE_STACK (1 << 20)
#define MAX_PICKLE_MEMO (1 << 22)

/* Where the archive's bytes come from: a file descriptor or a memory buffer. */
struct src {
	int fd;
	const unsigned char *mem;
	uint64_t size;
};

/* One zip entry as the central directory describes it. */
struct entry {
	const char *name;       /* points into the central directory buffer */
	size_t nlen;
	uint16_t method;
	uint32_t crc;
	uint64_t csize, usize, lho;
};

/* A storage record <root>/data/<key> or <root>/constants/<key>. */
struct record {
	int pkl;                /* 0: data.pkl / data/, 1: constants.pkl / constants/ */
	const char *key;
	size_t klen;
	uint64_t size;
};

/* The central directory, read and walked once. */
struct zdir {
	unsigned char *cd;      /* owned */
	uint64_t cd_size, cd_off, n_entries;
	const char *root;       /* points into cd */
	size_t rlen;
};

static uint16_t le16(const unsigned char *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const unsigned char *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

/*
 * Reads n bytes at off into buf.  Returns 0, or -1 with err set when the
 * range lies outside the archive or the read fails.
 */
static int read_at(const struct src *s, uint64_t off, void *buf, size_t n, char *err, size_t errlen)
{
	if (off > s->size || n > s->size - off) {
		msg_fmt(err, errlen, "truncated TorchScript archive");
		return -1;
	}
	if (s->mem) {
		memcpy(buf, s->mem + off, n);
		return 0;
	}
	unsigned char *p = buf;
	while (n > 0) {
		ssize_t r = pread(s->fd, p, n, (off_t)off);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			msg_fmt(err, errlen, "cannot read: %s", r < 0 ? strerror(errno) : "unexpected end of file");
			return -1;
		}
		p += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

/*
 * Finds the end of central directory (and its ZIP64 counterpart) and reads
 * the whole central directory into z->cd.  Returns 0, or -1 with err set.
 */
static int read_cd(const struct src *s, struct zdir *z, char *err, size_t errlen)
{
	static const char NOZIP[] = "not a TorchScript archive (no zip directory)";
	uint64_t tail_len = s->size < EOCD_SIZE + MAX_COMMENT ? s->size : EOCD_SIZE + MAX_COMMENT;
	if (tail_len < EOCD_SIZE) {
		msg_fmt(err, errlen, NOZIP);
		return -1;
	}
	unsigned char *tail = malloc(tail_len);
	if (!tail) {
		msg_fmt(err, errlen, "out of memory");
		return -1;
	}
	uint64_t tail_off = s->size - tail_len;
	if (read_at(s, tail_off, tail, tail_len, err, errlen) < 0) {
		free(tail);
		return -1;
	}
	size_t pos = (size_t)tail_len - EOCD_SIZE;
	bool found = false;
	for (;;) {
		if (memcmp(tail + pos, "PK\5\6", 4) == 0 && pos + EOCD_SIZE + le16(tail + pos + 20) <= tail_len) {
			found = true;
			break;
		}
		if (pos == 0)
			break;
		pos--;
	}
	if (!found) {
		free(tail);
		msg_fmt(err, errlen, NOZIP);
		return -1;
	}
	const unsigned char *e = tail + pos;
	uint64_t eocd_off = tail_off + pos;
	uint64_t n = le16(e + 10), size = le32(e + 12), off = le32(e + 16);
	uint64_t limit = eocd_off;      /* the central directory ends before this */
	free(tail);

	unsigned char loc[LOC64_SIZE];
	if (eocd_off >= LOC64_SIZE && read_at(s, eocd_off - LOC64_SIZE, loc, sizeof loc, err, errlen) == 0 &&
	    memcmp(loc, "PK\6\7", 4) == 0) {
		uint64_t off64 = le64(loc + 8);
		unsigned char r[EOCD64_SIZE];
		if (off64 > eocd_off - LOC64_SIZE || eocd_off - LOC64_SIZE - off64 < EOCD64_SIZE ||
		    read_at(s, off64, r, sizeof r, err, errlen) < 0 || memcmp(r, "PK\6\6", 4) != 0) {
			msg_fmt(err, errlen, "corrupt zip64 end of central directory");
			return -1;
		}
		n = le64(r + 32);
		size = le64(r + 40);
		off = le64(r + 48);
		limit = off64;
	}
	/* without a ZIP64 record, 0xffff... values are taken at face value (and checked below) */
	if (off > limit || size > limit - off) {
		msg_fmt(err, errlen, "corrupt zip: central directory out of bounds");
		return -1;
	}
	if (size > MAX_CD_BYTES) {
		msg_fmt(err, errlen, "zip central directory too large (%llu bytes)", (unsigned long long)size);
		return -1;
	}
	if (n > size / CDH_SIZE) {
		msg_fmt(err, errlen, "corrupt zip: %llu entries cannot fit in the central directory",
		       (unsigned long long)n);
		return -1;
	}
	z->cd = malloc(size ? size : 1);
	if (!z->cd) {
		msg_fmt(err, errlen, "out of memory");
		return -1;
	}
	if (read_at(s, off, z->cd, (size_t)size, err, errlen) < 0) {
		free(z->cd);
		z->cd = NULL;
		return -1;
	}
	z->cd_size = size;
	z->cd_off = off;
	z->n_entries = n;
	return 0;
}

/*
 * Decodes the central directory entry at *pos and advances *pos past it.
 * Returns 1 for an entry, 0 at the end of the directory, -1 with err set on
 * a corrupt entry.
 */
static int next_entry(const struct zdir *z, uint64_t *pos, uint64_t *index, struct entry *en, char *err,
		      size_t errlen)
{
	if (*index >= z->n_entries)
		return 0;
	const unsigned char *p = z->cd + *pos;
	uint64_t left = z->cd_size - *pos;
	if (left < CDH_SIZE || memcmp(p, "PK\1\2", 4) != 0) {
		msg_fmt(err, errlen, "corrupt zip central directory");
		return -1;
	}
	uint64_t nlen = le16(p + 28), xlen = le16(p + 30), clen = le16(p + 32);
	if (CDH_SIZE + nlen + xlen + clen > left) {
		msg_fmt(err, errlen, "corrupt zip central directory");
		return -1;
	}
	en->name = (const char *)p + CDH_SIZE;
	en->nlen = (size_t)nlen;
	en->method = le16(p + 10);
	en->crc = le32(p + 16);
	en->csize = le32(p + 20);
	en->usize = le32(p + 24);
	en->lho = le32(p + 42);
	/* ZIP64 extended information: present fields follow in a fixed order */
	const unsigned char *x = p + CDH_SIZE + nlen, *xend = x + xlen;
	while (xend - x >= 4) {
		uint16_t id = le16(x), sz = le16(x + 2);
		if (sz > xend - x - 4)
			break;
		if (id == 0x0001) {
			const unsigned char *f = x + 4, *fend = f + sz;
			uint64_t *fields[3] = {&en->usize, &en->csize, &en->lho};
			for (int i = 0; i < 3; i++) {
				if (*fields[i] != 0xffffffff)
					continue;
				if (fend - f < 8) {
					msg_fmt(err, errlen, "corrupt zip64 extra field");
					return -1;
				}
				*fields[i] = le64(f);
				f += 8;
			}
		}
		x += 4 + sz;
	}
	*pos += CDH_SIZE + nlen + xlen + clen;
	(*index)++;
	return 1;
}

/* True when the entry's name is <root>/<rest>; *rest and *rlen give the rest. */
static bool under_root(const struct zdir *z, const struct entry *en, const char **rest, size_t *rlen)
{
	if (en->nlen <= z->rlen || memcmp(en->name, z->root, z->rlen) != 0 || en->name[z->rlen] != '/')
		return false;
	*rest = en->name + z->rlen + 1;
	*rlen = en->nlen - z->rlen - 1;
	return true;
}

static bool has_prefix(const char *s, size_t n, const char *pre, const char **tail, size_t *tlen)
{
	size_t pl = strlen(pre);
	if (n < pl || memcmp(s, pre, pl) != 0)
		return false;
	*tail = s + pl;
	*tlen = n - pl;
	return true;
}

static bool is_name(const char *s, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(s, want, n) == 0;
}

/*
 * Reads the contents of a (stored or deflated) entry into a malloc'd buffer
 * with a NUL after the data.  Returns it, or NULL with err set.
 */
static unsigned char *read_entry(const struct src *s, const struct zdir *z, const struct entry *en, size_t *len,
				 char *err, size_t errlen)
{
	unsigned char lfh[LFH_SIZE];
	if (en->usize > MAX_SMALL_FILE) {
		msg_fmt(err, errlen, "zip entry too large (%llu bytes)", (unsigned long long)en->usize);
		return NULL;
	}
	if (en->lho > z->cd_off || read_at(s, en->lho, lfh, sizeof lfh, err, errlen) < 0 ||
	    memcmp(lfh, "PK\3\4", 4) != 0) {
		msg_fmt(err, errlen, "corrupt zip: bad local header");
		return NULL;
	}
	uint64_t data = en->lho + LFH_SIZE + le16(lfh + 26) + le16(lfh + 28);
	if (data > z->cd_off || en->csize > z->cd_off - data) {
		msg_fmt(err, errlen, "corrupt zip: entry data out of bounds");
		return NULL;
	}
	if (en->method == 0 && en->csize != en->usize) {
		msg_fmt(err, errlen, "corrupt zip: stored entry sizes differ");
		return NULL;
	}
	if (en->method != 0 && en->method != 8) {
		msg_fmt(err, errlen, "unsupported zip compression method %u", en->method);
		return NULL;
	}
	/* deflate cannot expand by more than about 1032:1 */
	if (en->method == 8 && en->usize / 1032 > en->csize + 1) {
		msg_fmt(err, errlen, "corrupt zip: impossible compression ratio");
		return NULL;
	}
	unsigned char *out = malloc((size_t)en->usize + 1);
	unsigned char *in = en->method == 8 ? malloc(en->csize ? (size_t)en->csize : 1) : out;
	if (!out || !in) {
		msg_fmt(err, errlen, "out of memory");
		goto fail;
	}
	if (read_at(s, data, in, (size_t)en->csize, err, errlen) < 0)
		goto fail;
	if (en->method == 8) {
		z_stream zs;
		memset(&zs, 0, sizeof zs);
		if (inflateInit2(&zs, -MAX_WBITS) != Z_OK) {
			msg_fmt(err, errlen, "zlib initialisation failed");
			goto fail;
		}
		zs.next_in = in;
		zs.avail_in = (uInt)en->csize;
		zs.next_out = out;
		zs.avail_out = (uInt)en->usize;
		int rc = inflate(&zs, Z_FINISH);
		uint64_t got = zs.total_out;
		inflateEnd(&zs);
		if (rc != Z_STREAM_END || got != en->usize) {
			msg_fmt(err, errlen, "corrupt zip: bad deflate data");
			goto fail;
		}
		free(in);
		in = NULL;
	}
	if (crc32(0L, out, (uInt)en->usize) != en->crc) {
		msg_fmt(err, errlen, "corrupt zip: CRC mismatch");
		goto fail;
	}
	out[en->usize] = '\0';
	*len = (size_t)en->usize;
	return out;
fail:
	if (in != out)
		free(in);
	free(out);
	return NULL;
}

/* ---- a minimal pickle walker -------------------------------------------- */

enum pkind { PK_OTHER, PK_MARK, PK_STR, PK_GLOBAL, PK_TUPLE };

/* A value as far as persistent ids need it: strings and globals point into the pickle. */
struct pv {
	enum pkind kind;
	const char *a, *b;      /* string / global module; global name */
	size_t alen, blen;
};

struct pval {
	struct pv v;
	size_t tlen;            /* tuples: length, and their first three items */
	struct pv t[3];
};

/* storage key -> whether its dtype is floating point */
struct keytype {
	int pkl;
	const char *key;
	size_t klen;
	bool is_float;
};

struct keymap {
	struct keytype *k;
	size_t n, cap;
};

/*
 * Classifies a torch storage class name.  Returns 1 for floating point, 0 for
 * other typed storages, -1 for untyped storages and anything else.
 */
static int storage_is_float(const char *name, size_t n)
{
	static const char *const floats[] = {"FloatStorage", "DoubleStorage", "HalfStorage", "BFloat16Storage"};
	for (size_t i = 0; i < sizeof floats / sizeof floats[0]; i++)
		if (is_name(name, n, floats[i]))
			return 1;
	if (n >= 6 && memcmp(name, "Float8", 6) == 0)
		return 1;
	if (is_name(name, n, "UntypedStorage"))
		return -1;
	if (n > 7 && memcmp(name + n - 7, "Storage", 7) == 0)
		return 0;
	return -1;
}

/* Records ('storage', torch.XStorage, key, ...) from a BINPERSID.  Returns 0, -1 on a malformed id. */
static int note_persid(const struct pval *top, int pkl, struct keymap *m)
{
	if (top->v.kind != PK_TUPLE || top->tlen < 3)
		return -1;
	const struct pv *t = top->t;
	if (t[0].kind != PK_STR || !is_name(t[0].a, t[0].alen, "storage"))
		return 0;       /* some other persistent id: not ours to judge */
	if (t[1].kind != PK_GLOBAL || t[2].kind != PK_STR || !is_name(t[1].a, t[1].alen, "torch"))
		return -1;
	int f = storage_is_float(t[1].b, t[1].blen);
	if (f < 0)
		return -1;
	if (m->n == m->cap) {
		if (m->cap >= MAX_RECORDS)
			return -1;
		size_t cap = m->cap ? m->cap * 2 : 64;
		struct keytype *nk = realloc(m->k, cap * sizeof *nk);
		if (!nk)
			return -1;
		m->k = nk;
		m->cap = cap;
	}
	m->k[m->n++] = (struct keytype){pkl, t[2].a, t[2].alen, f == 1};
	return 0;
}

/* The pickle machine's state; everything it owns is freed by pk_free. */
struct pk {
	struct pval *st;
	size_t n, cap;
	struct pval *memo;
	size_t nmemo;           /* allocated memo slots */
	bool *memo_set;
	size_t memo_next;       /* MEMOIZE index */
};

static void pk_free(struct pk *k)
{
	free(k->st);
	free(k->memo);
	free(k->memo_set);
}

static int push(struct pk *k, struct pval v)
{
	if (k->n == k->cap) {
		if (k->cap >= MAX_PICKLE_STACK)
			return -1;
		size_t cap = k->cap ? k->cap * 2 : 64;
		struct pval *ns = realloc(k->st, cap * sizeof *ns);
		if (!ns)
			return -1;
		k->st = ns;
		k->cap = cap;
	}
	k->st[k->n++] = v;
	return 0;
}

static int push_kind(struct pk *k, enum pkind kind)
{
	struct pval v = {{kind, NULL, NULL, 0, 0}, 0, {{0}}};
	return push(k, v);
}

static int pop(struct pk *k, size_t n)
{
	if (k->n < n)
		return -1;
	k->n -= n;
	return 0;
}

/* Index of the topmost MARK, or -1. */
static long find_mark(const struct pk *k)
{
	for (size_t i = k->n; i > 0; i--)
		if (k->st[i - 1].v.kind == PK_MARK)
			return (long)(i - 1);
	return -1;
}

/* Replaces the items from stack index from to the top by one tuple of them. */
static int make_tuple(struct pk *k, size_t from, bool drop_mark)
{
	struct pval t = {{PK_TUPLE, NULL, NULL, 0, 0}, k->n - from, {{0}}};
	for (size_t i = 0; i < 3 && from + i < k->n; i++)
		t.t[i] = k->st[from + i].v;
	k->n = drop_mark ? from - 1 : from;
	return push(k, t);
}

static int memo_put(struct pk *k, uint64_t idx)
{
	if (k->n == 0 || idx >= MAX_PICKLE_MEMO)
		return -1;
	if (idx >= k->nmemo) {
		size_t cap = k->nmemo ? k->nmemo : 64;
		while (cap <= idx)
			cap *= 2;
		struct pval *nm = realloc(k->memo, cap * sizeof *nm);
		if (!nm)
			return -1;
		k->memo = nm;
		bool *ns = realloc(k->memo_set, cap * sizeof *ns);
		if (!ns)
			return -1;
		k->memo_set = ns;
		memset(k->memo_set + k->nmemo, 0, (cap - k->nmemo) * sizeof *ns);
		k->nmemo = cap;
	}
	k->memo[idx] = k->st[k->n - 1];
	k->memo_set[idx] = true;
	return 0;
}

static int memo_get(struct pk *k, uint64_t idx)
{
	if (idx >= k->nmemo || !k->memo_set[idx])
		return -1;
	return push(k, k->memo[idx]);
}

/* Reads an n-byte little-endian length/argument at *p; -1 when past end. */
static int arg(const unsigned char **p, const unsigned char *end, size_t n, uint64_t *v)
{
	if ((size_t)(end - *p) < n)
		return -1;
	*v = 0;
	for (size_t i = 0; i < n; i++)
		*v |= (uint64_t)(*p)[i] << (8 * i);
	*p += n;
	return 0;
}

/* Reads a newline-terminated text argument at *p; -1 when past end. */
static int line(const unsigned char **p, const unsigned char *end, const char **s, size_t *n)
{
	const unsigned char *nl = memchr(*p, '\n', (size_t)(end - *p));
	if (!nl)
		return -1;
	*s = (const char *)*p;
	*n = (size_t)(nl - *p);
	*p = nl + 1;
	return 0;
}

/* Parses a decimal memo index from a text argument. */
static int text_index(const char *s, size_t n, uint64_t *v)
{
	char buf[24];
	if (n == 0 || n >= sizeof buf)
		return -1;
	memcpy(buf, s, n);
	buf[n] = '\0';
	char *end;
	errno = 0;
	unsigned long long x = strtoull(buf, &end, 10);
	if (errno || *end != '\0' || buf[0] == '-')
		return -1;
	*v = x;
	return 0;
}

/*
 * Walks a pickle just far enough to collect the persistent ids of torch
 * storages into m, tagged with pkl.  Returns 0, or -1 when the pickle uses
 * something this walker does not understand (the caller then reports the
 * float bytes as unknown).
 */
static int walk_pickle(const unsigned char *p, size_t len, int pkl, struct keymap *m)
{
	const unsigned char *end = p + len;
	struct pk k = {0};
	int rc = -1;
	while (p < end) {
		unsigned char op = *p++;
		uint64_t v = 0;
		const char *s1, *s2;
		size_t n1, n2;
		long mk;
		struct pval val = {{PK_OTHER, NULL, NULL, 0, 0}, 0, {{0}}};
		switch (op) {
		case '.':                                       /* STOP */
			rc = 0;
			goto done;
		case 0x80:                                      /* PROTO */
			if (arg(&p, end, 1, &v) < 0)
				goto done;
			break;
		case 0x95:                                      /* FRAME */
			if (arg(&p, end, 8, &v) < 0)
				goto done;
			break;
		case '(':                                       /* MARK */
			if (push_kind(&k, PK_MARK) < 0)
				goto done;
			break;
		case '0':                                       /* POP */
			if (pop(&k, 1) < 0)
				goto done;
			break;
		case '1':                                       /* POP_MARK */
			if ((mk = find_mark(&k)) < 0)
				goto done;
			k.n = (size_t)mk;
			break;
		case '2':                                       /* DUP */
			if (k.n == 0 || push(&k, k.st[k.n - 1]) < 0)
				goto done;
			break;
		case 'F': case 'I': case 'L':                   /* FLOAT, INT, LONG */
		case 'S': case 'V': case 'P':                   /* STRING, UNICODE, PERSID */
			if (line(&p, end, &s1, &n1) < 0 || push_kind(&k, PK_OTHER) < 0)
				goto done;
			break;
		case 'J':                                       /* BININT */
		case 'K':                                       /* BININT1 */
		case 'M':                                       /* BININT2 */
		case 'G':                                       /* BINFLOAT */
		case 0x82: case 0x83: case 0x84:                /* EXT1, EXT2, EXT4 */
			if (arg(&p, end, op == 'J' || op == 0x84 ? 4 : op == 'K' || op == 0x82 ? 1 : op == 'G' ? 8 : 2,
				&v) < 0 || push_kind(&k, PK_OTHER) < 0)
				goto done;
			break;
		case 'N': case 0x88: case 0x89:                 /* NONE, NEWTRUE, NEWFALSE */
		case '}': case ']': case 0x8f:                  /* EMPTY_DICT, EMPTY_LIST, EMPTY_SET */
		case 0x97:                                      /* NEXT_BUFFER */
			if (push_kind(&k, PK_OTHER) < 0)
				goto done;
			break;
		case 0x98:                                      /* READONLY_BUFFER */
			break;
		case 0x8a: case 0x8b:                           /* LONG1, LONG4 */
		case 'B': case 'C': case 0x8e: case 0x96:       /* BINBYTES, SHORT_BINBYTES, BINBYTES8, BYTEARRAY8 */
		case 'T': case 'U':                             /* BINSTRING, SHORT_BINSTRING */
		case 'X': case 0x8c: case 0x8d: {               /* BINUNICODE, SHORT_BINUNICODE, BINUNICODE8 */
			size_t w = op == 0x8a || op == 'C' || op == 'U' || op == 0x8c ? 1
				 : op == 0x8e || op == 0x96 || op == 0x8d ? 8 : 4;
			if (arg(&p, end, w, &v) < 0 || v > (uint64_t)(end - p))
				goto done;
			if (op == 'X' || op == 0x8c || op == 0x8d || op == 'T' || op == 'U')
				val.v = (struct pv){PK_STR, (const char *)p, NULL, (size_t)v, 0};
			p += v;
			if (push(&k, val) < 0)
				goto done;
			break;
		}
		case 'c':                                       /* GLOBAL */
			if (line(&p, end, &s1, &n1) < 0 || line(&p, end, &s2, &n2) < 0)
				goto done;
			val.v = (struct pv){PK_GLOBAL, s1, s2, n1, n2};
			if (push(&k, val) < 0)
				goto done;
			break;
		case 0x93:                                      /* STACK_GLOBAL */
			if (k.n < 2 || k.st[k.n - 2].v.kind != PK_STR || k.st[k.n - 1].v.kind != PK_STR)
				goto done;
			val.v = (struct pv){PK_GLOBAL, k.st[k.n - 2].v.a, k.st[k.n - 1].v.a, k.st[k.n - 2].v.alen,
					    k.st[k.n - 1].v.alen};
			k.n -= 2;
			if (push(&k, val) < 0)
				goto done;
			break;
		case 'Q':                                       /* BINPERSID */
			if (k.n == 0 || note_persid(&k.st[k.n - 1], pkl, m) < 0)
				goto done;
			k.st[k.n - 1] = val;
			break;
		case 'R': case 0x81:                            /* REDUCE, NEWOBJ */
			if (pop(&k, 2) < 0 || push(&k, val) < 0)
				goto done;
			break;
		case 0x92:                                      /* NEWOBJ_EX */
			if (pop(&k, 3) < 0 || push(&k, val) < 0)
				goto done;
			break;
		case 'a': case 'b':                             /* APPEND, BUILD */
			if (pop(&k, 1) < 0 || k.n == 0)
				goto done;
			break;
		case 's':                                       /* SETITEM */
			if (pop(&k, 2) < 0 || k.n == 0)
				goto done;
			break;
		case 'e': case 'u': case 0x90:                  /* APPENDS, SETITEMS, ADDITEMS */
			if ((mk = find_mark(&k)) < 1)
				goto done;
			k.n = (size_t)mk;
			break;
		case 'd': case 'l': case 0x91: case 'o':        /* DICT, LIST, FROZENSET, OBJ */
			if ((mk = find_mark(&k)) < 0)
				goto done;
			if (op == 'o' && k.n == (size_t)mk + 1)
				goto done;
			k.n = (size_t)mk;
			if (push(&k, val) < 0)
				goto done;
			break;
		case 'i':                                       /* INST */
			if (line(&p, end, &s1, &n1) < 0 || line(&p, end, &s2, &n2) < 0 || (mk = find_mark(&k)) < 0)
				goto done;
			k.n = (size_t)mk;
			if (push(&k, val) < 0)
				goto done;
			break;
		case 't':                                       /* TUPLE */
			if ((mk = find_mark(&k)) < 0 || make_tuple(&k, (size_t)mk + 1, true) < 0)
				goto done;
			break;
		case ')':                                       /* EMPTY_TUPLE */
			if (make_tuple(&k, k.n, false) < 0)
				goto done;
			break;
		case 0x85: case 0x86: case 0x87:                /* TUPLE1, TUPLE2, TUPLE3 */
			if (k.n < (size_t)(op - 0x84) || make_tuple(&k, k.n - (size_t)(op - 0x84), false) < 0)
				goto done;
			break;
		case 'p':                                       /* PUT */
			if (line(&p, end, &s1, &n1) < 0 || text_index(s1, n1, &v) < 0 || memo_put(&k, v) < 0)
				goto done;
			break;
		case 'q': case 'r':                             /* BINPUT, LONG_BINPUT */
			if (arg(&p, end, op == 'q' ? 1 : 4, &v) < 0 || memo_put(&k, v) < 0)
				goto done;
			break;
		case 0x94:                                      /* MEMOIZE */
			if (memo_put(&k, k.memo_next++) < 0)
				goto done;
			break;
		case 'g':                                       /* GET */
			if (line(&p, end, &s1, &n1) < 0 || text_index(s1, n1, &v) < 0 || memo_get(&k, v) < 0)
				goto done;
			break;
		case 'h': case 'j':                             /* BINGET, LONG_BINGET */
			if (arg(&p, end, op == 'h' ? 1 : 4, &v) < 0 || memo_get(&k, v) < 0)
				goto done;
			break;
		default:
			goto done;
		}
	}
done:
	pk_free(&k);
	return rc;
}

static int cmp_key(int pa, const char *a, size_t na, int pb, const char *b, size_t nb)
{
	if (pa != pb)
		return pa < pb ? -1 : 1;
	int c = memcmp(a, b, na < nb ? na : nb);
	if (c)
		return c;
	return na < nb ? -1 : na > nb;
}

static int cmp_keytype(const void *x, const void *y)
{
	const struct keytype *a = x, *b = y;
	return cmp_key(a->pkl, a->key, a->klen, b->pkl, b->key, b->klen);
}

/*
 * Sums the sizes of the floating-point records, their dtypes taken from the
 * pickles.  Returns the sum, or (uint64_t)-1 when a pickle cannot be read or
 * understood or a record's dtype is unknown.
 */
static uint64_t float_bytes(const struct src *s, const struct zdir *z, const struct entry pkl[2],
			    const struct record *rec, size_t nrec)
{
	struct keymap m = {0};
	unsigned char *buf[2] = {NULL, NULL};
	uint64_t sum = (uint64_t)-1;
	char err[8];
	for (int i = 0; i < 2; i++) {
		size_t len;
		if (!pkl[i].name)
			continue;
		buf[i] = read_entry(s, z, &pkl[i], &len, err, sizeof err);
		if (!buf[i] || walk_pickle(buf[i], len, i, &m) < 0)
			goto done;
	}
	if (m.n)
		qsort(m.k, m.n, sizeof m.k[0], cmp_keytype);
	sum = 0;
	for (size_t i = 0; i < nrec; i++) {
		struct keytype want = {rec[i].pkl, rec[i].key, rec[i].klen, false};
		const struct keytype *kt = m.n ? bsearch(&want, m.k, m.n, sizeof m.k[0], cmp_keytype) : NULL;
		if (!kt) {
			sum = (uint64_t)-1;
			goto done;
		}
		if (kt->is_float)
			sum += rec[i].size;
	}
done:
	free(m.k);
	free(buf[0]);
	free(buf[1]);
	return sum;
}

static void copy_name(char *dst, size_t cap, const char *s, size_t n)
{
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, s, n);
	dst[n] = '\0';
}

/*
 * Reads the central directory and fills z, with the archive root taken from
 * the first entry's top folder.  Returns 0, or -1 with err set (z->cd is
 * freed on error).
 */
static int open_dir(const struct src *s, struct zdir *z, char *err, size_t errlen)
{
	memset(z, 0, sizeof *z);
	if (read_cd(s, z, err, errlen) < 0)
		return -1;
	uint64_t pos = 0, idx = 0;
	struct entry en;
	int rc = next_entry(z, &pos, &idx, &en, err, errlen);
	const char *slash = rc == 1 ? memchr(en.name, '/', en.nlen) : NULL;
	if (rc < 0 || !slash || slash == en.name) {
		if (rc >= 0)
			msg_fmt(err, errlen, "not a TorchScript archive (no top folder)");
		free(z->cd);
		z->cd = NULL;
		return -1;
	}
	z->root = en.name;
	z->rlen = (size_t)(slash - en.name);
	return 0;
}

/*
 * The work of ptar_stat on an opened source.  Returns 0, or -1 with err set;
 * out is filled only on success.
 */
static int stat_src(const struct src *s, struct ptar_info *out, int pickles, char *err, size_t errlen)
{
	struct zdir z;
	struct ptar_info info;
	struct record *rec = NULL;
	size_t nrec = 0, cap = 0;
	struct entry pkl[2];
	int rc = -1;

	memset(&info, 0, sizeof info);
	memset(pkl, 0, sizeof pkl);
	if (open_dir(s, &z, err, errlen) < 0)
		return -1;
	info.file_size = s->size;
	copy_name(info.root, sizeof info.root, z.root, z.rlen);

	uint64_t pos = 0, idx = 0;
	struct entry en;
	int r;
	while ((r = next_entry(&z, &pos, &idx, &en, err, errlen)) == 1) {
		const char *rest, *tail;
		size_t rl, tl;
		if (!under_root(&z, &en, &rest, &rl))
			continue;
		if (is_name(rest, rl, "data.pkl")) {
			pkl[0] = en;
		} else if (is_name(rest, rl, "constants.pkl")) {
			pkl[1] = en;
		} else if (has_prefix(rest, rl, "extra/", &tail, &tl) && tl > 0) {
			if (info.n_extra < 16)
				copy_name(info.extra[info.n_extra], sizeof info.extra[0], tail, tl);
			if (info.n_extra < INT32_MAX)
				info.n_extra++;
		} else if ((has_prefix(rest, rl, "data/", &tail, &tl) ||
			    has_prefix(rest, rl, "constants/", &tail, &tl)) &&
			   tl > 0 && !memchr(tail, '/', tl)) {
			if (nrec == cap) {
				if (cap >= MAX_RECORDS) {
					msg_fmt(err, errlen, "TorchScript archive has too many tensor records");
					goto done;
				}
				size_t ncap = cap ? cap * 2 : 64;
				struct record *nr = realloc(rec, ncap * sizeof *nr);
				if (!nr) {
					msg_fmt(err, errlen, "out of memory");
					goto done;
				}
				rec = nr;
				cap = ncap;
			}
			if (en.lho > z.cd_off || en.csize > z.cd_off - en.lho ||
			    (en.method == 0 && en.usize != en.csize) ||
			    (en.method != 0 && en.usize / 1032 > en.csize + 1)) {
				msg_fmt(err, errlen, "corrupt zip: tensor record sizes out of bounds");
				goto done;
			}
			rec[nrec++] = (struct record){rest[0] == 'c', tail, tl, en.usize};
			info.weight_bytes += en.usize;
			if (en.usize > info.largest_record)
				info.largest_record = en.usize;
		}
	}
	if (r < 0)
		goto done;
	if (!pkl[0].name) {
		char root[sizeof info.root];
		/* the name comes from the file: no control characters in a one-line message */
		for (size_t k = 0; k < sizeof root; k++)
			root[k] = info.root[k] && (unsigned char)info.root[k] < 32 ? '?' : info.root[k];
		msg_fmt(err, errlen, "not a TorchScript archive (no %s/data.pkl)", root);
		goto done;
	}
	info.n_records = nrec > INT32_MAX ? INT32_MAX : (int)nrec;
	info.float_bytes = pickles ? float_bytes(s, &z, pkl, rec, nrec) : (uint64_t)-1;
	*out = info;
	rc = 0;
done:
	free(rec);
	free(z.cd);
	return rc;
}

/* The work of ptar_extra on an opened source (see ptar.h). */
static char *extra_src(const struct src *s, const char *name, size_t *len, char *err, size_t errlen)
{
	struct zdir z;
	if (open_dir(s, &z, err, errlen) < 0)
		return NULL;
	uint64_t pos = 0, idx = 0;
	struct entry en;
	char *out = NULL;
	int r;
	size_t want = strlen(name);
	while ((r = next_entry(&z, &pos, &idx, &en, err, errlen)) == 1) {
		const char *rest, *tail;
		size_t rl, tl;
		if (under_root(&z, &en, &rest, &rl) && has_prefix(rest, rl, "extra/", &tail, &tl) && tl == want &&
		    memcmp(tail, name, want) == 0) {
			out = (char *)read_entry(s, &z, &en, len, err, errlen);
			break;
		}
	}
	free(z.cd);
	return out;
}

/* Opens path for a source.  Returns 0, or -1 with err set. */
static int open_src(const char *path, struct src *s, char *err, size_t errlen)
{
	struct stat st;
	memset(s, 0, sizeof *s);
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		msg_fmt(err, errlen, "cannot open: %s", strerror(errno));
		return -1;
	}
	if (fstat(s->fd, &st) < 0) {
		msg_fmt(err, errlen, "cannot open: %s", strerror(errno));
		close(s->fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		msg_fmt(err, errlen, "cannot open: %s", S_ISDIR(st.st_mode) ? "is a directory" : "not a regular file");
		close(s->fd);
		return -1;
	}
	s->size = (uint64_t)st.st_size;
	return 0;
}

/* ptar_stat, with or without reading the pickles. */
static int stat_path(const char *path, struct ptar_info *out, int pickles, char *err, size_t errlen)
{
	struct src s;
	if (err && errlen)
		err[0] = '\0';
	if (open_src(path, &s, err, errlen) < 0)
		return -1;
	int rc = stat_src(&s, out, pickles, err, errlen);
	close(s.fd);
	return rc;
}

int ptar_stat(const char *path, struct ptar_info *out, char *err, size_t errlen)
{
	return stat_path(path, out, 1, err, errlen);
}

int ptar_stat_dir(const char *path, struct ptar_info *out, char *err, size_t errlen)
{
	return stat_path(path, out, 0, err, errlen);
}

int ptar_stat_mem(const unsigned char *buf, size_t len, struct ptar_info *out, char *err, size_t errlen)
{
	struct src s = {-1, buf, len};
	if (err && errlen)
		err[0] = '\0';
	return stat_src(&s, out, 1, err, errlen);
}

char *ptar_extra(const char *path, const char *name, size_t *len, char *err, size_t errlen)
{
	struct src s;
	if (err && errlen)
		err[0] = '\0';
	if (open_src(path, &s, err, errlen) < 0)
		return NULL;
	char *r = extra_src(&s, name, len, err, errlen);
	close(s.fd);
	return r;
}

char *ptar_extra_mem(const unsigned char *buf, size_t len, const char *name, size_t *outlen, char *err,
		     size_t errlen)
{
	struct src s = {-1, buf, len};
	if (err && errlen)
		err[0] = '\0';
	return extra_src(&s, name, outlen, err, errlen);
}
