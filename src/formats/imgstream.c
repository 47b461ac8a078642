/*
 * imgstream.c — splits a stream of PNG and JPEG images (see imgstream.h).
 *
 * The bytes of the current image accumulate at the start of one buffer;
 * what a read brought beyond its end stays there for the next image.  A
 * read is made only when the walk needs a byte the buffer lacks, and it
 * takes what the source has (read() returns what a pipe holds without
 * waiting for more), so the walk never waits on bytes past the image.
 */
#include "formats/imgstream.h"
#include "sys/msg.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define READ_CHUNK 65536

struct imgstream {
	struct byte_src src;
	unsigned char *buf;         /* the current image from [0], then what was read past it */
	size_t len, cap;
	uint64_t offset;            /* stream offset of buf[0] */
	long count;                 /* images started */
	int done;
};

/* What ensure() met instead of the bytes asked for. */
enum { GOT = 1, END = 0, READ_ERROR = -1, TOO_LARGE = -2, NO_MEMORY = -3 };

struct imgstream *imgstream_open(struct byte_src src)
{
	struct imgstream *s = calloc(1, sizeof *s);
	if (s)
		s->src = src;
	return s;
}

void imgstream_close(struct imgstream *s)
{
	if (!s)
		return;
	free(s->buf);
	free(s);
}

/* Reads until the buffer holds n bytes: GOT, or END, READ_ERROR (errno), TOO_LARGE (n > max), NO_MEMORY. */
static int ensure(struct imgstream *s, size_t n, size_t max)
{
	if (n > max)
		return TOO_LARGE;
	while (s->len < n) {
		ssize_t got;
		if (s->cap - s->len < READ_CHUNK) {
			size_t cap = s->cap ? s->cap * 2 : 2 * READ_CHUNK;
			unsigned char *g;
			if (cap < s->len + READ_CHUNK)
				cap = s->len + READ_CHUNK;
			if (!(g = realloc(s->buf, cap)))
				return NO_MEMORY;
			s->buf = g;
			s->cap = cap;
		}
		got = s->src.read(s->src.ctx, s->buf + s->len, s->cap - s->len);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			return READ_ERROR;
		if (got == 0)
			return END;
		s->len += (size_t)got;
	}
	return GOT;
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/*
 * The length of the PNG at the start of the buffer (its signature checked):
 * a positive length, or an ensure() code other than GOT, or -4 with why set.
 */
static long long png_length(struct imgstream *s, size_t max, const char **why)
{
	size_t p = 8;
	for (;;) {
		uint32_t n;
		int rc = ensure(s, p + 8, max);
		const unsigned char *t;
		if (rc != GOT)
			return rc;
		n = be32(s->buf + p);
		t = s->buf + p + 4;
		if (n > 0x7fffffff) {
			*why = "a chunk length over 2^31 - 1";
			return -4;
		}
		for (int i = 0; i < 4; i++)
			if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z'))) {
				*why = "a chunk type that is not four letters";
				return -4;
			}
		p += 12 + (size_t)n;
		if (!memcmp(t, "IEND", 4)) {
			rc = ensure(s, p, max);
			return rc == GOT ? (long long)p : rc;
		}
	}
}

/* The length of the JPEG at the start of the buffer (its SOI checked), as png_length. */
static long long jpeg_length(struct imgstream *s, size_t max, const char **why)
{
	size_t p = 2;
	int rc;
	for (;;) {
		unsigned m;
		if ((rc = ensure(s, p + 2, max)) != GOT)
			return rc;
		if (s->buf[p] != 0xff) {
			*why = "bytes where a marker should be";
			return -4;
		}
		while (s->buf[p + 1] == 0xff) /* fill bytes */
			if ((rc = ensure(s, ++p + 2, max)) != GOT)
				return rc;
		m = s->buf[p + 1];
		if (m == 0xd9)
			return (long long)(p + 2);
		if ((m >= 0xd0 && m <= 0xd7) || m == 0x01) {
			p += 2;
			continue;
		}
		if (m == 0x00 || m == 0xd8) {
			*why = m ? "a second SOI marker" : "a stuffed zero where a marker should be";
			return -4;
		}
		if ((rc = ensure(s, p + 4, max)) != GOT)
			return rc;
		if (((unsigned)s->buf[p + 2] << 8 | s->buf[p + 3]) < 2) {
			*why = "a segment length under 2";
			return -4;
		}
		p += 2 + ((size_t)s->buf[p + 2] << 8 | s->buf[p + 3]);
		if (m != 0xda)
			continue;
		/* entropy-coded data: up to a 0xFF that is not stuffing, RSTn or fill */
		for (;;) {
			const unsigned char *ff;
			if ((rc = ensure(s, p + 1, max)) != GOT)
				return rc;
			if (!(ff = memchr(s->buf + p, 0xff, s->len - p))) {
				p = s->len;
				continue;
			}
			p = (size_t)(ff - s->buf);
			if ((rc = ensure(s, p + 2, max)) != GOT)
				return rc;
			m = s->buf[p + 1];
			if (m == 0x00 || (m >= 0xd0 && m <= 0xd7))
				p += 2;
			else if (m == 0xff)
				p += 1;
			else
				break;
		}
	}
}

/* Stops the stream with a reason; returns -1. */
static int stop(struct imgstream *s, char *err, size_t errlen, const char *msg)
{
	msg_fmt(err, errlen, "%s", msg);
	s->done = 1;
	free(s->buf);
	s->buf = NULL;
	s->len = s->cap = 0;
	return -1;
}

int imgstream_next(struct imgstream *s, size_t max, unsigned char **buf, size_t *len, char *err, size_t errlen)
{
	char msg[ERRLEN];
	const char *why = NULL, *kind = "image";
	long long n = 0;
	int rc;
	*buf = NULL;
	*len = 0;
	if (s->done)
		return 0;
	rc = ensure(s, 1, max);
	if (rc == END) {
		s->done = 1;
		return 0;
	}
	s->count++;
	if (rc == GOT) {
		rc = ensure(s, s->buf[0] == 0x89 ? 8 : 2, max);
		if (rc == GOT && s->len >= 8 && !memcmp(s->buf, "\x89PNG\r\n\x1a\n", 8)) {
			kind = "PNG";
			rc = (n = png_length(s, max, &why)) > 0 ? GOT : (int)n;
		} else if (rc == GOT && s->buf[0] == 0xff && s->buf[1] == 0xd8) {
			kind = "JPEG";
			rc = (n = jpeg_length(s, max, &why)) > 0 ? GOT : (int)n;
		} else if (rc == GOT) {
			return stop(s, err, errlen,
			            msg_fmt(msg, sizeof msg, "not a PNG or JPEG image at byte %llu of the stream",
			                    (unsigned long long)s->offset));
		}
	}
	switch (rc) {
	case GOT:
		break;
	case END:
		return stop(s, err, errlen,
		            msg_fmt(msg, sizeof msg, "the stream ends inside image %ld (after %zu bytes)", s->count - 1, s->len));
	case READ_ERROR:
		return stop(s, err, errlen, msg_fmt(msg, sizeof msg, "reading the stream: %s", strerror(errno)));
	case TOO_LARGE:
		return stop(s, err, errlen,
		            msg_fmt(msg, sizeof msg, "image %ld is larger than %zu bytes", s->count - 1, max));
	case NO_MEMORY:
		return stop(s, err, errlen, "out of memory");
	default:
		return stop(s, err, errlen,
		            msg_fmt(msg, sizeof msg, "corrupt %s in the stream at byte %llu: %s", kind,
		                    (unsigned long long)s->offset, why));
	}
	{
		/* the image leaves with the buffer; what follows it moves to a new one */
		size_t rest = s->len - (size_t)n;
		unsigned char *next = malloc(rest + READ_CHUNK), *img;
		if (!next)
			return stop(s, err, errlen, "out of memory");
		memcpy(next, s->buf + n, rest);
		img = realloc(s->buf, (size_t)n);
		*buf = img ? img : s->buf;
		*len = (size_t)n;
		s->buf = next;
		s->len = rest;
		s->cap = rest + READ_CHUNK;
		s->offset += (uint64_t)n;
	}
	return 1;
}
