/*
 * test_image.c — image_decode against the fixtures of tests/data/images/
 * (regenerate them with /usr/bin/python3 tests/data/images/make_images.py).
 *
 * PNGs must match their NAME.pgm/.ppm byte for byte.  JPEGs are compared
 * with Pillow's decode of the same file (same libjpeg-turbo underneath) with
 * a tolerance of JPEG_TOL per sample; CMYK uses Pillow's exact integer
 * formula, so it gets the same tolerance.  Runs from the repository root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "formats/image.h"

#define DIR "tests/data/images/"
#ifndef JPEG_TOL
#define JPEG_TOL 2
#endif
#define DEFAULT_MAX 100000000LL

/* Reads fixture `name` of DIR; NULL if unreadable. */
static unsigned char *slurp(const char *name, size_t *len)
{
	char path[256];
	snprintf(path, sizeof path, DIR "%s", name);
	return check_slurp(path, len);
}

/* The expected pixels written by make_images.py: binary P5/P6, maxval 255. */
struct pnm {
	int w, h, c;
	unsigned char *data;
};

static int read_pnm(const char *name, struct pnm *p)
{
	size_t len, off;
	unsigned char *buf = slurp(name, &len);
	char kind;
	int n = 0;

	memset(p, 0, sizeof *p);
	if (buf == NULL)
		return -1;
	buf[len] = '\0';
	if (sscanf((char *)buf, "P%c %d %d 255%n", &kind, &p->w, &p->h, &n) != 3 || n == 0 ||
	    (kind != '5' && kind != '6')) {
		free(buf);
		return -1;
	}
	p->c = kind == '5' ? 1 : 3;
	off = (size_t)n + 1;
	if (len - off != (size_t)p->w * p->h * p->c) {
		free(buf);
		return -1;
	}
	p->data = malloc(len - off);
	memcpy(p->data, buf + off, len - off);
	free(buf);
	return 0;
}

/* Decodes a fixture; returns image_decode's result (-2 if unreadable). */
static int decode(const char *name, long long max, int fw, int fh, struct image *img,
                  char *err, size_t errlen)
{
	size_t len;
	unsigned char *buf = slurp(name, &len);
	int rc;

	if (buf == NULL) {
		snprintf(err, errlen, "cannot read %s", name);
		memset(img, 0, sizeof *img);
		return -2;
	}
	rc = image_decode(buf, len, max, fw, fh, img, err, errlen);
	free(buf);
	return rc;
}

/* Largest absolute difference between img and the expected file (-1 if the
 * shapes differ or the expected file is missing). */
static int max_diff(const struct image *img, const char *expect)
{
	struct pnm p;
	size_t i, n;
	int d = 0;

	if (read_pnm(expect, &p) < 0)
		return -1;
	if (p.w != img->width || p.h != img->height || p.c != img->channels) {
		free(p.data);
		return -1;
	}
	n = (size_t)p.w * p.h * p.c;
	for (i = 0; i < n; i++) {
		int e = abs((int)img->data[i] - (int)p.data[i]);
		d = e > d ? e : d;
	}
	free(p.data);
	return d;
}

static void test_png_exact(void)
{
	static const char *names[] = {
		"gray1", "gray2", "gray4", "gray8", "gray16", "gray8_trns",
		"graya8", "graya16", "rgb8", "rgb16", "rgb8_trns", "rgba8", "rgba16",
		"pal1", "pal2", "pal4", "pal8", "pal4_trns", "pal8_trns",
		"rgb8_interlaced", "rgba16_interlaced", "gray2_interlaced",
		"pal1_interlaced", "graya16_interlaced", "rgb8_1x1_interlaced",
		"pillow_rgb", "pillow_pal2",
	};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		char file[64], expect[64], name[96], err[256];
		struct image img;
		int rc, d, gray;

		snprintf(file, sizeof file, "%s.png", names[i]);
		gray = strncmp(names[i], "gray", 4) == 0;
		snprintf(expect, sizeof expect, "%s.%s", names[i], gray ? "pgm" : "ppm");
		rc = decode(file, DEFAULT_MAX, 0, 0, &img, err, sizeof err);
		snprintf(name, sizeof name, "png %s decodes", names[i]);
		CHECK(rc == 0 && img.format == IMAGE_PNG && img.scale_denom == 1, name, "rc %d: %s", rc, err);
		if (rc == 0) {
			d = max_diff(&img, expect);
			snprintf(name, sizeof name, "png %s matches %s exactly", names[i], expect);
			CHECK(d == 0, name, "%dx%dx%d, max diff %d", img.width, img.height,
			      img.channels, d);
		}
		image_free(&img);
	}
}

static void test_jpeg_pillow(void)
{
	static const struct { const char *name, *expect; int channels; } cases[] = {
		{"baseline", "baseline.ppm", 3},
		{"baseline444", "baseline444.ppm", 3},
		{"progressive", "progressive.ppm", 3},
		{"gray", "gray.pgm", 1},
		{"cmyk", "cmyk.ppm", 3},
		{"big", "big.ppm", 3},
		{"extraneous", "extraneous.ppm", 3},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char file[64], name[96], err[256];
		struct image img;
		int rc, d;

		snprintf(file, sizeof file, "%s.jpg", cases[i].name);
		rc = decode(file, DEFAULT_MAX, 0, 0, &img, err, sizeof err);
		snprintf(name, sizeof name, "jpeg %s decodes", cases[i].name);
		CHECK(rc == 0 && img.format == IMAGE_JPEG && img.channels == cases[i].channels &&
		      img.scale_denom == 1, name, "rc %d: %s", rc, err);
		if (rc == 0) {
			d = max_diff(&img, cases[i].expect);
			snprintf(name, sizeof name, "jpeg %s within %d of Pillow", cases[i].name, JPEG_TOL);
			CHECK(d >= 0 && d <= JPEG_TOL, name, "max diff %d (-1: shape)", d);
		}
		image_free(&img);
	}
}

/* Channel values of the pixel at (x, y). */
static const unsigned char *px(const struct image *img, int x, int y)
{
	return img->data + ((size_t)y * img->width + x) * img->channels;
}

static int near(const unsigned char *p, int r, int g, int b)
{
	return abs(p[0] - r) < 40 && abs(p[1] - g) < 40 && abs(p[2] - b) < 40;
}

static void test_exif(void)
{
	static const char *names[] = {"exif1", "exif2", "exif3", "exif4", "exif5",
	                              "exif6", "exif7", "exif8", "exif6_ii"};
	size_t i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++) {
		char file[64], expect[64], name[96], err[256];
		struct image img;
		int rc, d, w, h;

		snprintf(file, sizeof file, "%s.jpg", names[i]);
		snprintf(expect, sizeof expect, "%s.ppm", names[i]);
		rc = decode(file, DEFAULT_MAX, 0, 0, &img, err, sizeof err);
		snprintf(name, sizeof name, "%s decodes to the upright 20x12", names[i]);
		CHECK(rc == 0 && img.width == 20 && img.height == 12 && img.channels == 3, name,
		      "rc %d (%s), %dx%d", rc, err, img.width, img.height);
		if (rc != 0) {
			image_free(&img);
			continue;
		}
		w = img.width;
		h = img.height;
		snprintf(name, sizeof name, "%s red top-left, green top-right, blue bottom-left, white bottom-right",
		         names[i]);
		CHECK(near(px(&img, 2, 2), 230, 20, 20) && near(px(&img, w - 3, 2), 20, 230, 20) &&
		      near(px(&img, 2, h - 3), 20, 20, 230) && near(px(&img, w - 3, h - 3), 240, 240, 240),
		      name, "top-left %d,%d,%d", px(&img, 2, 2)[0], px(&img, 2, 2)[1], px(&img, 2, 2)[2]);
		d = max_diff(&img, expect);
		snprintf(name, sizeof name, "%s within %d of Pillow's exif_transpose", names[i], JPEG_TOL);
		CHECK(d >= 0 && d <= JPEG_TOL, name, "max diff %d", d);
		image_free(&img);
	}
}

/* Hostile EXIF: the decode must succeed and ignore the orientation. */
static void test_exif_hostile(void)
{
	size_t len, i, t = 0;
	unsigned char *orig = slurp("exif6_ii.jpg", &len);
	static const char *what[] = {"IFD offset past the end", "entry count 0xFFFF past the end",
	                             "orientation 9", "no IFD entries",
	                             "type ASCII", "byte order XX"};

	CHECK(orig != NULL, "exif6_ii.jpg readable", "missing");
	if (orig == NULL)
		return;
	for (i = 0; i + 6 < len; i++)
		if (memcmp(orig + i, "Exif\0\0", 6) == 0) {
			t = i + 6;
			break;
		}
	CHECK(t > 0 && orig[t] == 'I', "exif6_ii.jpg has a little-endian Exif segment", "at %zu", t);
	if (t == 0 || orig[t] != 'I') {
		free(orig);
		return;
	}
	for (i = 0; i < sizeof what / sizeof what[0]; i++) {
		unsigned char *buf = malloc(len);
		struct image img;
		char err[256], name[128];
		size_t ifd = t + 8;     /* Pillow writes IFD0 right after the header */
		int rc, expect_w;

		memcpy(buf, orig, len);
		expect_w = 12;          /* stored size: orientation ignored */
		switch (i) {
		case 0: buf[t + 4] = 0xF0; buf[t + 5] = 0xFF; buf[t + 6] = 0xFF; buf[t + 7] = 0xFF; break;
		/* The tag is the first entry, so it is still found: upright. */
		case 1: buf[ifd] = 0xFF; buf[ifd + 1] = 0xFF; expect_w = 20; break;
		case 2: buf[ifd + 2 + 8] = 9; break;
		case 3: buf[ifd] = 0; buf[ifd + 1] = 0; break;
		case 4: buf[ifd + 2 + 2] = 2; break;
		case 5: buf[t] = 'X'; buf[t + 1] = 'X'; break;
		}
		rc = image_decode(buf, len, DEFAULT_MAX, 0, 0, &img, err, sizeof err);
		snprintf(name, sizeof name, "hostile EXIF (%s) is harmless", what[i]);
		CHECK(rc == 0 && img.width == expect_w, name, "rc %d (%s), width %d", rc, err, img.width);
		image_free(&img);
		free(buf);
	}
	free(orig);
}

static void test_fast(void)
{
	static const struct {
		const char *file; int fw, fh, denom, w, h; const char *expect;
	} cases[] = {
		{"big.jpg", 0, 0, 1, 64, 48, "big.ppm"},
		{"big.jpg", 16, 12, 4, 16, 12, "big_d4.ppm"},
		{"big.jpg", 17, 12, 2, 32, 24, "big_d2.ppm"},
		{"big.jpg", 32, 24, 2, 32, 24, "big_d2.ppm"},
		{"big.jpg", 33, 24, 1, 64, 48, "big.ppm"},
		{"big.jpg", 8, 6, 8, 8, 6, NULL},
		{"big.jpg", 1, 1, 8, 8, 6, NULL},
		{"big.jpg", 100, 100, 1, 64, 48, "big.ppm"},
		{"big.jpg", 16, 0, 1, 64, 48, "big.ppm"},
		/* Stored 64x48 with orientation 6: upright 48x64. */
		{"big_exif6.jpg", 12, 16, 4, 12, 16, "big_exif6_d4.ppm"},
		{"big_exif6.jpg", 16, 12, 2, 24, 32, NULL},
		{"gray.jpg", 5, 3, 4, 6, 4, NULL},
		{"rgb8.png", 1, 1, 1, 13, 7, "rgb8.ppm"},
	};
	size_t i;

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char name[128], err[256];
		struct image img;
		int rc, d;

		rc = decode(cases[i].file, DEFAULT_MAX, cases[i].fw, cases[i].fh, &img, err, sizeof err);
		snprintf(name, sizeof name, "fast %s at %dx%d decodes at 1/%d to %dx%d", cases[i].file,
		         cases[i].fw, cases[i].fh, cases[i].denom, cases[i].w, cases[i].h);
		CHECK(rc == 0 && img.scale_denom == cases[i].denom && img.width == cases[i].w &&
		      img.height == cases[i].h, name, "rc %d (%s): 1/%d %dx%d", rc, err,
		      img.scale_denom, img.width, img.height);
		if (rc == 0 && cases[i].expect != NULL) {
			d = max_diff(&img, cases[i].expect);
			snprintf(name, sizeof name, "fast %s at %dx%d within %d of the expected pixels",
			         cases[i].file, cases[i].fw, cases[i].fh, JPEG_TOL);
			CHECK(d >= 0 && d <= JPEG_TOL, name, "max diff %d", d);
		}
		image_free(&img);
	}
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* An error must leave *out empty and a one-line message containing want. */
static void expect_error(const char *file, long long max, const char *want)
{
	char name[160], err[256];
	struct image img;
	int rc;

	memset(&img, 0x5A, sizeof img);
	memset(err, 'x', sizeof err);
	rc = decode(file, max, 0, 0, &img, err, sizeof err);
	snprintf(name, sizeof name, "%s is refused with \"%s\"", file, want);
	CHECK(rc == -1 && strstr(err, want) != NULL && strchr(err, '\n') == NULL, name,
	      "rc %d, err \"%s\"", rc, rc == 0 ? "" : err);
	snprintf(name, sizeof name, "%s leaves the image empty", file);
	CHECK(img.data == NULL && img.width == 0 && img.height == 0, name, "data %p %dx%d",
	      (void *)img.data, img.width, img.height);
	if (rc == 0)
		image_free(&img);
}

static void test_errors(void)
{
	double t0;

	expect_error("truncated.png", DEFAULT_MAX, "truncated PNG data");
	expect_error("signature_only.png", DEFAULT_MAX, "truncated PNG data");
	expect_error("bad_crc.png", DEFAULT_MAX, "PNG error: IDAT: CRC error");
	expect_error("corrupt_idat.png", DEFAULT_MAX, "PNG error: IDAT: ");
	expect_error("short_idat.png", DEFAULT_MAX, "PNG error: Not enough image data");
	expect_error("zero.png", DEFAULT_MAX, "PNG error: Invalid IHDR data (Image width is zero");
	t0 = now();
	/* Under ASan an attempt to allocate 30 GB would abort the test. */
	expect_error("huge.png", DEFAULT_MAX,
	             "image claims 100000x100000 pixels, more than --max-pixels (100000000)");
	CHECK(now() - t0 < 0.5, "huge.png is refused before decoding", "%.3f s", now() - t0);
	t0 = now();
	expect_error("huge.jpg", DEFAULT_MAX,
	             "image claims 65000x65000 pixels, more than --max-pixels (100000000)");
	CHECK(now() - t0 < 0.5, "huge.jpg is refused before decoding", "%.3f s", now() - t0);
	expect_error("truncated.jpg", DEFAULT_MAX, "truncated JPEG data");
	expect_error("zero.jpg", DEFAULT_MAX, "JPEG error: ");
	expect_error("soi_only.jpg", DEFAULT_MAX, "truncated JPEG data");
	expect_error("text.jpg", DEFAULT_MAX, "not a PNG or JPEG file");
	expect_error("empty.png", DEFAULT_MAX, "empty file");
	expect_error("make_images.py", DEFAULT_MAX, "not a PNG or JPEG file");

	/* max_pixels is inclusive: w*h == max decodes, one less is refused. */
	expect_error("rgb8.png", 90, "image claims 13x7 pixels, more than --max-pixels (90)");
	expect_error("baseline.jpg", 272, "image claims 21x13 pixels, more than --max-pixels (272)");
	{
		struct image img;
		char err[256];
		int rc = decode("rgb8.png", 91, 0, 0, &img, err, sizeof err);

		CHECK(rc == 0, "rgb8.png decodes with max_pixels == 13*7", "%s", err);
		image_free(&img);
		rc = decode("baseline.jpg", 273, 0, 0, &img, err, sizeof err);
		CHECK(rc == 0, "baseline.jpg decodes with max_pixels == 21*13", "%s", err);
		image_free(&img);
	}
}

static void test_api(void)
{
	static const unsigned char png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0};
	static const unsigned char jpg[] = {0xFF, 0xD8, 0xFF, 0xE0};
	struct image img;
	char err[8];
	int rc;

	CHECK(image_sniff(png, sizeof png) == IMAGE_PNG, "sniff PNG signature", "no");
	CHECK(image_sniff(png, 7) == IMAGE_UNKNOWN, "sniff 7 bytes of PNG signature", "no");
	CHECK(image_sniff(jpg, sizeof jpg) == IMAGE_JPEG, "sniff JPEG FF D8 FF", "no");
	CHECK(image_sniff(jpg, 2) == IMAGE_UNKNOWN, "sniff FF D8 alone", "no");
	CHECK(image_sniff(NULL, 0) == IMAGE_UNKNOWN, "sniff NULL", "no");
	CHECK(image_sniff((const unsigned char *)"GIF89a", 6) == IMAGE_UNKNOWN, "sniff GIF", "no");

	image_free(NULL);
	memset(&img, 0, sizeof img);
	image_free(&img);
	rc = decode("rgb8.png", DEFAULT_MAX, 0, 0, &img, err, sizeof err);
	image_free(&img);
	image_free(&img);
	CHECK(rc == 0 && img.data == NULL, "image_free twice is safe", "rc %d", rc);

	rc = decode("truncated.png", DEFAULT_MAX, 0, 0, &img, err, sizeof err);
	CHECK(rc == -1 && strlen(err) == sizeof err - 1, "a short err buffer is truncated safely",
	      "rc %d, \"%s\"", rc, err);
	rc = image_decode((const unsigned char *)"x", 1, DEFAULT_MAX, 0, 0, &img, NULL, 0);
	CHECK(rc == -1, "err may be NULL", "rc %d", rc);
}

/*
 * Every prefix of a file must decode or fail cleanly; a prefix that cuts
 * into the image data (before the last 12 bytes of a PNG, i.e. IEND, or the
 * 2-byte EOI of a JPEG) must fail.  Then every byte flipped in turn must
 * not crash (ASan/UBSan builds check the memory side).
 */
static void test_mangled(const char *file)
{
	size_t len, n, keep;
	unsigned char *orig = slurp(file, &len), *buf;
	int bad_prefix = 0, bad_msg = 0, flips_ok = 0;
	char name[128], err[256];
	struct image img;

	if (orig == NULL) {
		CHECK(0, file, "missing");
		return;
	}
	keep = image_sniff(orig, len) == IMAGE_PNG ? 12 : 2;
	for (n = 0; n < len; n++) {
		buf = malloc(n ? n : 1);
		memcpy(buf, orig, n);
		int rc = image_decode(buf, n, DEFAULT_MAX, 0, 0, &img, err, sizeof err);

		if (rc == 0 && n < len - keep)
			bad_prefix++;
		if (rc != 0 && (err[0] == '\0' || strchr(err, '\n') != NULL))
			bad_msg++;
		image_free(&img);
		free(buf);
	}
	snprintf(name, sizeof name, "%s: every cut-short prefix is refused", file);
	CHECK(bad_prefix == 0, name, "%d prefixes decoded", bad_prefix);
	snprintf(name, sizeof name, "%s: every refusal has a one-line reason", file);
	CHECK(bad_msg == 0, name, "%d without", bad_msg);

	buf = malloc(len);
	for (n = 0; n < len; n++) {
		memcpy(buf, orig, len);
		buf[n] ^= 0xA5;
		if (image_decode(buf, len, DEFAULT_MAX, 16, 16, &img, err, sizeof err) == 0) {
			size_t i, sum = 0, size = (size_t)img.width * img.height * img.channels;

			/* A branch on every pixel lets valgrind flag uninitialised output. */
			for (i = 0; i < size; i++)
				sum += img.data[i];
			flips_ok += img.data != NULL && img.width > 0 && img.height > 0 &&
			            sum <= size * 255;
		} else
			flips_ok += err[0] != '\0';
		image_free(&img);
	}
	snprintf(name, sizeof name, "%s: each byte flipped decodes or fails cleanly", file);
	CHECK(flips_ok == (int)len, name, "%d of %zu", flips_ok, len);
	free(buf);
	free(orig);
}

int main(void)
{
	test_api();
	test_png_exact();
	test_jpeg_pillow();
	test_exif();
	test_exif_hostile();
	test_fast();
	test_errors();
	test_mangled("rgb8_interlaced.png");
	test_mangled("pal4_trns.png");
	test_mangled("graya16.png");
	test_mangled("baseline.jpg");
	test_mangled("progressive.jpg");
	test_mangled("exif6_ii.jpg");
	test_mangled("cmyk.jpg");
	return check_done();
}
