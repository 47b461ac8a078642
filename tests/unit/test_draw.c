/*
 * test_draw.c — draw_detections on synthetic images: each picture is written
 * under a mkdtemp directory in /tmp, read back with image_decode and checked
 * against what was drawn.  PNG output must leave every pixel away from the
 * boxes and labels exactly as it was; JPEG output is checked for size and
 * approximate colours.  Runs from the repository root.
 */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "formats/draw.h"
#include "formats/image.h"

static char tmpdir[64];

/* The colours of classes 0, 1, 2 and 5 (ultralytics' palette). */
static const unsigned char c0[3] = {0xFF, 0x38, 0x38};
static const unsigned char c1[3] = {0xFF, 0x9D, 0x97};
static const unsigned char c2[3] = {0xFF, 0x70, 0x1F};
static const unsigned char c5[3] = {0x48, 0xF9, 0x0A};

/* A w x h image of ch channels with a pattern no palette colour matches. */
static struct image synth(int w, int h, int ch)
{
	struct image img = {w, h, ch, malloc((size_t)w * h * ch), IMAGE_PNG, 1};
	int x, y, k;

	for (y = 0; y < h; y++)
		for (x = 0; x < w; x++)
			for (k = 0; k < ch; k++)
				img.data[((size_t)y * w + x) * ch + k] =
				        (unsigned char)(20 + (x * 3 + y * 5 + k * 40) % 90);
	return img;
}

/* A w x h image of ch channels, every sample v. */
static struct image flat(int w, int h, int ch, unsigned char v)
{
	struct image img = {w, h, ch, malloc((size_t)w * h * ch), IMAGE_PNG, 1};

	memset(img.data, v, (size_t)w * h * ch);
	return img;
}

/* Builds tmpdir/name into path. */
static const char *tmp_path(char *path, size_t len, const char *name)
{
	snprintf(path, len, "%s/%s", tmpdir, name);
	return path;
}

/* Reads and decodes a file; returns 0, or -1 (out left empty). */
static int load(const char *path, struct image *out)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;
	char err[256];
	int rc = -1;

	memset(out, 0, sizeof *out);
	if (f == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n);
		if (buf != NULL && fread(buf, 1, (size_t)n, f) == (size_t)n)
			rc = image_decode(buf, (size_t)n, 0, 0, 0, out, err, sizeof err);
		free(buf);
	}
	fclose(f);
	return rc;
}

/* The RGB of (x, y) in img (gray repeated for 1 channel). */
static void rgb_at(const struct image *img, int x, int y, unsigned char *rgb)
{
	const unsigned char *p = img->data + ((size_t)y * img->width + x) * img->channels;

	if (img->channels == 3)
		memcpy(rgb, p, 3);
	else
		rgb[0] = rgb[1] = rgb[2] = p[0];
}

static int is_colour(const struct image *img, int x, int y, const unsigned char *c)
{
	unsigned char rgb[3];

	rgb_at(img, x, y, rgb);
	return memcmp(rgb, c, 3) == 0;
}

static int near_colour(const struct image *img, int x, int y, const unsigned char *c, int tol)
{
	unsigned char rgb[3];
	int k;

	rgb_at(img, x, y, rgb);
	for (k = 0; k < 3; k++)
		if (abs(rgb[k] - c[k]) > tol)
			return 0;
	return 1;
}

/*
 * Counts the pixels outside the rectangles keep[0..nkeep) (x0, y0, x1, y1,
 * exclusive) where out differs from the source src (out is RGB).
 */
static int changed_outside(const struct image *src, const struct image *out,
                           const int (*keep)[4], int nkeep)
{
	int x, y, i, changed = 0;

	for (y = 0; y < src->height; y++)
		for (x = 0; x < src->width; x++) {
			unsigned char a[3], b[3];
			int inside = 0;

			for (i = 0; i < nkeep; i++)
				inside |= x >= keep[i][0] && x < keep[i][2] && y >= keep[i][1] &&
				          y < keep[i][3];
			if (inside)
				continue;
			rgb_at(src, x, y, a);
			rgb_at(out, x, y, b);
			changed += memcmp(a, b, 3) != 0;
		}
	return changed;
}

/* Length of the run of colour c on row y starting at x, going right. */
static int run_length(const struct image *img, int x, int y, const unsigned char *c)
{
	int n = 0;

	while (x + n < img->width && is_colour(img, x + n, y, c))
		n++;
	return n;
}

/* Counts pixels of colour c in [x0, x1) x [y0, y1). */
static int count_colour(const struct image *img, int x0, int y0, int x1, int y1,
                        const unsigned char *c)
{
	int x, y, n = 0;

	for (y = y0; y < y1; y++)
		for (x = x0; x < x1; x++)
			n += is_colour(img, x, y, c);
	return n;
}

/* Says whether any entry of tmpdir ends in ".tmp". */
static int tmp_left(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	int found = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		size_t n = strlen(e->d_name);

		found |= n >= 4 && strcmp(e->d_name + n - 4, ".tmp") == 0;
	}
	closedir(d);
	return found;
}

/* One box on an RGB image, PNG: edges, label, untouched surroundings. */
static void test_png_rgb(void)
{
	struct image src = synth(200, 160, 3), out, copy = src;
	struct draw_box box = {40, 50, 120, 130, 0.97f, 0, "face"};
	/* Thickness round(160 / 300) -> 1; label "face 0.97": 9 * 6 + 1 wide,
	 * 10 high, right above the box. */
	const int keep[][4] = {{40, 50, 120, 130}, {40, 40, 40 + 55, 50}};
	char path[128], err[256];
	int rc;

	copy.data = malloc(200 * 160 * 3);
	memcpy(copy.data, src.data, 200 * 160 * 3);
	rc = draw_detections(&src, &box, 1, IMAGE_PNG, tmp_path(path, sizeof path, "one.png"),
	                     err, sizeof err);
	CHECK(rc == 0, "png rgb: written", "rc %d: %s", rc, err);
	CHECK(memcmp(copy.data, src.data, 200 * 160 * 3) == 0, "png rgb: source image untouched",
	      "modified");
	CHECK(!tmp_left(), "png rgb: no .tmp file left", "found one");
	if (load(path, &out) != 0) {
		CHECK(0, "png rgb: decodes", "cannot");
		image_free(&src);
		image_free(&copy);
		return;
	}
	CHECK(out.width == 200 && out.height == 160 && out.channels == 3 && out.format == IMAGE_PNG,
	      "png rgb: size unchanged, RGB", "%dx%dx%d", out.width, out.height, out.channels);
	CHECK(is_colour(&out, 40, 90, c0) && is_colour(&out, 119, 90, c0) &&
	      is_colour(&out, 80, 129, c0) && is_colour(&out, 60, 50, c0),
	      "png rgb: the four edges have the class colour", "not all");
	CHECK(!is_colour(&out, 41, 90, c0) && !is_colour(&out, 118, 90, c0) &&
	      !is_colour(&out, 80, 128, c0) && !is_colour(&out, 39, 90, c0) &&
	      !is_colour(&out, 120, 90, c0) && !is_colour(&out, 80, 130, c0),
	      "png rgb: outline is 1 px inside the box edges", "thicker or outside");
	CHECK(is_colour(&out, 80, 90, src.data + (90 * 200 + 80) * 3),
	      "png rgb: box interior unchanged", "changed");
	CHECK(changed_outside(&copy, &out, keep, 2) == 0,
	      "png rgb: every pixel away from box and label exactly unchanged", "%d changed",
	      changed_outside(&copy, &out, keep, 2));
	CHECK(run_length(&out, 40, 49, c0) == 55, "png rgb: label background right above the box",
	      "run of %d", run_length(&out, 40, 49, c0));
	CHECK(count_colour(&out, 40, 40, 95, 50, c0) > 300 &&
	      count_colour(&out, 40, 40, 95, 50, (const unsigned char *)"\xff\xff\xff") > 40,
	      "png rgb: label is white text on the box colour", "%d colour, %d white",
	      count_colour(&out, 40, 40, 95, 50, c0),
	      count_colour(&out, 40, 40, 95, 50, (const unsigned char *)"\xff\xff\xff"));
	image_free(&out);
	image_free(&src);
	image_free(&copy);
}

/* Three boxes on a gray image, NULL labels: class numbers and colours. */
static void test_png_gray(void)
{
	struct image src = synth(300, 200, 1), out;
	struct draw_box boxes[3] = {
		{20, 30, 100, 90, 0.5f, 0, NULL},
		{150.4f, 40.6f, 280.2f, 110.9f, 0.25f, 1, NULL},
		{30, 130, 120, 190, 0.999f, 22, NULL},  /* 22 mod 20: colour of class 2 */
	};
	const int keep[][4] = {
		{20, 20, 100, 90}, {150, 30, 281, 111}, {30, 120, 120, 190},
	};
	char path[128], err[256];
	int rc;

	rc = draw_detections(&src, boxes, 3, IMAGE_PNG, tmp_path(path, sizeof path, "gray.png"),
	                     err, sizeof err);
	CHECK(rc == 0, "png gray: written", "rc %d: %s", rc, err);
	if (load(path, &out) != 0) {
		CHECK(0, "png gray: decodes", "cannot");
		image_free(&src);
		return;
	}
	CHECK(out.width == 300 && out.height == 200 && out.channels == 3,
	      "png gray: size unchanged, written as RGB", "%dx%dx%d", out.width, out.height,
	      out.channels);
	CHECK(is_colour(&out, 20, 60, c0) && is_colour(&out, 99, 60, c0),
	      "png gray: class 0 edges", "wrong");
	/* Fractional edges: pixels 150..280 wide, 40..110 high. */
	CHECK(is_colour(&out, 150, 80, c1) && is_colour(&out, 280, 80, c1) &&
	      is_colour(&out, 200, 110, c1) && !is_colour(&out, 281, 80, c1) &&
	      !is_colour(&out, 200, 111, c1),
	      "png gray: class 1 edges at floor(x1) .. ceil(x2) - 1", "wrong");
	CHECK(is_colour(&out, 30, 160, c2) && is_colour(&out, 75, 189, c2),
	      "png gray: class 22 wraps to the colour of class 2", "wrong");
	CHECK(changed_outside(&src, &out, keep, 3) == 0,
	      "png gray: pixels away from boxes keep their gray value", "%d changed",
	      changed_outside(&src, &out, keep, 3));
	/* "0 0.50", "1 0.25", "22 1.00": 6, 6 and 7 characters. */
	CHECK(run_length(&out, 20, 29, c0) == 37 && run_length(&out, 150, 39, c1) == 37 &&
	      run_length(&out, 30, 129, c2) == 43,
	      "png gray: labels are class number and score", "runs %d %d %d",
	      run_length(&out, 20, 29, c0), run_length(&out, 150, 39, c1),
	      run_length(&out, 30, 129, c2));
	image_free(&out);
	image_free(&src);
}

/* Labels with no room above go inside; near the right edge they move left;
 * on a tall image the text is scaled. */
static void test_label_placement(void)
{
	struct image src = synth(400, 1000, 3), out;
	/* Height 1000: text scale 2, label 20 rows; thickness round(400/300) = 1. */
	struct draw_box boxes[2] = {
		{10, 5, 200, 300, 0.5f, 5, "top"},      /* no room above: inside */
		{350, 500, 399, 600, 0.5f, 0, "right"}, /* would run off the right */
	};
	char path[128], err[256];
	int rc;

	rc = draw_detections(&src, boxes, 2, IMAGE_PNG, tmp_path(path, sizeof path, "place.png"),
	                     err, sizeof err);
	CHECK(rc == 0, "placement: written", "rc %d: %s", rc, err);
	if (load(path, &out) != 0) {
		CHECK(0, "placement: decodes", "cannot");
		image_free(&src);
		return;
	}
	/* "top 0.50": 8 characters * 12 + 2 = 98 wide, rows 5..24. */
	CHECK(run_length(&out, 10, 24, c5) == 98 && run_length(&out, 10, 6, c5) == 98 &&
	      !is_colour(&out, 50, 4, c5) && !is_colour(&out, 50, 25, c5),
	      "placement: no room above puts the label inside, scaled 2x", "runs %d %d",
	      run_length(&out, 10, 24, c5), run_length(&out, 10, 6, c5));
	/* "right 0.50": 10 * 12 + 2 = 122 wide, ending at the image's edge. */
	CHECK(run_length(&out, 400 - 122, 499, c0) == 122 && !is_colour(&out, 400 - 123, 499, c0),
	      "placement: a label that would run off the right moves left", "run %d",
	      run_length(&out, 400 - 122, 499, c0));
	image_free(&out);
	image_free(&src);
}

/* Thickness grows with the image: round(900 / 300) = 3. */
static void test_thickness(void)
{
	struct image src = synth(1200, 900, 3), out;
	struct draw_box box = {100, 200, 500, 600, 0.75f, 1, "x"};
	char path[128], err[256];
	int rc;

	rc = draw_detections(&src, &box, 1, IMAGE_PNG, tmp_path(path, sizeof path, "thick.png"),
	                     err, sizeof err);
	if (rc != 0 || load(path, &out) != 0) {
		CHECK(0, "thickness: written", "rc %d: %s", rc, err);
		image_free(&src);
		return;
	}
	CHECK(is_colour(&out, 100, 400, c1) && is_colour(&out, 102, 400, c1) &&
	      !is_colour(&out, 103, 400, c1) && is_colour(&out, 497, 400, c1) &&
	      !is_colour(&out, 496, 400, c1) && is_colour(&out, 300, 599, c1) &&
	      is_colour(&out, 300, 597, c1) && !is_colour(&out, 300, 596, c1),
	      "thickness: 3 px on a 1200x900 image", "wrong");
	image_free(&out);
	image_free(&src);
}

/* JPEG: right size, approximately right colours. */
static void test_jpeg(void)
{
	static const int ch[2] = {3, 1};
	int i;

	for (i = 0; i < 2; i++) {
		struct image src = flat(640, 480, ch[i], 128), out;
		/* Thickness 2; label 10 rows above, "face 0.97" 55 px wide. */
		struct draw_box box = {96, 160, 400, 400, 0.97f, 5, "face"};
		const unsigned char gray[3] = {128, 128, 128};
		char path[128], err[256], name[96];
		int rc;

		snprintf(name, sizeof name, "jpeg %d-channel: written", ch[i]);
		rc = draw_detections(&src, &box, 1, IMAGE_JPEG,
		                     tmp_path(path, sizeof path, "out.jpg"), err, sizeof err);
		CHECK(rc == 0, name, "rc %d: %s", rc, err);
		if (load(path, &out) != 0) {
			CHECK(0, name, "does not decode");
			image_free(&src);
			continue;
		}
		snprintf(name, sizeof name, "jpeg %d-channel: decodes as RGB of the same size", ch[i]);
		CHECK(out.format == IMAGE_JPEG && out.width == 640 && out.height == 480 &&
		      out.channels == 3, name, "%dx%dx%d", out.width, out.height, out.channels);
		snprintf(name, sizeof name, "jpeg %d-channel: far pixels stay gray", ch[i]);
		CHECK(near_colour(&out, 10, 10, gray, 4) && near_colour(&out, 600, 450, gray, 4) &&
		      near_colour(&out, 250, 280, gray, 4), name, "not near 128");
		snprintf(name, sizeof name, "jpeg %d-channel: edges and label near the class colour",
		         ch[i]);
		CHECK(near_colour(&out, 96, 300, c5, 48) && near_colour(&out, 250, 399, c5, 48) &&
		      near_colour(&out, 120, 159, c5, 24), name, "too far");
		image_free(&out);
		image_free(&src);
		unlink(path);
	}
}

/* Boxes partly or fully outside, huge or infinite: clipped, no crash. */
static void test_clipping(void)
{
	struct image src = synth(160, 120, 3), out;
	struct draw_box part[] = {
		{-50, -40, 60, 50, 0.5f, 0, "part"},      /* top and left edges off the image */
		{100, 80, 400, 300, 0.5f, 1, "br"},       /* bottom and right off */
	};
	struct draw_box off[] = {
		{200, 10, 300, 50, 0.5f, 0, "right"},
		{-300, 10, -200, 50, 0.5f, 0, "left"},
		{10, -300, 50, -200, 0.5f, 0, "above"},
		{10, 130, 50, 200, 0.5f, 0, "below"},
		{160, 0, 170, 120, 0.5f, 0, "at edge"},   /* starts at x = width */
		{-1e30f, -1e30f, -1e29f, 0, 0.5f, 0, "huge"},
		{-INFINITY, -INFINITY, -1e38f, -1e38f, 0.5f, 0, "inf"},
	};
	struct draw_box all = {-INFINITY, -INFINITY, INFINITY, INFINITY, 1e30f, -7, "everything"};
	char path[128], err[256];
	int rc;

	rc = draw_detections(&src, part, 2, IMAGE_PNG, tmp_path(path, sizeof path, "clip.png"),
	                     err, sizeof err);
	CHECK(rc == 0, "clipping: partly outside is written", "rc %d: %s", rc, err);
	if (rc == 0 && load(path, &out) == 0) {
		CHECK(is_colour(&out, 59, 40, c0) && is_colour(&out, 30, 49, c0) &&
		      is_colour(&out, 0, 30, c0) && is_colour(&out, 58, 0, c0) &&
		      !is_colour(&out, 1, 30, c0) && !is_colour(&out, 30, 48, c0) &&
		      !is_colour(&out, 58, 1, c0),
		      "clipping: a box off the top-left is outlined along the border", "wrong");
		CHECK(run_length(&out, 0, 9, c0) == 55,
		      "clipping: label of a box cut at the top goes inside, at the corner", "run %d",
		      run_length(&out, 0, 9, c0));
		CHECK(is_colour(&out, 100, 100, c1) && is_colour(&out, 130, 80, c1) &&
		      is_colour(&out, 159, 100, c1) && is_colour(&out, 130, 119, c1) &&
		      !is_colour(&out, 158, 100, c1) && !is_colour(&out, 130, 118, c1),
		      "clipping: a box off the bottom-right is outlined along the border", "wrong");
		image_free(&out);
	} else {
		CHECK(0, "clipping: decodes", "cannot");
	}

	rc = draw_detections(&src, off, (int)(sizeof off / sizeof off[0]), IMAGE_PNG, path, err,
	                     sizeof err);
	CHECK(rc == 0 && load(path, &out) == 0, "clipping: boxes fully outside are written",
	      "rc %d: %s", rc, err);
	if (out.data != NULL) {
		CHECK(out.width == 160 && out.height == 120 &&
		      memcmp(out.data, src.data, 160 * 120 * 3) == 0,
		      "clipping: boxes fully outside change nothing", "changed");
		image_free(&out);
	}

	rc = draw_detections(&src, &all, 1, IMAGE_PNG, path, err, sizeof err);
	CHECK(rc == 0 && load(path, &out) == 0,
	      "clipping: an infinite box, huge score, negative class is written", "rc %d: %s", rc,
	      err);
	if (out.data != NULL) {
		static const unsigned char c13[3] = {0x64, 0x73, 0xFF}; /* -7 mod 20 = 13 */

		CHECK(is_colour(&out, 80, 119, c13) && is_colour(&out, 159, 60, c13),
		      "clipping: an infinite box is clipped to the image border", "wrong");
		image_free(&out);
	}
	image_free(&src);
}

/* Zero boxes and degenerate boxes leave the picture as it was. */
static void test_unchanged(void)
{
	static const int ch[2] = {3, 1};
	struct draw_box bad[] = {
		{100, 10, 50, 50, 0.5f, 0, "x2<x1"},
		{10, 50, 50, 10, 0.5f, 1, "y2<y1"},
		{10, 10, 10, 50, 0.5f, 2, "zero width"},
		{NAN, 10, 50, 50, 0.5f, 3, "nan x1"},
		{10, 10, 50, NAN, 0.5f, 4, "nan y2"},
		{NAN, NAN, NAN, NAN, NAN, 5, "all nan"},
		{INFINITY, 10, INFINITY, 50, 0.5f, 6, "inf, inf"},
	};
	int i;

	for (i = 0; i < 2; i++) {
		struct image src = synth(90, 70, ch[i]), out;
		char path[128], err[256], name[96];
		int rc, same;

		rc = draw_detections(&src, NULL, 0, IMAGE_PNG, tmp_path(path, sizeof path, "z.png"),
		                     err, sizeof err);
		snprintf(name, sizeof name, "%d-channel: zero boxes gives the image unchanged", ch[i]);
		same = rc == 0 && load(path, &out) == 0 && out.width == 90 && out.height == 70 &&
		       changed_outside(&src, &out, NULL, 0) == 0;
		CHECK(same, name, "rc %d: %s", rc, err);
		image_free(&out);

		rc = draw_detections(&src, bad, (int)(sizeof bad / sizeof bad[0]), IMAGE_PNG, path,
		                     err, sizeof err);
		snprintf(name, sizeof name, "%d-channel: degenerate and NaN boxes are skipped", ch[i]);
		same = rc == 0 && load(path, &out) == 0 && out.width == 90 && out.height == 70 &&
		       changed_outside(&src, &out, NULL, 0) == 0;
		CHECK(same, name, "rc %d: %s", rc, err);
		image_free(&out);
		image_free(&src);
		unlink(path);
	}
}

/* Odd label bytes and a label longer than the image is wide. */
static void test_odd_labels(void)
{
	struct image src = synth(64, 48, 3), out;
	char longlabel[300];
	struct draw_box boxes[2] = {
		{5, 20, 40, 40, 0.5f, 0, "caf\xc3\xa9\t\x7f"},
		{8, 30, 60, 45, -3.0f, 1, longlabel},
	};
	char path[128], err[256];
	int rc;

	memset(longlabel, 'W', sizeof longlabel - 1);
	longlabel[sizeof longlabel - 1] = '\0';
	rc = draw_detections(&src, boxes, 2, IMAGE_PNG, tmp_path(path, sizeof path, "odd.png"),
	                     err, sizeof err);
	CHECK(rc == 0 && load(path, &out) == 0 && out.width == 64 && out.height == 48,
	      "odd labels: non-ASCII, control bytes and a long label are drawn", "rc %d: %s", rc,
	      err);
	image_free(&out);
	image_free(&src);
	unlink(path);
}

/* Errors: -1 with a one-line reason, nothing left behind. */
static void test_errors(void)
{
	struct image src = synth(32, 32, 3), bad = src;
	struct draw_box box = {4, 4, 20, 20, 0.5f, 0, "a"};
	char path[128], err[256];
	int rc, i;

	rc = draw_detections(&src, &box, 1, IMAGE_PNG, "/nonexistent-tinfer-dir/a.png", err,
	                     sizeof err);
	CHECK(rc == -1 && err[0] != '\0' && strchr(err, '\n') == NULL,
	      "errors: an unwritable path gives -1 and a one-line message", "rc %d: \"%s\"", rc, err);
	CHECK(strstr(err, "/nonexistent-tinfer-dir/a.png") != NULL, "errors: the message names the file",
	      "\"%s\"", err);

	/* A directory in the way: the temporary file is written, the rename fails. */
	tmp_path(path, sizeof path, "adir.jpg");
	mkdir(path, 0700);
	rc = draw_detections(&src, &box, 1, IMAGE_JPEG, path, err, sizeof err);
	CHECK(rc == -1 && err[0] != '\0' && !tmp_left(),
	      "errors: a failed rename gives -1 and removes the .tmp file", "rc %d: \"%s\"", rc,
	      err);
	rmdir(path);

	/* A full disk: the .tmp name is a link to /dev/full.  A big PNG fails
	 * inside libpng, a small one and the JPEG when the file is flushed. */
	for (i = 0; i < 3; i++) {
		static const char *const what[3] = {"big PNG", "small PNG", "JPEG"};
		struct image pic = i == 0 ? synth(400, 300, 3) : synth(32, 32, 3);
		char name[96];

		tmp_path(path, sizeof path, "full.png.tmp");
		if (symlink("/dev/full", path) != 0) {
			CHECK(0, "errors: symlink", "cannot make %s", path);
			image_free(&pic);
			break;
		}
		path[strlen(path) - 4] = '\0';
		rc = draw_detections(&pic, &box, 1, i == 2 ? IMAGE_JPEG : IMAGE_PNG, path, err,
		                     sizeof err);
		snprintf(name, sizeof name, "errors: a full disk fails the %s and removes the .tmp",
		         what[i]);
		CHECK(rc == -1 && strstr(err, "No space left") != NULL && !tmp_left() &&
		      access(path, F_OK) != 0, name, "rc %d: \"%s\"", rc, err);
		image_free(&pic);
	}

	rc = draw_detections(&src, &box, 1, IMAGE_UNKNOWN, tmp_path(path, sizeof path, "u.png"),
	                     err, sizeof err);
	CHECK(rc == -1 && err[0] != '\0' && access(path, F_OK) != 0,
	      "errors: an unknown format is refused", "rc %d", rc);
	bad.channels = 4;
	rc = draw_detections(&bad, &box, 1, IMAGE_PNG, path, err, sizeof err);
	CHECK(rc == -1 && err[0] != '\0', "errors: 4 channels are refused", "rc %d", rc);
	bad.channels = 3;
	bad.data = NULL;
	rc = draw_detections(&bad, &box, 1, IMAGE_PNG, path, err, sizeof err);
	CHECK(rc == -1 && err[0] != '\0', "errors: an image without pixels is refused", "rc %d", rc);
	rc = draw_detections(&src, NULL, 1, IMAGE_PNG, path, err, sizeof err);
	CHECK(rc == -1 && err[0] != '\0', "errors: boxes NULL with n > 0 is refused", "rc %d", rc);
	rc = draw_detections(&src, &box, 1, IMAGE_PNG, "/nonexistent-tinfer-dir/a.png", NULL, 0);
	CHECK(rc == -1, "errors: err may be NULL", "rc %d", rc);
	rc = draw_detections(&src, &box, 1, IMAGE_PNG, "/nonexistent-tinfer-dir/a.png", err, 8);
	CHECK(rc == -1 && strlen(err) == 7, "errors: a short err buffer is truncated safely",
	      "\"%s\"", err);
	CHECK(access(path, F_OK) != 0 && !tmp_left(), "errors: nothing left behind", "found files");
	image_free(&src);
}

/* Removes every file in tmpdir, then tmpdir. */
static void cleanup(void)
{
	DIR *d = opendir(tmpdir);
	struct dirent *e;
	char path[512];

	if (d != NULL) {
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			snprintf(path, sizeof path, "%s/%s", tmpdir, e->d_name);
			unlink(path);
		}
		closedir(d);
	}
	rmdir(tmpdir);
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/tinfer-draw-XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		CHECK(0, "mkdtemp", "cannot make a directory under /tmp");
		return check_done();
	}
	test_png_rgb();
	test_png_gray();
	test_label_placement();
	test_thickness();
	test_jpeg();
	test_clipping();
	test_unchanged();
	test_odd_labels();
	test_errors();
	cleanup();
	return check_done();
}
