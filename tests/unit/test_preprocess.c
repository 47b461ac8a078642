/*
 * test_preprocess.c — geometry of SPEC §3 and pixel parity with PyTorch.
 *
 * The reference files come from tests/data/preprocess/make_refs.py (torch's
 * F.interpolate, bilinear and antialias); run from the repository root.
 * Tolerance: 1e-4 in source units (0..255), i.e. |got - want| * std / scale.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "formats/preprocess.h"

#define REF_DIR "tests/data/preprocess/"

static struct preprocess base(int w, int h, enum resize_mode mode)
{
	struct preprocess p;

	memset(&p, 0, sizeof p);
	p.width = w;
	p.height = h;
	p.channels = 3;
	p.resize = mode;
	p.align_center = 1;
	p.scale = 1.0f;
	p.std[0] = p.std[1] = p.std[2] = 1.0f;
	return p;
}

static int geom_is(const struct geometry *g, int nw, int nh, int left, int top)
{
	return g->new_w == nw && g->new_h == nh && g->left == left && g->top == top;
}

#define GEOM(name, p, sw, sh, nw, nh, l, t)                                               \
	do {                                                                              \
		struct geometry g_;                                                       \
		int rc_ = preprocess_geometry(&(p), sw, sh, &g_);                         \
		CHECK(rc_ == 0 && geom_is(&g_, nw, nh, l, t), name,                       \
		      "rc %d new %dx%d at (%d,%d), want %dx%d at (%d,%d)", rc_, g_.new_w,  \
		      g_.new_h, g_.left, g_.top, nw, nh, l, t);                           \
	} while (0)

static void test_round(void)
{
	static const struct { double x, want; } cases[] = {
		{0.5, 0}, {1.5, 2}, {2.5, 2}, {3.5, 4}, {-0.5, -0}, {-1.5, -2}, {-2.5, -2},
		{2.4999999, 2}, {2.5000001, 3}, {1.4, 1}, {1.6, 2}, {0.0, 0}, {7.0, 7},
		{1e15 + 0.5, 1e15}, {-3.7, -4},
	};
	size_t i;
	char name[64];

	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		double got = round_half_even(cases[i].x);

		snprintf(name, sizeof name, "round_half_even(%.9g)", cases[i].x);
		CHECK(got == cases[i].want, name, "got %.17g want %.17g", got, cases[i].want);
	}
}

static void test_geometry(void)
{
	struct preprocess p = base(640, 640, RESIZE_LETTERBOX);
	struct geometry g;

	/* ultralytics LetterBox, auto=False: 1280x720 -> 640x360, dh=280 */
	GEOM("letterbox 1280x720 -> 640", p, 1280, 720, 640, 360, 0, 140);
	GEOM("letterbox 720x1280 -> 640", p, 720, 1280, 360, 640, 140, 0);
	/* 810x1080 (bus.jpg): r = 0.5926, 480x640, dw = 160 */
	GEOM("letterbox 810x1080 -> 640", p, 810, 1080, 480, 640, 80, 0);
	/* 640x427 -> 640x427, dh = 213: top round(106.4) = 106, bottom 107 */
	GEOM("letterbox odd split 640x427", p, 640, 427, 640, 427, 0, 106);
	/* dw = 3: left round(1.4) = 1, right 2 */
	p = base(10, 10, RESIZE_LETTERBOX);
	GEOM("letterbox dw=3 left 1", p, 7, 10, 7, 10, 1, 0);
	/* dw = 1: left round(0.4) = 0 */
	GEOM("letterbox dw=1 left 0", p, 9, 10, 9, 10, 0, 0);
	/* dw = 5: left round(2.4) = 2 */
	GEOM("letterbox dw=5 left 2", p, 5, 10, 5, 10, 2, 0);
	/* new size rounding half to even: 5x2 -> r = 1.25 -> 6.25x2.5 */
	p = base(625, 625, RESIZE_LETTERBOX);
	GEOM("letterbox 500x200 -> 625 (h 250)", p, 500, 200, 625, 250, 0, 187);
	p = base(5, 5, RESIZE_LETTERBOX);
	/* 10x5 -> r = 0.5: 5 x 2.5 -> 2 (half to even), dh = 3 -> top 1 */
	GEOM("letterbox 10x5 -> 5: h 2.5 -> 2", p, 10, 5, 5, 2, 0, 1);
	/* 10x7 -> r = 0.5: 3.5 -> 4, dh = 1 -> top 0 */
	GEOM("letterbox 10x7 -> 5: h 3.5 -> 4", p, 10, 7, 5, 4, 0, 0);
	/* much wider than tall, and the reverse; a sliver keeps one pixel */
	p = base(416, 416, RESIZE_LETTERBOX);
	GEOM("letterbox 4000x100 -> 416", p, 4000, 100, 416, 10, 0, 203);
	GEOM("letterbox 100x4000 -> 416", p, 100, 4000, 10, 416, 203, 0);
	GEOM("letterbox 5000x1 -> 416 keeps 1 row", p, 5000, 1, 416, 1, 0, 207);
	GEOM("letterbox 1x1 -> 416", p, 1, 1, 416, 416, 0, 0);
	/* non-square input */
	p = base(640, 384, RESIZE_LETTERBOX);
	GEOM("letterbox 1280x720 -> 640x384", p, 1280, 720, 640, 360, 0, 12);
	GEOM("letterbox 720x1280 -> 640x384", p, 720, 1280, 216, 384, 212, 0);
	p.align_center = 0;
	GEOM("letterbox topleft", p, 720, 1280, 216, 384, 0, 0);
	GEOM("letterbox topleft wide", p, 1280, 720, 640, 360, 0, 0);

	p = base(224, 160, RESIZE_STRETCH);
	GEOM("stretch", p, 1000, 50, 224, 160, 0, 0);

	/* crop: shorter side -> resize_to, other round(side * rt / shorter) */
	p = base(224, 224, RESIZE_CROP);
	p.resize_to = 256;
	GEOM("crop 640x480 -> 256", p, 640, 480, 341, 256, -58, -16);   /* 341.33; 58.5 -> 58 */
	GEOM("crop 480x640", p, 480, 640, 256, 341, -16, -58);
	GEOM("crop square", p, 500, 500, 256, 256, -16, -16);
	GEOM("crop 300x200: 384 exact", p, 300, 200, 384, 256, -80, -16);
	/* 2.5 in the other side: 5x2 -> 256 * 2.5 = 640 exact; 3x2 -> 384 */
	p.resize_to = 5;
	p.width = p.height = 4;
	GEOM("crop 3x2 -> 5: 7.5 -> 8", p, 3, 2, 8, 5, -2, 0);  /* (8-4)/2 = 2, (5-4)/2 = 0.5 -> 0 */
	GEOM("crop 5x2 -> 5: 12.5 -> 12", p, 5, 2, 12, 5, -4, 0);
	CHECK(preprocess_geometry(&p, 5, 2, &g) == 0 && fabs(g.gain_x - 12 / 5.0) < 1e-12 &&
	          fabs(g.gain_y - 2.5) < 1e-12,
	      "geometry gains", "gain %g %g", g.gain_x, g.gain_y);

	/* impossible sizes */
	p = base(224, 224, RESIZE_CROP);
	p.resize_to = 200;
	GEOM("crop smaller than size pads", p, 640, 480, 267, 200, -22, 12); /* 21.5 -> 22 */
	p.resize_to = 0;
	CHECK(preprocess_geometry(&p, 640, 480, &g) == -1, "crop resize_to 0 refused", "unexpected result");
	p = base(224, 224, RESIZE_CROP);
	p.resize_to = 256;
	CHECK(preprocess_geometry(&p, 1, 100000000, &g) == -1, "crop huge other side refused", "unexpected result");
	p = base(0, 224, RESIZE_LETTERBOX);
	CHECK(preprocess_geometry(&p, 640, 480, &g) == -1, "zero width refused", "unexpected result");
	p = base(224, -1, RESIZE_STRETCH);
	CHECK(preprocess_geometry(&p, 640, 480, &g) == -1, "negative height refused", "unexpected result");
	p = base(224, 224, RESIZE_LETTERBOX);
	CHECK(preprocess_geometry(&p, 0, 480, &g) == -1, "zero source width refused", "unexpected result");
	CHECK(preprocess_geometry(&p, 640, -3, &g) == -1, "negative source height refused", "unexpected result");
	p.resize = (enum resize_mode)7;
	CHECK(preprocess_geometry(&p, 640, 480, &g) == -1, "unknown resize mode refused", "unexpected result");
}

/* --- reference files ------------------------------------------------------- */

struct ref {
	char name[64];
	int sw, sh, sc;
	struct preprocess p;
	int nw, nh, left, top;
	unsigned char *src; /* (sh, sw, sc) */
	float *want;        /* (channels, height, width) */
	unsigned char *buf;
};

#define slurp check_slurp

/* Parses one .ref file; returns 0, or -1 with nothing to free. */
static int ref_load(const char *path, struct ref *r)
{
	size_t len = 0, need;
	char *end;
	int resize, interp, n;
	float pad, scale;

	memset(r, 0, sizeof *r);
	r->buf = slurp(path, &len);
	if (!r->buf)
		return -1;
	end = strstr((char *)r->buf, "\nend\n");
	n = sscanf((char *)r->buf,
	           "tinfer-preprocess-ref 1\nname %63s\nsrc %d %d %d\n"
	           "cfg %d %d %d %d %d %d %d %d %f %f %f %f %f %f %f %f\ngeom %d %d %d %d",
	           r->name, &r->sw, &r->sh, &r->sc, &r->p.width, &r->p.height, &r->p.channels,
	           &r->p.bgr, &resize, &r->p.align_center, &r->p.resize_to, &interp, &pad, &scale,
	           &r->p.mean[0], &r->p.mean[1], &r->p.mean[2], &r->p.std[0], &r->p.std[1],
	           &r->p.std[2], &r->nw, &r->nh, &r->left, &r->top);
	if (!end || n != 24)
		goto bad;
	r->p.resize = (enum resize_mode)resize;
	r->p.interp = (enum interp_mode)interp;
	r->p.pad_value = pad;
	r->p.scale = scale;
	r->src = (unsigned char *)end + 5;
	need = (size_t)(r->src - r->buf) + (size_t)r->sw * r->sh * r->sc +
	       sizeof(float) * (size_t)r->p.channels * r->p.width * r->p.height;
	if (need != len)
		goto bad;
	r->want = malloc(sizeof(float) * (size_t)r->p.channels * r->p.width * r->p.height);
	if (!r->want)
		goto bad;
	memcpy(r->want, r->src + (size_t)r->sw * r->sh * r->sc,
	       sizeof(float) * (size_t)r->p.channels * r->p.width * r->p.height);
	return 0;
bad:
	free(r->buf);
	r->buf = NULL;
	return -1;
}

static void test_ref(const char *file)
{
	char path[256], name[160], err[128] = "";
	struct ref r;
	struct image img;
	struct geometry g;
	float *got;
	size_t i, n, plane, worst_i = 0;
	double worst = 0;
	int rc;

	snprintf(path, sizeof path, REF_DIR "%s", file);
	snprintf(name, sizeof name, "ref %s loads", file);
	rc = ref_load(path, &r);
	CHECK(rc == 0, name, "cannot read %s (run from the repository root)", path);
	if (rc)
		return;

	memset(&img, 0, sizeof img);
	img.width = r.sw;
	img.height = r.sh;
	img.channels = r.sc;
	img.data = r.src;
	plane = (size_t)r.p.width * r.p.height;
	n = plane * r.p.channels;
	got = malloc(n * sizeof *got);
	if (!got) {
		CHECK(0, "alloc", "out of memory");
		return;
	}
	for (i = 0; i < n; i++)
		got[i] = NAN;
	rc = preprocess_image(&r.p, &img, got, &g, err, sizeof err);
	snprintf(name, sizeof name, "%s: preprocess_image succeeds", r.name);
	CHECK(rc == 0, name, "%s", err);
	snprintf(name, sizeof name, "%s: geometry", r.name);
	CHECK(geom_is(&g, r.nw, r.nh, r.left, r.top), name, "got %dx%d at (%d,%d) want %dx%d at (%d,%d)",
	      g.new_w, g.new_h, g.left, g.top, r.nw, r.nh, r.left, r.top);
	for (i = 0; i < n; i++) {
		int c = (int)(i / plane);
		/* back to source units: |difference| * std / scale */
		double d = fabs((double)got[i] - r.want[i]) * r.p.std[c] / r.p.scale;

		if (!(d <= worst)) {
			worst = isnan(d) ? INFINITY : d;
			worst_i = i;
		}
	}
	snprintf(name, sizeof name, "%s: pixels within 1e-4 of torch", r.name);
	CHECK(worst <= 1e-4, name, "worst %.3g at c%zu y%zu x%zu: got %.9g want %.9g", worst,
	      worst_i / plane, worst_i % plane / r.p.width, worst_i % r.p.width,
	      (double)got[worst_i], (double)r.want[worst_i]);
	free(got);
	free(r.want);
	free(r.buf);
}

static void test_refs(void)
{
	size_t len = 0;
	char *list = (char *)slurp(REF_DIR "index.txt", &len), *line, *save = NULL;
	int count = 0;

	CHECK(list != NULL, "reference index readable", "cannot read " REF_DIR "index.txt");
	if (!list)
		return;
	for (line = strtok_r(list, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		test_ref(line);
		count++;
	}
	CHECK(count >= 20, "reference cases present", "only %d", count);
	free(list);
}

/* --- behaviour not covered by the references -------------------------------- */

static void test_errors(void)
{
	struct preprocess p = base(8, 8, RESIZE_STRETCH);
	unsigned char px[4 * 4 * 3] = {0};
	struct image img = {4, 4, 3, px, IMAGE_PNG, 1};
	float out[3 * 8 * 8];
	struct geometry g;
	char err[128] = "";

	p.channels = 2;
	CHECK(preprocess_image(&p, &img, out, &g, err, sizeof err) == -1 && err[0],
	      "channels 2 refused", "%s", err);
	p.channels = 3;
	p.std[1] = 0.0f;
	err[0] = 0;
	CHECK(preprocess_image(&p, &img, out, &g, err, sizeof err) == -1 && err[0],
	      "std 0 refused", "%s", err);
	p.std[1] = 1.0f;
	p.resize = RESIZE_CROP;
	p.resize_to = 0;
	err[0] = 0;
	CHECK(preprocess_image(&p, &img, out, &g, err, sizeof err) == -1 && err[0],
	      "impossible crop refused with a reason", "%s", err);
	p.resize = RESIZE_STRETCH;
	p.interp = (enum interp_mode)9;
	CHECK(preprocess_image(&p, &img, out, &g, NULL, 0) == -1, "unknown interpolation refused",
	      "unexpected result");
	p.interp = INTERP_ANTIALIAS;
	img.channels = 4;
	CHECK(preprocess_image(&p, &img, out, &g, NULL, 0) == -1, "4-channel image refused", "unexpected result");
	img.channels = 3;
	CHECK(preprocess_image(&p, &img, out, NULL, NULL, 0) == 0, "NULL geometry accepted", "unexpected result");
}

/*
 * A uniform image stays uniform through every resize, and padding gets
 * pad_value normalised like a pixel.
 */
static void test_uniform(void)
{
	static const int sizes[][2] = {{1, 1}, {3, 500}, {500, 3}, {641, 479}, {2, 2}};
	unsigned char *px;
	size_t k, i;
	int interp, ok = 1;
	float *out = malloc(3 * 40 * 30 * sizeof *out);

	px = malloc(641 * 500 * 3);
	if (!px || !out) {
		CHECK(0, "alloc", "out of memory");
		free(px);
		free(out);
		return;
	}
	memset(px, 77, 641 * 500 * 3);
	for (interp = 0; interp < 2; interp++)
		for (k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
			struct preprocess p = base(40, 30, RESIZE_LETTERBOX);
			struct image img = {sizes[k][0], sizes[k][1], 3, px, IMAGE_PNG, 1};
			struct geometry g;

			p.interp = (enum interp_mode)interp;
			p.pad_value = 114;
			p.scale = 2.0f;
			p.mean[0] = 10;
			p.mean[1] = 20;
			p.mean[2] = 30;
			p.std[0] = 2;
			p.std[1] = 4;
			p.std[2] = 8;
			if (preprocess_image(&p, &img, out, &g, NULL, 0)) {
				ok = 0;
				continue;
			}
			for (i = 0; i < 3 * 40 * 30; i++) {
				int c = (int)(i / (40 * 30)), y = (int)(i / 40 % 30), x = (int)(i % 40);
				int inside = x >= g.left && x < g.left + g.new_w && y >= g.top &&
				             y < g.top + g.new_h;
				float v = inside ? 77 : 114;
				float want = (v * p.scale - p.mean[c]) / p.std[c];

				if (fabsf(out[i] - want) > 1e-4f * fabsf(want) + 1e-5f)
					ok = 0;
			}
		}
	CHECK(ok, "uniform image stays uniform, padding normalised", "unexpected result");
	free(px);
	free(out);
}

int main(void)
{
	test_round();
	test_geometry();
	test_refs();
	test_errors();
	test_uniform();
	return check_done();
}
