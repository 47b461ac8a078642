/*
 * test_imgstream.c — src/formats/imgstream.c on streams of the fixtures of
 * tests/data/images/ (baseline, progressive and EXIF JPEGs, PNGs of every
 * kind) and on JPEGs built here with byte stuffing, restart markers and
 * fill bytes; the stream cut at every byte; and that an image is handed out
 * without a byte of the next one being asked for.  Run from the repository
 * root.
 */
#include "check.h"
#include "formats/imgstream.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../chunk_src.h"

#define DIR "tests/data/images/"

struct buf {
	unsigned char *p;
	size_t n;
};

static void put(struct buf *b, const void *d, size_t n)
{
	b->p = realloc(b->p, b->n + n + 1);
	if (!b->p)
		abort();
	memcpy(b->p + b->n, d, n);
	b->n += n;
}

/* A JPEG's shape without real pixels: the splitter reads markers, not pixels. */
static void fake_jpeg(struct buf *b)
{
	static const unsigned char j[] = {
		0xff, 0xd8,                                     /* SOI */
		0xff, 0xe0, 0x00, 0x06, 'J', 'F', 'I', 'F',     /* APP0 */
		0xff, 0xff, 0xff, 0xdb, 0x00, 0x03, 0x01,       /* fill bytes, then DQT */
		0xff, 0xda, 0x00, 0x04, 0x00, 0x00,             /* SOS */
		0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56,       /* data, stuffed 0xff, RST0 */
		0xff, 0xff, 0xd7, 0x78,                         /* a fill byte before RST7 */
		0xff, 0xc4, 0x00, 0x02,                         /* DHT between scans (progressive) */
		0xff, 0xda, 0x00, 0x02, 0xd9, 0xd9, 0xff, 0x00, /* a second scan; 0xd9 alone is data */
		0xff, 0xd9,                                     /* EOI */
	};
	put(b, j, sizeof j);
}

static struct buf fixture(const char *name)
{
	char path[256];
	struct buf b = {0};
	snprintf(path, sizeof path, DIR "%s", name);
	b.p = check_slurp(path, &b.n);
	return b;
}

static const char *const FILES[] = {"baseline.jpg", "progressive.jpg", "rgb8.png", "exif6.jpg",
                                    "rgba16_interlaced.png", "pal1.png", "gray.jpg", "big.jpg"};
#define NFILES (sizeof FILES / sizeof *FILES)

struct result {
	int n;                      /* images handed out */
	int same;                   /* all of them equal to what was put in */
	int rc;                     /* the last return */
	char err[256];
};

/* Splits stream (max bytes an image) and compares the images with parts[0..nparts). */
static struct result split(const struct buf *stream, size_t chunk, size_t max, const struct buf *parts, int nparts)
{
	struct src s = {stream->p, stream->n, 0, chunk};
	struct imgstream *is = imgstream_open((struct byte_src){src_read, &s});
	struct result r = {0, 1, 0, ""};
	unsigned char *img;
	size_t len;
	while ((r.rc = imgstream_next(is, max, &img, &len, r.err, sizeof r.err)) == 1) {
		if (r.n >= nparts || len != parts[r.n].n || memcmp(img, parts[r.n].p, len))
			r.same = 0;
		r.n++;
		free(img);
	}
	if (imgstream_next(is, max, &img, &len, r.err + 128, 128) != 0 || img)
		r.same = 0; /* the end stays the end */
	imgstream_close(is);
	return r;
}

static void test_split(struct buf *parts, int nparts, const struct buf *stream)
{
	for (size_t chunk = 1; chunk <= 1 << 20; chunk *= 16) {
		char name[80];
		struct result r = split(stream, chunk, 1 << 20, parts, nparts);
		snprintf(name, sizeof name, "%d images split, reads of %zu bytes", nparts, chunk);
		CHECK(r.rc == 0 && r.n == nparts && r.same, name, "rc %d n %d same %d: %s", r.rc, r.n, r.same, r.err);
	}
}

/* Each image comes out having read not one byte past it. */
static void test_no_read_ahead(const struct buf *parts, int nparts, const struct buf *stream)
{
	struct src s = {stream->p, stream->n, 0, 1};
	struct imgstream *is = imgstream_open((struct byte_src){src_read, &s});
	size_t end = 0, len;
	unsigned char *img;
	char err[256];
	int ok = 1;
	for (int i = 0; i < nparts; i++) {
		if (imgstream_next(is, 1 << 20, &img, &len, err, sizeof err) != 1)
			ok = 0;
		end += parts[i].n;
		if (s.off != end) {
			printf("image %d (%s): read %zu bytes, it ends at %zu\n", i, FILES[i % NFILES], s.off, end);
			ok = 0;
		}
		free(img);
	}
	CHECK(ok, "no byte read past an image", "%s", "read ahead");
	imgstream_close(is);
}

static void test_cuts(const struct buf *parts, int nparts, const struct buf *stream)
{
	size_t bad = 0, bounds = 0;
	for (size_t cut = 0; cut <= stream->n; cut++) {
		struct buf b = {stream->p, cut};
		size_t whole = 0, at = 0;
		int boundary = 0;
		for (int i = 0; i < nparts && at + parts[i].n <= cut; i++) {
			at += parts[i].n;
			whole++;
		}
		boundary = at == cut;
		struct result r = split(&b, cut % 5 + 1, 1 << 20, parts, nparts);
		char want[64];
		snprintf(want, sizeof want, "ends inside image %zu", whole);
		int ok = r.same && (size_t)r.n == whole &&
		         (boundary ? r.rc == 0 : r.rc == -1 && strstr(r.err, want) && !strchr(r.err, '\n'));
		bounds += boundary;
		if (!ok && bad++ < 5)
			printf("cut at %zu: rc %d n %d (want %zu) same %d err '%s'\n", cut, r.rc, r.n, whole, r.same, r.err);
	}
	CHECK(bad == 0, "stream cut at every byte", "%zu cuts went wrong", bad);
	CHECK(bounds == (size_t)nparts + 1, "cuts between images end cleanly", "%zu", bounds);
}

static void test_bad(void)
{
	struct buf b = {0}, j = {0};
	struct result r;
	fake_jpeg(&j);
	put(&b, j.p, j.n);
	put(&b, "GIF89a......", 12);
	r = split(&b, 4096, 1 << 20, &j, 1);
	char want[64];
	snprintf(want, sizeof want, "not a PNG or JPEG image at byte %zu of", j.n);
	CHECK(r.n == 1 && r.same && r.rc == -1 && strstr(r.err, want),
	      "garbage after an image", "n %d rc %d: %s", r.n, r.rc, r.err);
	free(b.p);

	r = split(&j, 4096, 20, &j, 1);
	CHECK(r.n == 0 && r.rc == -1 && strstr(r.err, "image 0 is larger than 20 bytes"), "image over max",
	      "n %d rc %d: %s", r.n, r.rc, r.err);

	/* a PNG chunk length over 2^31 - 1, a chunk type not letters */
	{
		static const unsigned char bad_len[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
		                                        0x80, 0, 0, 0, 'I', 'H', 'D', 'R'};
		static const unsigned char bad_type[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n',
		                                         0, 0, 0, 0, 'I', 'H', '1', 'R'};
		struct buf x = {(unsigned char *)bad_len, sizeof bad_len};
		r = split(&x, 4096, 1 << 20, NULL, 0);
		CHECK(r.rc == -1 && strstr(r.err, "corrupt PNG") && strstr(r.err, "2^31"), "PNG chunk length", "%s", r.err);
		x.p = (unsigned char *)bad_type;
		r = split(&x, 4096, 1 << 20, NULL, 0);
		CHECK(r.rc == -1 && strstr(r.err, "corrupt PNG"), "PNG chunk type", "%s", r.err);
	}
	/* JPEG: no marker where one must be, a zero segment length, a second SOI */
	{
		static const unsigned char no_marker[] = {0xff, 0xd8, 0x12, 0x34};
		static const unsigned char short_seg[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x01};
		static const unsigned char soi[] = {0xff, 0xd8, 0xff, 0xd8};
		struct buf x = {(unsigned char *)no_marker, sizeof no_marker};
		r = split(&x, 4096, 1 << 20, NULL, 0);
		CHECK(r.rc == -1 && strstr(r.err, "corrupt JPEG"), "JPEG without a marker", "%s", r.err);
		x = (struct buf){(unsigned char *)short_seg, sizeof short_seg};
		r = split(&x, 4096, 1 << 20, NULL, 0);
		CHECK(r.rc == -1 && strstr(r.err, "length under 2"), "JPEG segment length", "%s", r.err);
		x = (struct buf){(unsigned char *)soi, sizeof soi};
		r = split(&x, 4096, 1 << 20, NULL, 0);
		CHECK(r.rc == -1 && strstr(r.err, "SOI"), "JPEG second SOI", "%s", r.err);
	}
	/* nothing at all: no image, no error */
	b = (struct buf){0};
	r = split(&b, 4096, 1 << 20, NULL, 0);
	CHECK(r.rc == 0 && r.n == 0, "empty stream", "%s", r.err);
	free(j.p);
}

static ssize_t eio_read(void *ctx, void *out, size_t n)
{
	errno = EIO;
	return -1;
}

static void test_read_error(void)
{
	struct imgstream *is = imgstream_open((struct byte_src){eio_read, NULL});
	unsigned char *img;
	size_t len;
	char err[256] = "";
	int rc = imgstream_next(is, 100, &img, &len, err, sizeof err);
	CHECK(rc == -1 && strstr(err, "reading the stream") && imgstream_next(is, 100, &img, &len, err, sizeof err) == 0,
	      "read error, then the end", "rc %d %s", rc, err);
	imgstream_close(is);
	imgstream_close(NULL);
}

int main(void)
{
	struct buf parts[NFILES + 1], stream = {0};
	int n = 0, ok = 1;
	for (size_t i = 0; i < NFILES; i++) {
		parts[n] = fixture(FILES[i]);
		if (!parts[n].p)
			ok = 0;
		else
			put(&stream, parts[n].p, parts[n].n), n++;
	}
	CHECK(ok, "fixtures read", "%s", "missing fixture");
	parts[n] = (struct buf){0};
	fake_jpeg(&parts[n]);
	put(&stream, parts[n].p, parts[n].n);
	n++;
	test_split(parts, n, &stream);
	test_no_read_ahead(parts, n, &stream);
	{
		/* every byte cut of a short stream: a PNG, the built JPEG, a real JPEG */
		struct buf small[3] = {parts[5], parts[n - 1], parts[0]}, s = {0};
		for (int i = 0; i < 3; i++)
			put(&s, small[i].p, small[i].n);
		test_cuts(small, 3, &s);
		free(s.p);
	}
	test_bad();
	test_read_error();
	for (int i = 0; i < n; i++)
		free(parts[i].p);
	free(stream.p);
	return check_done();
}
