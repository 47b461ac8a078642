/*
 * test_tar.c — src/formats/tar.c on archives built here header by header
 * (ustar with a prefix, pax, GNU long names, v7, base-256 sizes, signed
 * checksums), read through a source that hands out a few bytes at a time
 * as a pipe may; and the same archive cut at every byte offset.
 */
#include "check.h"
#include "formats/tar.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../chunk_src.h"

/* ---- an archive in memory ---- */

struct arc {
	unsigned char *p;
	size_t n;
};

static void put(struct arc *a, const void *b, size_t n)
{
	a->p = realloc(a->p, a->n + n);
	if (!a->p)
		abort();
	memcpy(a->p + a->n, b, n);
	a->n += n;
}

enum { USTAR, GNU, V7 };

/* Sums a header with its checksum field as spaces, unsigned or signed, and writes it in. */
static void seal(unsigned char *h, int sign)
{
	long sum = 0;
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += sign ? (long)(signed char)h[i] : (long)h[i];
	char f[32];
	snprintf(f, sizeof f, "%06lo", (unsigned long)sum & 0777777);
	memcpy(h + 148, f, 7);
	h[155] = ' ';
}

/* Appends a header; name goes to prefix + name when prefix is given. */
static void header(struct arc *a, int fmt, const char *prefix, const char *name, char type, uint64_t size)
{
	unsigned char h[512] = {0};
	memcpy(h, name, strlen(name) < 100 ? strlen(name) : 100);
	memcpy(h + 100, "0000644", 8);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
	h[156] = (unsigned char)type;
	if (fmt == USTAR) {
		memcpy(h + 257, "ustar\0" "00", 8);
		if (prefix)
			memcpy(h + 345, prefix, strlen(prefix));
	} else if (fmt == GNU) {
		memcpy(h + 257, "ustar  \0", 8);
	}
	seal(h, 0);
	put(a, h, 512);
}

static void data(struct arc *a, const void *d, size_t n)
{
	static const unsigned char zero[512];
	put(a, d, n);
	put(a, zero, (512 - n % 512) % 512);
}

static void member(struct arc *a, int fmt, const char *name, const char *text)
{
	header(a, fmt, NULL, name, '0', strlen(text));
	data(a, text, strlen(text));
}

static void end(struct arc *a)
{
	static const unsigned char zero[1024];
	put(a, zero, 1024);
}

/* A pax record "LEN key=value\n". */
static size_t pax_rec(char *out, const char *key, const char *val)
{
	size_t body = strlen(key) + strlen(val) + 3, len = body + 1;
	while (snprintf(NULL, 0, "%zu", len) + body != len)
		len++;
	return (size_t)sprintf(out, "%zu %s=%s\n", len, key, val);
}

/* ---- reading a whole archive into a listing ---- */

struct got {
	int n;
	char names[16][400];
	int regular[16];
	char data[16][64];
	char read_err[16][256];
	int rc;                 /* tar_next's last: 0 or -1 */
	char err[256];
};

/* Lists every member, reading the regular ones (max bytes at most). */
static void list(const struct arc *a, size_t chunk, size_t max, struct got *g)
{
	struct src s = {a->p, a->n, 0, chunk};
	struct tar_reader *r = tar_open((struct byte_src){src_read, &s});
	struct tar_member m;
	memset(g, 0, sizeof *g);
	while ((g->rc = tar_next(r, &m, g->err, sizeof g->err)) == 1 && g->n < 16) {
		int i = g->n++;
		snprintf(g->names[i], sizeof g->names[i], "%s", m.name);
		g->regular[i] = m.regular;
		if (m.regular) {
			size_t len;
			unsigned char *d = tar_read(r, max, &len, g->read_err[i], sizeof g->read_err[i]);
			if (d)
				snprintf(g->data[i], sizeof g->data[i], "%.*s", (int)len, (const char *)d);
			free(d);
		}
	}
	tar_close(r);
}

static void test_ustar(void)
{
	struct arc a = {0};
	struct got g;
	member(&a, USTAR, "000000.jpg", "jpeg bytes");
	member(&a, USTAR, "000000.json", "{}");
	header(&a, USTAR, NULL, "sub/", '5', 0);
	header(&a, USTAR, NULL, "link.jpg", '2', 0);
	header(&a, USTAR, "a/prefix/that/is/kept", "000001.png", '0', 3);
	data(&a, "png", 3);
	header(&a, USTAR, NULL, "empty.png", '0', 0);
	member(&a, USTAR, "last.png", "z");
	end(&a);
	for (size_t chunk = 1; chunk <= 4096; chunk *= 8) {
		char name[64];
		list(&a, chunk, 1 << 20, &g);
		snprintf(name, sizeof name, "ustar members, reads of %zu bytes", chunk);
		CHECK(g.rc == 0 && g.n == 7 && !strcmp(g.names[0], "000000.jpg") && !strcmp(g.data[0], "jpeg bytes") &&
		      !strcmp(g.names[1], "000000.json") && !strcmp(g.data[1], "{}") && !g.regular[2] && !g.regular[3] &&
		      !strcmp(g.names[4], "a/prefix/that/is/kept/000001.png") && !strcmp(g.data[4], "png") &&
		      !strcmp(g.read_err[5], "empty file") && !strcmp(g.data[6], "z"),
		      name, "rc %d n %d: %s; [4] %s", g.rc, g.n, g.err, g.names[4]);
	}
	/* members not read are skipped by tar_next */
	{
		struct src s = {a.p, a.n, 0, 7};
		struct tar_reader *r = tar_open((struct byte_src){src_read, &s});
		struct tar_member m;
		char err[256] = "";
		int n = 0, rc;
		while ((rc = tar_next(r, &m, err, sizeof err)) == 1)
			n++;
		CHECK(rc == 0 && n == 7 && s.off >= a.n - 1024, "unread members skipped", "rc %d n %d %s", rc, n, err);
		tar_close(r);
	}
	free(a.p);
}

static void test_end_without_zero_blocks(void)
{
	struct arc a = {0};
	struct got g;
	member(&a, USTAR, "a.png", "aa");
	list(&a, 512, 100, &g);
	CHECK(g.rc == 0 && g.n == 1 && !strcmp(g.data[0], "aa"), "EOF after a member is the end", "rc %d %s", g.rc, g.err);
	a.n -= 510; /* the data whole, the padding cut */
	list(&a, 512, 100, &g);
	CHECK(g.rc == 0 && g.n == 1 && !strcmp(g.data[0], "aa"), "EOF in the padding loses nothing", "rc %d %s", g.rc, g.err);
	free(a.p);
	memset(&a, 0, sizeof a);
	list(&a, 512, 100, &g);
	CHECK(g.rc == -1 && strstr(g.err, "empty"), "an empty file is not an archive", "rc %d %s", g.rc, g.err);
	end(&a);
	list(&a, 512, 100, &g);
	CHECK(g.rc == 0 && g.n == 0, "an archive of zero blocks has no members", "rc %d %s", g.rc, g.err);
	free(a.p);
}

static void test_pax(void)
{
	struct arc a = {0};
	struct got g;
	char recs[1024], longname[260];
	size_t n;
	memset(longname, 'p', 200);
	strcpy(longname + 200, "/deep/name.png");
	n = pax_rec(recs, "comment", "ignored");
	n += pax_rec(recs + n, "path", longname);
	n += pax_rec(recs + n, "mtime", "1700000000.5");
	header(&a, USTAR, NULL, "PaxHeaders/x", 'x', n);
	data(&a, recs, n);
	member(&a, USTAR, "truncated-name.png", "pax data");
	/* a global header changes nothing */
	n = pax_rec(recs, "path", "global.png");
	header(&a, USTAR, NULL, "GlobalHead", 'g', n);
	data(&a, recs, n);
	member(&a, USTAR, "after.png", "x");
	/* a pax size overrides the header's */
	n = pax_rec(recs, "size", "5");
	header(&a, USTAR, NULL, "PaxHeaders/y", 'x', n);
	data(&a, recs, n);
	header(&a, USTAR, NULL, "sized.png", '0', 0);
	data(&a, "fives", 5);
	end(&a);
	list(&a, 3, 1 << 20, &g);
	CHECK(g.rc == 0 && g.n == 3 && !strcmp(g.names[0], longname) && !strcmp(g.data[0], "pax data") &&
	      !strcmp(g.names[1], "after.png") && !strcmp(g.names[2], "sized.png") && !strcmp(g.data[2], "fives"),
	      "pax path, size; global header ignored", "rc %d n %d %s; %s %s", g.rc, g.n, g.err, g.names[0], g.names[2]);
	free(a.p);

	/* malformed records */
	static const char *const bad[] = {"5 path=x\n", "x path=y\n", "12 pathxy\n\n\n", "10 path=a", "9 size=z\n"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		char name[64];
		memset(&a, 0, sizeof a);
		header(&a, USTAR, NULL, "PaxHeaders/x", 'x', strlen(bad[i]));
		data(&a, bad[i], strlen(bad[i]));
		member(&a, USTAR, "a.png", "a");
		end(&a);
		list(&a, 512, 100, &g);
		snprintf(name, sizeof name, "malformed pax record %zu", i);
		CHECK(g.rc == -1 && g.n == 0 && strstr(g.err, "pax"), name, "rc %d n %d %s", g.rc, g.n, g.err);
		free(a.p);
	}
	/* a pax header larger than the bound is refused before it is read */
	memset(&a, 0, sizeof a);
	header(&a, USTAR, NULL, "PaxHeaders/x", 'x', (uint64_t)1 << 40);
	list(&a, 512, 100, &g);
	CHECK(g.rc == -1 && strstr(g.err, "too large"), "huge pax header refused", "rc %d %s", g.rc, g.err);
	free(a.p);
}

static void test_gnu(void)
{
	struct arc a = {0};
	struct got g;
	char longname[400];
	memset(longname, 'g', 300);
	strcpy(longname + 300, ".jpg");
	header(&a, GNU, NULL, "././@LongLink", 'K', 9);
	data(&a, "linktarget", 9);
	header(&a, GNU, NULL, "././@LongLink", 'L', strlen(longname) + 1);
	data(&a, longname, strlen(longname) + 1);
	member(&a, GNU, "gggg-cut.jpg", "gnu");
	member(&a, V7, "old.png", "v7");
	end(&a);
	list(&a, 100, 1 << 20, &g);
	CHECK(g.rc == 0 && g.n == 2 && !strcmp(g.names[0], longname) && !strcmp(g.data[0], "gnu") &&
	      !strcmp(g.names[1], "old.png") && !strcmp(g.data[1], "v7"),
	      "GNU long name; K ignored; v7 header", "rc %d n %d %s; %.40s; %s %s %s", g.rc, g.n, g.err, g.names[0], g.data[0], g.names[1], g.data[1]);
	free(a.p);
}

static void test_checksums(void)
{
	struct arc a = {0};
	struct got g;
	unsigned char h[512];
	/* a name with bytes over 127: some writers sum them as signed chars */
	header(&a, USTAR, NULL, "caf\xc3\xa9.png", '0', 2);
	memcpy(h, a.p, 512);
	seal(a.p, 1);
	data(&a, "ok", 2);
	end(&a);
	CHECK(memcmp(h, a.p, 512) != 0 && tar_is_header(h) && tar_is_header(a.p), "signed and unsigned sums", "%s", "sums differ");
	list(&a, 512, 100, &g);
	CHECK(g.rc == 0 && g.n == 1 && !strcmp(g.data[0], "ok"), "signed checksum accepted", "%s", g.err);
	a.p[0] ^= 1;
	list(&a, 512, 100, &g);
	CHECK(g.rc == -1 && g.n == 0 && strstr(g.err, "not a tar archive"), "bad first checksum", "%s", g.err);
	free(a.p);

	memset(&a, 0, sizeof a);
	member(&a, USTAR, "a.png", "a");
	member(&a, USTAR, "b.png", "b");
	end(&a);
	a.p[1024 + 10] ^= 0x40;
	list(&a, 512, 100, &g);
	CHECK(g.rc == -1 && g.n == 1 && strstr(g.err, "checksum"), "bad second checksum", "rc %d n %d %s", g.rc, g.n,
	      g.err);
	memset(h, 0, sizeof h);
	CHECK(!tar_is_header(h), "zero block is no header", "%s", "taken");
	memcpy(h, "\x89PNG\r\n\x1a\n", 8);
	CHECK(!tar_is_header(h), "PNG bytes are no header", "%s", "taken");
	free(a.p);
}

/* Sets a header's size field to base-256 bytes (big-endian value after 0x80) and reseals it. */
static void base256(unsigned char *h, const unsigned char *v11)
{
	h[124] = 0x80;
	memcpy(h + 125, v11, 11);
	seal(h, 0);
}

static void test_sizes(void)
{
	struct arc a = {0};
	struct got g;
	unsigned char v[11] = {0};
	/* base-256 small size: read */
	header(&a, GNU, NULL, "b256.png", '0', 0);
	v[10] = 3;
	base256(a.p, v);
	data(&a, "256", 3);
	end(&a);
	list(&a, 512, 100, &g);
	CHECK(g.rc == 0 && g.n == 1 && !strcmp(g.data[0], "256"), "base-256 size", "rc %d %s", g.rc, g.err);
	list(&a, 512, 2, &g);
	CHECK(g.rc == 0 && g.n == 1 && strstr(g.read_err[0], "too large (3 bytes)"), "member over max skipped",
	      "rc %d %s / %s", g.rc, g.err, g.read_err[0]);
	/* 2^62 bytes: too large, and the skip finds the archive cut */
	memset(v, 0, sizeof v);
	v[3] = 0x40;
	base256(a.p, v);
	list(&a, 512, 100, &g);
	CHECK(g.rc == 0 && g.n == 1 && strstr(g.read_err[0], "truncated"), "huge base-256 size, archive cut",
	      "rc %d %s / %s", g.rc, g.err, g.read_err[0]);
	/* more than 64 bits */
	memset(v, 0xff, sizeof v);
	base256(a.p, v);
	list(&a, 512, 100, &g);
	CHECK(g.rc == -1 && strstr(g.err, "size"), "base-256 overflow", "rc %d %s", g.rc, g.err);
	/* negative */
	a.p[124] = 0xff;
	seal(a.p, 0);
	list(&a, 512, 100, &g);
	CHECK(g.rc == -1 && strstr(g.err, "size"), "negative base-256 size", "rc %d %s", g.rc, g.err);
	/* not octal */
	memcpy(a.p + 124, "00000000009\0", 12);
	seal(a.p, 0);
	list(&a, 512, 100, &g);
	CHECK(g.rc == -1 && strstr(g.err, "size"), "size not octal", "rc %d %s", g.rc, g.err);
	/* 8 GiB - 1 in octal, the data absent: too large for max, the skip is cut short */
	memcpy(a.p + 124, "77777777777\0", 12);
	seal(a.p, 0);
	list(&a, 512, 1 << 20, &g);
	CHECK(g.rc == 0 && g.n == 1 && strstr(g.read_err[0], "truncated"), "huge octal size, archive cut", "%s / %s",
	      g.err, g.read_err[0]);
	/* large enough to read but absent: the buffer grows with the bytes, not with the claim */
	list(&a, 512, (size_t)1 << 40, &g);
	CHECK(g.rc == 0 && g.n == 1 && strstr(g.read_err[0], "truncated"), "claimed 8 GiB, read what came", "%s",
	      g.read_err[0]);
	free(a.p);
}

/* Every prefix of an archive: no crash, a clear error or a clean end, and what came before intact. */
static void test_truncation(void)
{
	struct arc a = {0};
	char recs[512];
	size_t n, bad = 0, errors = 0;
	n = pax_rec(recs, "path", "pax/long/name.png");
	header(&a, USTAR, NULL, "PaxHeaders/x", 'x', n);
	data(&a, recs, n);
	member(&a, USTAR, "one.png", "first member");
	header(&a, GNU, NULL, "././@LongLink", 'L', 9);
	data(&a, "gnu.jpeg", 9);
	member(&a, GNU, "x", "second");
	header(&a, USTAR, NULL, "dir/", '5', 0);
	member(&a, USTAR, "three.jpg", "third");
	end(&a);
	size_t full = a.n;
	for (size_t cut = 0; cut <= full; cut++) {
		struct got g;
		a.n = cut;
		list(&a, cut % 7 + 1, 1 << 20, &g);
		int ok = g.n <= 4 && (g.rc == 0 || (g.rc == -1 && g.err[0] && !strchr(g.err, '\n')));
		/* names and data present are whole and right */
		if (g.n > 0 && (strcmp(g.names[0], "pax/long/name.png") ||
		                (g.data[0][0] && strcmp(g.data[0], "first member"))))
			ok = 0;
		if (g.n > 1 && (strcmp(g.names[1], "gnu.jpeg") || (g.data[1][0] && strcmp(g.data[1], "second"))))
			ok = 0;
		for (int i = 0; i < g.n; i++)
			if (g.regular[i] && !g.data[i][0] && !g.read_err[i][0])
				ok = 0; /* a member read gives its data or a reason */
		if (cut == full && !(g.rc == 0 && g.n == 4 && !strcmp(g.data[3], "third")))
			ok = 0;
		if (g.rc == -1 || (g.n && g.read_err[g.n - 1][0]))
			errors++;
		if (!ok && bad++ < 5)
			printf("cut at %zu: rc %d n %d err '%s'\n", cut, g.rc, g.n, g.err);
	}
	CHECK(bad == 0, "archive cut at every byte", "%zu cuts went wrong", bad);
	CHECK(errors > full / 2, "most cuts are errors", "%zu of %zu", errors, full);
	free(a.p);
}

/* A source that fails with EIO. */
static ssize_t eio_read(void *ctx, void *buf, size_t n)
{
	errno = EIO;
	return -1;
}

static void test_read_error(void)
{
	struct tar_reader *r = tar_open((struct byte_src){eio_read, NULL});
	struct tar_member m;
	char err[256] = "";
	int rc = tar_next(r, &m, err, sizeof err);
	CHECK(rc == -1 && strstr(err, "error") && tar_next(r, &m, err, sizeof err) == 0, "read error, then the end",
	      "rc %d %s", rc, err);
	tar_close(r);
	tar_close(NULL);
}

int main(void)
{
	test_ustar();
	test_end_without_zero_blocks();
	test_pax();
	test_gnu();
	test_checksums();
	test_sizes();
	test_truncation();
	test_read_error();
	return check_done();
}
