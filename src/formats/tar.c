/*
 * tar.c — streaming tar reader (see tar.h).
 *
 * The reader keeps the current member's name, how many of its data bytes
 * are still unread and the padding after them.  Every read loops until it
 * has what it asked for or the source ends, so a pipe that hands out a few
 * bytes at a time reads the same as a file.  Data is skipped through a
 * fixed buffer; pax and GNU long-name records are bounded (PAX_MAX).
 */
#include "formats/tar.h"
#include "sys/msg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 512
#define SKIP_CHUNK 65536
#define PAX_MAX ((size_t)1 << 20)      /* a pax or long-name record larger than this is refused */
#define FIRST_CHUNK ((size_t)1 << 20)  /* member buffers grow from this as the bytes arrive */

/* Header fields: offset, length. */
#define F_NAME 0, 100
#define F_SIZE 124, 12
#define F_CHKSUM 148, 8
#define F_TYPE 156
#define F_MAGIC 257
#define F_PREFIX 345, 155

struct tar_reader {
	struct byte_src src;
	uint64_t offset;            /* bytes read from the source */
	uint64_t left;              /* data bytes of the current member not yet read */
	uint64_t pad;               /* padding after them */
	int headers;                /* headers read (an archive that ends after one is whole) */
	int done;                   /* at the end, or after an error */
	char *name;                 /* the current member's */
	char *long_name;            /* from a pax "path" or a GNU 'L' record, for the next header */
	int have_size;              /* a pax "size" for the next header */
	uint64_t pax_size;
};

struct tar_reader *tar_open(struct byte_src src)
{
	struct tar_reader *r = calloc(1, sizeof *r);
	if (r)
		r->src = src;
	return r;
}

void tar_close(struct tar_reader *r)
{
	if (!r)
		return;
	free(r->name);
	free(r->long_name);
	free(r);
}

/* Reads up to n bytes, looping over short reads; the count read (short at the end), or -1 (errno). */
static ssize_t fill(struct tar_reader *r, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = r->src.read(r->src.ctx, (char *)buf + got, n - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -1;
		if (k == 0)
			break;
		got += (size_t)k;
		r->offset += (uint64_t)k;
	}
	return (ssize_t)got;
}

/* Stops the reader with a reason; returns -1. */
static int fail(struct tar_reader *r, char *err, size_t errlen, const char *fmt, const char *arg)
{
	r->done = 1;
	r->left = r->pad = 0;
	msg_fmt(err, errlen, fmt, arg);
	return -1;
}

/* A numeric header field: octal text (NUL- or space-ended) or base-256.  0, or -1 when malformed. */
static int number(const unsigned char *f, size_t n, uint64_t *v)
{
	uint64_t x = 0;
	size_t i = 0, end;
	if (f[0] & 0x80) {
		if (f[0] != 0x80)
			return -1; /* negative (0xff) or a bit pattern no writer makes */
		for (i = 1; i < n; i++) {
			if (x >> 56)
				return -1;
			x = x << 8 | f[i];
		}
		*v = x;
		return 0;
	}
	end = strnlen((const char *)f, n);
	while (i < end && f[i] == ' ')
		i++;
	while (end > i && f[end - 1] == ' ')
		end--;
	for (; i < end; i++) {
		if (f[i] < '0' || f[i] > '7')
			return -1;
		x = x << 3 | (uint64_t)(f[i] - '0'); /* 12 octal digits fit */
	}
	*v = x;
	return 0;
}

int tar_is_header(const unsigned char *b)
{
	unsigned long usum = 0;
	long ssum = 0;
	uint64_t want;
	int zero = 1;
	for (int i = 0; i < BLOCK; i++) {
		unsigned char c = i >= 148 && i < 156 ? ' ' : b[i];
		usum += c;
		ssum += (signed char)c;
		if (b[i])
			zero = 0;
	}
	if (zero || number(b + F_CHKSUM, &want) < 0 || b[148] == 0)
		return 0;
	return want == usum || (ssum >= 0 && want == (uint64_t)ssum);
}

/* A field that need not end in NUL, as a string. */
static char *field(const unsigned char *f, size_t n)
{
	return strndup((const char *)f, strnlen((const char *)f, n));
}

/* Reads n bytes of a pax or long-name record (and its padding) into a NUL-ended buffer. */
static char *read_record(struct tar_reader *r, uint64_t n, char *err, size_t errlen)
{
	uint64_t pad = (BLOCK - n % BLOCK) % BLOCK;
	char *buf, scratch[BLOCK];
	ssize_t got;
	if (n > PAX_MAX) {
		fail(r, err, errlen, "%s header too large (corrupt archive?)", "extended");
		return NULL;
	}
	if (!(buf = malloc(n + 1))) {
		fail(r, err, errlen, "%s", "out of memory");
		return NULL;
	}
	got = fill(r, buf, n);
	if (got >= 0 && (uint64_t)got == n)
		got = fill(r, scratch, pad) == (ssize_t)pad ? got : -2;
	if (got < 0 || (uint64_t)got != n) {
		fail(r, err, errlen, "%s", got == -1 ? strerror(errno) : "truncated archive: it ends inside an extended header");
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* Takes "path" and "size" from pax records "LEN key=value\n".  0, or -1 when malformed. */
static int pax(struct tar_reader *r, const char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t len = 0, j = i, k;
		const char *key, *val;
		while (j < n && p[j] >= '0' && p[j] <= '9' && len < PAX_MAX)
			len = len * 10 + (size_t)(p[j++] - '0');
		if (j == i || j >= n || p[j] != ' ' || len > n - i || len < 4 || p[i + len - 1] != '\n')
			return -1;
		key = p + j + 1;
		for (k = j + 1; k < i + len - 1 && p[k] != '='; k++)
			;
		if (k == i + len - 1)
			return -1;
		val = p + k + 1;
		if (k - (j + 1) == 4 && !memcmp(key, "path", 4)) {
			free(r->long_name);
			if (!(r->long_name = strndup(val, (size_t)(p + i + len - 1 - val))))
				return -1;
		} else if (k - (j + 1) == 4 && !memcmp(key, "size", 4)) {
			uint64_t v = 0;
			const char *q = val;
			if (q == p + i + len - 1)
				return -1;
			for (; q < p + i + len - 1; q++) {
				if (*q < '0' || *q > '9' || v > (UINT64_MAX - 9) / 10)
					return -1;
				v = v * 10 + (uint64_t)(*q - '0');
			}
			r->pax_size = v;
			r->have_size = 1;
		}
		i += len;
	}
	return 0;
}

/* Reads and drops n bytes; 0, or -1 (errno set, or 0 when the source ended). */
static int discard(struct tar_reader *r, uint64_t n)
{
	char buf[SKIP_CHUNK];
	while (n > 0) {
		size_t k = n < sizeof buf ? (size_t)n : sizeof buf;
		ssize_t got = fill(r, buf, k);
		if (got < 0)
			return -1;
		n -= (uint64_t)got;
		if ((size_t)got < k) {
			errno = 0;
			return -1;
		}
	}
	return 0;
}

/* Drops the padding after a member whose data was read; the end of the source there ends the archive. */
static int skip_pad(struct tar_reader *r, char *err, size_t errlen)
{
	uint64_t pad = r->pad;
	r->pad = 0;
	if (discard(r, pad) < 0) {
		if (errno)
			return fail(r, err, errlen, "%s", strerror(errno));
		r->done = 1; /* all the data came: an archive cut in its padding loses nothing */
	}
	return 0;
}

int tar_skip(struct tar_reader *r, char *err, size_t errlen)
{
	if (r->done)
		return 0;
	if (discard(r, r->left) < 0) {
		if (errno)
			return fail(r, err, errlen, "%s", strerror(errno));
		return fail(r, err, errlen, "truncated archive: it ends inside '%s'", r->name ? r->name : "?");
	}
	r->left = 0;
	return skip_pad(r, err, errlen);
}

int tar_next(struct tar_reader *r, struct tar_member *m, char *err, size_t errlen)
{
	unsigned char b[BLOCK];
	for (;;) {
		uint64_t size;
		ssize_t got;
		char type;
		int data;
		if (r->done)
			return 0;
		if ((r->left || r->pad) && tar_skip(r, err, errlen) < 0)
			return -1;
		if (r->done)
			return 0;
		got = fill(r, b, BLOCK);
		if (got < 0)
			return fail(r, err, errlen, "%s", strerror(errno));
		if (got == 0 && r->headers && !r->long_name && !r->have_size) {
			r->done = 1; /* no end-of-archive blocks: accepted, as tar does */
			return 0;
		}
		if (got == 0)
			return fail(r, err, errlen, "%s", r->headers ? "truncated archive: it ends after an extended header"
			                                             : "not a tar archive: it is empty");
		if (got < BLOCK)
			return fail(r, err, errlen, "truncated archive: it ends inside a %s", "header");
		if (!tar_is_header(b)) {
			int zero = 1;
			for (int i = 0; i < BLOCK && zero; i++)
				zero = !b[i];
			if (zero && !r->long_name && !r->have_size) {
				r->done = 1;
				return 0;
			}
			return fail(r, err, errlen, "%s", r->headers ? "corrupt archive: a header's checksum does not match"
			                                             : "not a tar archive (no valid header)");
		}
		r->headers++;
		if (number(b + F_SIZE, &size) < 0)
			return fail(r, err, errlen, "corrupt archive: a header's %s field is not a number", "size");
		type = (char)b[F_TYPE];
		if (type == 'g' || type == 'K') {
			r->left = size; /* a global pax header, a GNU long link name: not members, and no name of theirs */
			r->pad = (BLOCK - size % BLOCK) % BLOCK;
			continue;
		}
		if (type == 'x' || type == 'X' || type == 'L') {
			char *rec = read_record(r, size, err, errlen);
			if (!rec)
				return -1;
			if (type == 'L') {
				free(r->long_name);
				r->long_name = rec;
				continue;
			}
			if (pax(r, rec, (size_t)size) < 0) {
				free(rec);
				return fail(r, err, errlen, "%s", "corrupt archive: malformed pax extended header");
			}
			free(rec);
			continue;
		}
		if (r->have_size)
			size = r->pax_size;
		r->have_size = 0;
		free(r->name);
		if (r->long_name) {
			r->name = r->long_name;
			r->long_name = NULL;
		} else if (!memcmp(b + F_MAGIC, "ustar\0", 6) && b[345]) {
			char *prefix = field(b + F_PREFIX), *name = field(b + F_NAME);
			if (!prefix || !name || asprintf(&r->name, "%s/%s", prefix, name) < 0)
				r->name = NULL;
			free(prefix);
			free(name);
		} else {
			r->name = field(b + F_NAME);
		}
		if (!r->name)
			return fail(r, err, errlen, "%s", "out of memory");
		/* links, devices, directories and FIFOs carry no data whatever their size field says */
		data = !(type >= '1' && type <= '6');
		m->name = r->name;
		m->size = data ? size : 0;
		m->regular = (type == '0' || type == '\0' || type == '7') &&
		             !(r->name[0] && r->name[strlen(r->name) - 1] == '/');
		if (type == 'S' && b[482]) { /* GNU sparse: extension blocks before the data */
			unsigned char ext[BLOCK];
			do {
				got = fill(r, ext, BLOCK);
				if (got != BLOCK)
					return fail(r, err, errlen, "truncated archive: it ends inside a %s", "sparse header");
			} while (ext[504]);
		}
		r->left = m->size;
		r->pad = (BLOCK - m->size % BLOCK) % BLOCK;
		return 1;
	}
}

unsigned char *tar_read(struct tar_reader *r, size_t max, size_t *len, char *err, size_t errlen)
{
	unsigned char *buf = NULL;
	size_t n = 0, cap = 0, want;
	*len = 0;
	if (r->done) {
		msg_fmt(err, errlen, "the archive has ended");
		return NULL;
	}
	if (r->left == 0) {
		msg_fmt(err, errlen, "empty file");
		skip_pad(r, err, errlen);
		return NULL;
	}
	if (r->left > max) {
		uint64_t size = r->left;
		if (tar_skip(r, err, errlen) < 0)
			return NULL;
		msg_fmt(err, errlen, "file too large (%llu bytes)", (unsigned long long)size);
		return NULL;
	}
	want = (size_t)r->left;
	while (n < want) {
		ssize_t got;
		if (n == cap) {
			unsigned char *g;
			cap = cap ? (cap > want / 2 ? want : cap * 2) : (want < FIRST_CHUNK ? want : FIRST_CHUNK);
			if (!(g = realloc(buf, cap))) {
				free(buf);
				fail(r, err, errlen, "%s", "out of memory");
				return NULL;
			}
			buf = g;
		}
		got = fill(r, buf + n, cap - n);
		if (got < 0) {
			free(buf);
			fail(r, err, errlen, "%s", strerror(errno));
			return NULL;
		}
		n += (size_t)got;
		if (n < cap) {
			char msg[ERRLEN];
			free(buf);
			msg_fmt(msg, sizeof msg, "truncated archive: the member ends after %zu of its %zu bytes", n, want);
			fail(r, err, errlen, "%s", msg);
			return NULL;
		}
	}
	r->left = 0;
	if (skip_pad(r, err, errlen) < 0) {
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}
