/*
 * preprocess.c — geometry (SPEC §3), resampling and normalisation of one
 * decoded image into a model's CHW float input.
 *
 * Resampling is separable and follows torch 1.13's CPU kernels operation for
 * operation, so that the numbers agree with F.interpolate to float rounding:
 *
 *   bilinear   upsample_bilinear2d, align_corners=False, no scale factors
 *              (aten/src/ATen/native/UpSample.h: compute_source_index_and_lambda;
 *              the source index is computed in double, as torch's acc_type
 *              for float on CPU is double, the weights are stored as float).
 *              Torch evaluates (s[y0][x0]*w0 + s[y0][x1]*w1)*h0 +
 *              (s[y1][x0]*w0 + s[y1][x1]*w1)*h1, which is exactly a
 *              horizontal pass followed by a vertical one.
 *   antialias  _upsample_bilinear2d_aa (UpSampleKernel.cpp,
 *              _compute_weights_aa with the triangle filter): horizontal pass
 *              into a float temporary, then vertical; every weighted sum is
 *              t = s0*w0; t += sj*wj in float, in tap order.
 *
 * A dimension whose size does not change is copied (torch skips it, or runs
 * it with weights 1 and 0, which is the same number).
 *
 * Memory: the image is streamed row by row.  Only the resized pixels that
 * are visible in the model input are computed (crop never resizes what it
 * cuts away).  Temporaries: one float source row, a ring of K horizontally
 * resized rows (K = taps of the vertical filter: 2 for bilinear, about
 * 2 * src_h / new_h + 1 for antialias), one output row, and the tap tables.
 */
#include "formats/preprocess.h"

#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest model input side, and largest resized side, accepted. */
#define MAX_INPUT_SIDE 65536
#define MAX_RESIZED_SIDE (INT_MAX / 16)

double round_half_even(double x)
{
	double f = floor(x);
	double d = x - f; /* exact for every finite double */

	if (d > 0.5)
		return f + 1.0;
	if (d < 0.5)
		return f;
	return fmod(f, 2.0) == 0.0 ? f : f + 1.0;
}

/* Rounds half to even and stores into *out; -1 when outside [lo, hi] or NaN. */
static int round_to_int(double x, int lo, int hi, int *out)
{
	double r = round_half_even(x);

	if (!(r >= lo && r <= hi))
		return -1;
	*out = (int)r;
	return 0;
}

/*
 * SPEC §3 geometry; every round() is half to even.  Refuses (-1, *g
 * untouched) non-positive sizes, inputs over MAX_INPUT_SIDE, an unknown mode,
 * crop with resize_to smaller than the input (the crop then always lies
 * inside the resized image) and resized sides over MAX_RESIZED_SIDE.
 * Letterbox keeps at least one pixel of a source much thinner than the input.
 */
int preprocess_geometry(const struct preprocess *p, int src_w, int src_h, struct geometry *g)
{
	int W, H, nw, nh, left = 0, top = 0;

	if (!p || !g || src_w <= 0 || src_h <= 0)
		return -1;
	W = p->width;
	H = p->height;
	if (W <= 0 || H <= 0 || W > MAX_INPUT_SIDE || H > MAX_INPUT_SIDE)
		return -1;

	switch (p->resize) {
	case RESIZE_LETTERBOX: {
		double r = fmin((double)H / src_h, (double)W / src_w);

		/*
		 * A source much thinner than the input can round to 0 pixels
		 * (ultralytics would then fail in cv2.resize): keep 1 pixel.
		 */
		if (round_to_int(src_w * r, INT_MIN, INT_MAX, &nw) ||
		    round_to_int(src_h * r, INT_MIN, INT_MAX, &nh))
			return -1;
		nw = nw < 1 ? 1 : nw > W ? W : nw;
		nh = nh < 1 ? 1 : nh > H ? H : nh;
		if (p->align_center) {
			/* ultralytics LetterBox: the odd pixel goes right/bottom */
			if (round_to_int((W - nw) / 2.0 - 0.1, 0, W, &left) ||
			    round_to_int((H - nh) / 2.0 - 0.1, 0, H, &top))
				return -1;
		}
		break;
	}
	case RESIZE_STRETCH:
		nw = W;
		nh = H;
		break;
	case RESIZE_CROP: {
		int rt = p->resize_to;

		if (rt < 1 || rt > MAX_RESIZED_SIDE)
			return -1;
		if (src_w <= src_h) {
			nw = rt;
			if (round_to_int((double)src_h * rt / src_w, 1, MAX_RESIZED_SIDE, &nh))
				return -1;
		} else {
			nh = rt;
			if (round_to_int((double)src_w * rt / src_h, 1, MAX_RESIZED_SIDE, &nw))
				return -1;
		}
		if (round_to_int((nw - W) / 2.0, -MAX_INPUT_SIDE, MAX_RESIZED_SIDE, &left) ||
		    round_to_int((nh - H) / 2.0, -MAX_INPUT_SIDE, MAX_RESIZED_SIDE, &top))
			return -1;
		left = -left;
		top = -top;
		break;
	}
	default:
		return -1;
	}

	g->src_w = src_w;
	g->src_h = src_h;
	g->new_w = nw;
	g->new_h = nh;
	g->left = left;
	g->top = top;
	g->gain_x = (double)nw / src_w;
	g->gain_y = (double)nh / src_h;
	return 0;
}

/*
 * Resampling taps along one axis for the resized positions [lo, lo + n).
 * Position i reads source indices start[i] + j * step[i], j < cnt[i], with
 * weights w[i * maxc + j].  step is 0 only for bilinear's last pixel, where
 * torch reads the same source pixel twice.
 */
struct taps {
	int n;
	int maxc;
	int *start; /* (n) */
	int *step;  /* (n) */
	int *cnt;   /* (n) */
	float *w;   /* (n, maxc) */
};

static void taps_free(struct taps *t)
{
	free(t->start);
	free(t->w);
	memset(t, 0, sizeof *t);
}

/*
 * torch's _compute_weights_aa for the triangle filter, types and all: center
 * is float, (j + xmin - center) is float, + 0.5 and * invscale happen in
 * double and the filter argument is rounded back to float.
 */
static int aa_weights(int i, int in, float scale, float support, float invscale, float *w,
                      int maxc, int *xmin_out)
{
	float center = (float)((double)scale * (i + 0.5));
	long long xmin = (long long)((double)(center - support) + 0.5);
	long long xmax = (long long)((double)(center + support) + 0.5);
	float total = 0.0f;
	int j, xsize;

	if (xmin < 0)
		xmin = 0;
	if (xmax > in)
		xmax = in;
	xsize = (int)(xmax - xmin);
	if (xsize > maxc) /* torch's own bound (2 * ceil(support) + 1); never exceeded */
		xsize = maxc;
	for (j = 0; j < xsize; j++) {
		float d = (float)(j + xmin) - center;
		float x = (float)(((double)d + 0.5) * (double)invscale);
		float v;

		if (x < 0.0f)
			x = -x;
		v = x < 1.0f ? (float)(1.0 - (double)x) : 0.0f;
		w[j] = v;
		total += v;
	}
	if (total != 0.0f)
		for (j = 0; j < xsize; j++)
			w[j] /= total;
	*xmin_out = (int)xmin;
	return xsize;
}

/*
 * Fills *t for resizing an axis of `in` pixels to `out`, for the resized
 * positions [lo, lo + n).  Returns 0, or -1 on allocation failure (then *t
 * holds nothing to free).
 */
static int taps_build(struct taps *t, enum interp_mode mode, int in, int out, int lo, int n)
{
	/* torch: area_pixel_compute_scale<float> = (float)in / out */
	float scale = (float)in / (float)out;
	float support = scale >= 1.0f ? scale : 1.0f;
	float invscale = scale >= 1.0f ? (float)(1.0 / scale) : 1.0f;
	int i, maxc;

	memset(t, 0, sizeof *t);
	if (in == out) {
		maxc = 1;
	} else if (mode == INTERP_BILINEAR) {
		maxc = 2;
	} else {
		double m = ceil((double)support) * 2.0 + 1.0;

		maxc = m > in ? in : (int)m;
	}
	if ((size_t)n > SIZE_MAX / sizeof(float) / (size_t)maxc)
		return -1;
	t->n = n;
	t->maxc = maxc;
	t->start = malloc(3 * (size_t)n * sizeof *t->start);
	t->w = malloc((size_t)n * (size_t)maxc * sizeof *t->w);
	if (!t->start || !t->w) {
		taps_free(t);
		return -1;
	}
	t->step = t->start + n;
	t->cnt = t->start + 2 * (size_t)n;

	for (i = 0; i < n; i++) {
		int pos = lo + i;
		float *w = t->w + (size_t)i * maxc;

		t->step[i] = 1;
		if (in == out) {
			t->start[i] = pos;
			t->cnt[i] = 1;
			w[0] = 1.0f;
		} else if (mode == INTERP_BILINEAR) {
			/* compute_source_index_and_lambda: index in double */
			double real = (double)scale * ((double)pos + 0.5) - 0.5;
			long long i0;
			float l1;

			if (real < 0.0)
				real = 0.0;
			i0 = (long long)real;
			l1 = (float)(real - (double)i0);
			t->start[i] = (int)i0;
			t->step[i] = i0 < in - 1 ? 1 : 0;
			t->cnt[i] = 2;
			w[0] = 1.0f - l1;
			w[1] = l1;
		} else {
			int xmin;

			t->cnt[i] = aa_weights(pos, in, scale, support, invscale, w, maxc, &xmin);
			t->start[i] = xmin;
			if (t->cnt[i] < 1) { /* cannot happen for in >= 1; keep the loops simple */
				t->start[i] = pos < in ? pos : in - 1;
				t->cnt[i] = 1;
				w[0] = 0.0f;
			}
		}
	}
	return 0;
}

/* Source index one past the last one that t reads. */
static int taps_end(const struct taps *t)
{
	int i, end = 0;

	for (i = 0; i < t->n; i++) {
		int e = t->start[i] + (t->cnt[i] - 1) * t->step[i] + 1;

		if (e > end)
			end = e;
	}
	return end;
}

/* One output position of the horizontal pass, cw = 3; a[] gets the 3 sums. */
static inline void hsum3(const struct taps *t, int i, int base, const float *src, float *a)
{
	const float *w = t->w + (size_t)i * t->maxc;
	const float *s = src + (size_t)(t->start[i] - base) * 3;
	int st = t->step[i] * 3, c = t->cnt[i], j;
	float a0 = s[0] * w[0], a1 = s[1] * w[0], a2 = s[2] * w[0];

	for (j = 1; j < c; j++) {
		s += st;
		a0 += s[0] * w[j];
		a1 += s[1] * w[j];
		a2 += s[2] * w[j];
	}
	a[0] = a0;
	a[1] = a1;
	a[2] = a2;
}

/*
 * Horizontal pass over one source row.  src holds source columns
 * [base, ...) with cw interleaved channels; dst gets t->n * cw floats.
 *
 * Each sum is t = s0*w0; t += sj*wj in tap order, as torch does.  For RGB
 * two output positions are summed side by side: the same operations in the
 * same order, but six independent addition chains instead of three, which
 * roughly halves the time of this, the hottest loop.
 */
static void hpass(const struct taps *t, int base, const float *src, int cw, float *dst)
{
	int i = 0, j;

	if (cw == 3) {
		for (; i + 1 < t->n; i += 2) {
			const float *wa = t->w + (size_t)i * t->maxc, *wb = wa + t->maxc;
			const float *sa = src + (size_t)(t->start[i] - base) * 3;
			const float *sb = src + (size_t)(t->start[i + 1] - base) * 3;
			int sta = t->step[i] * 3, stb = t->step[i + 1] * 3;
			int ca = t->cnt[i], cb = t->cnt[i + 1], m = ca < cb ? ca : cb;
			float a0 = sa[0] * wa[0], a1 = sa[1] * wa[0], a2 = sa[2] * wa[0];
			float b0 = sb[0] * wb[0], b1 = sb[1] * wb[0], b2 = sb[2] * wb[0];

			for (j = 1; j < m; j++) {
				sa += sta;
				sb += stb;
				a0 += sa[0] * wa[j];
				a1 += sa[1] * wa[j];
				a2 += sa[2] * wa[j];
				b0 += sb[0] * wb[j];
				b1 += sb[1] * wb[j];
				b2 += sb[2] * wb[j];
			}
			for (j = m; j < ca; j++) {
				sa += sta;
				a0 += sa[0] * wa[j];
				a1 += sa[1] * wa[j];
				a2 += sa[2] * wa[j];
			}
			for (j = m; j < cb; j++) {
				sb += stb;
				b0 += sb[0] * wb[j];
				b1 += sb[1] * wb[j];
				b2 += sb[2] * wb[j];
			}
			dst[3 * i] = a0;
			dst[3 * i + 1] = a1;
			dst[3 * i + 2] = a2;
			dst[3 * i + 3] = b0;
			dst[3 * i + 4] = b1;
			dst[3 * i + 5] = b2;
		}
		if (i < t->n)
			hsum3(t, i, base, src, dst + 3 * i);
	} else {
		for (; i + 1 < t->n; i += 2) {
			const float *wa = t->w + (size_t)i * t->maxc, *wb = wa + t->maxc;
			const float *sa = src + (t->start[i] - base), *sb = src + (t->start[i + 1] - base);
			int sta = t->step[i], stb = t->step[i + 1];
			int ca = t->cnt[i], cb = t->cnt[i + 1], m = ca < cb ? ca : cb;
			float a = sa[0] * wa[0], b = sb[0] * wb[0];

			for (j = 1; j < m; j++) {
				sa += sta;
				sb += stb;
				a += sa[0] * wa[j];
				b += sb[0] * wb[j];
			}
			for (j = m; j < ca; j++) {
				sa += sta;
				a += sa[0] * wa[j];
			}
			for (j = m; j < cb; j++) {
				sb += stb;
				b += sb[0] * wb[j];
			}
			dst[i] = a;
			dst[i + 1] = b;
		}
		for (; i < t->n; i++) {
			const float *w = t->w + (size_t)i * t->maxc;
			const float *s = src + (t->start[i] - base);
			int st = t->step[i], c = t->cnt[i];
			float a = s[0] * w[0];

			for (j = 1; j < c; j++) {
				s += st;
				a += s[0] * w[j];
			}
			dst[i] = a;
		}
	}
}

/*
 * Converts source row y, columns [x0, x1), to float: cw = 3 copies RGB,
 * cw = 1 copies gray or computes luma from RGB.
 *
 * Luma is computed on the source pixels, before resizing, in float as
 * (0.299f*R + 0.587f*G) + 0.114f*B: that is what a reference converting the
 * image to gray in float first (numpy float32, left to right) computes, and
 * the only order that keeps gray -> model and RGB -> gray -> model identical.
 */
static void load_row(const struct image *img, int y, int x0, int x1, int cw, float *dst)
{
	const unsigned char *s = img->data + ((size_t)y * img->width + x0) * img->channels;
	size_t i, n = (size_t)(x1 - x0);

	if (cw == img->channels) {
		n *= (size_t)cw;
		for (i = 0; i < n; i++)
			dst[i] = (float)s[i];
	} else {
		for (i = 0; i < n; i++, s += 3)
			dst[i] = 0.299f * (float)s[0] + 0.587f * (float)s[1] + 0.114f * (float)s[2];
	}
}

static void fill(float *dst, size_t n, float v)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = v;
}

static int fail(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
	return -1;
}

/*
 * The whole pipeline; see preprocess.h.  out is written completely on
 * success and left partly written on failure.  Temporaries are freed on
 * every path.
 */
int preprocess_image(const struct preprocess *p, const struct image *img, float *out,
                     struct geometry *g, char *err, size_t errlen)
{
	struct geometry gg;
	struct taps xt, yt;
	int W, H, C, cw, c, k;
	int vx0, vx1, vy0, vy1, nx, ny, sx0, sx1, K, ry;
	int src_chan[3];
	float padn[3];
	size_t plane, rowlen;
	float *rowbuf = NULL, *ring = NULL, *stage = NULL;
	int *slot = NULL;
	int rc = -1;

	if (!p || !img || !out || !img->data)
		return fail(err, errlen, "preprocess: missing argument");
	if (p->channels != 1 && p->channels != 3)
		return fail(err, errlen, "preprocess: model channels must be 1 or 3");
	if (img->channels != 1 && img->channels != 3)
		return fail(err, errlen, "preprocess: image channels must be 1 or 3");
	if (p->interp != INTERP_BILINEAR && p->interp != INTERP_ANTIALIAS)
		return fail(err, errlen, "preprocess: unknown interpolation");
	if (preprocess_geometry(p, img->width, img->height, &gg))
		return fail(err, errlen, "preprocess: impossible image or input size");
	if (g)
		*g = gg;
	W = p->width;
	H = p->height;
	C = p->channels;
	plane = (size_t)W * H;

	/*
	 * cw channels are resampled: 3 for RGB -> 3, else 1 (gray, or luma).
	 * Output channel c reads resampled channel src_chan[c]; mean[c] and
	 * std[c] apply to output channel c (so with bgr, index 0 is blue).
	 */
	cw = (C == 3 && img->channels == 3) ? 3 : 1;
	for (c = 0; c < C; c++) {
		if (p->std[c] == 0.0f)
			return fail(err, errlen, "preprocess: std is zero");
		src_chan[c] = cw == 1 ? 0 : p->bgr ? 2 - c : c;
		padn[c] = (p->pad_value * p->scale - p->mean[c]) / p->std[c];
	}

	/* the part of the resized image that lands inside the input */
	vx0 = gg.left < 0 ? -gg.left : 0;
	vy0 = gg.top < 0 ? -gg.top : 0;
	vx1 = W - gg.left < gg.new_w ? W - gg.left : gg.new_w;
	vy1 = H - gg.top < gg.new_h ? H - gg.top : gg.new_h;
	nx = vx1 - vx0;
	ny = vy1 - vy0;

	/* padding: rows above and below, then the margins of the image rows */
	for (c = 0; c < C; c++) {
		float *o = out + (size_t)c * plane;
		int oy;

		if (nx <= 0 || ny <= 0) {
			fill(o, plane, padn[c]);
			continue;
		}
		fill(o, (size_t)(gg.top + vy0) * W, padn[c]);
		fill(o + (size_t)(gg.top + vy1) * W, (size_t)(H - gg.top - vy1) * W, padn[c]);
		for (oy = gg.top + vy0; oy < gg.top + vy1; oy++) {
			fill(o + (size_t)oy * W, (size_t)(gg.left + vx0), padn[c]);
			fill(o + (size_t)oy * W + gg.left + vx1, (size_t)(W - gg.left - vx1), padn[c]);
		}
	}
	if (nx <= 0 || ny <= 0)
		return 0;

	if (taps_build(&xt, p->interp, img->width, gg.new_w, vx0, nx))
		return fail(err, errlen, "preprocess: out of memory");
	if (taps_build(&yt, p->interp, img->height, gg.new_h, vy0, ny)) {
		taps_free(&xt);
		return fail(err, errlen, "preprocess: out of memory");
	}
	sx0 = xt.start[0];
	sx1 = taps_end(&xt);
	K = 1;
	for (ry = 0; ry < ny; ry++) {
		int span = (yt.cnt[ry] - 1) * yt.step[ry] + 1;

		if (span > K)
			K = span;
	}

	rowlen = (size_t)nx * cw;
	rowbuf = malloc((size_t)(sx1 - sx0) * cw * sizeof *rowbuf); /* (sx1 - sx0, cw) */
	ring = malloc((size_t)K * rowlen * sizeof *ring);           /* (K, nx, cw) */
	stage = malloc(rowlen * sizeof *stage);                     /* (nx, cw) */
	slot = malloc((size_t)K * sizeof *slot);                    /* source row held by each ring row */
	if (!rowbuf || !ring || !stage || !slot) {
		fail(err, errlen, "preprocess: out of memory");
		goto done;
	}
	for (k = 0; k < K; k++)
		slot[k] = -1;

	/*
	 * The rows one output row reads span at most K source rows, so they
	 * sit in distinct ring rows (source row r in ring row r % K); windows
	 * move forward only, so each source row is resampled once.
	 */
	for (ry = 0; ry < ny; ry++) {
		const float *w = yt.w + (size_t)ry * yt.maxc;
		int cnt = yt.cnt[ry], j, x;
		size_t i;
		int oy = gg.top + vy0 + ry;

		for (j = 0; j < cnt; j++) {
			int r = yt.start[ry] + j * yt.step[ry];

			if (slot[r % K] != r) {
				load_row(img, r, sx0, sx1, cw, rowbuf);
				hpass(&xt, sx0, rowbuf, cw, ring + (size_t)(r % K) * rowlen);
				slot[r % K] = r;
			}
		}
		{
			const float *s = ring + (size_t)(yt.start[ry] % K) * rowlen;

			for (i = 0; i < rowlen; i++)
				stage[i] = s[i] * w[0];
		}
		for (j = 1; j < cnt; j++) {
			const float *s = ring + (size_t)((yt.start[ry] + j * yt.step[ry]) % K) * rowlen;
			float wj = w[j];

			for (i = 0; i < rowlen; i++)
				stage[i] += s[i] * wj;
		}

		/*
		 * Normalise with the reference formula (v*scale - mean)/std: one
		 * division per output value (not per source pixel), which keeps
		 * the result bit-identical to the Python reference's.
		 */
		for (c = 0; c < C; c++) {
			float *o = out + (size_t)c * plane + (size_t)oy * W + gg.left + vx0;
			const float *s = stage + src_chan[c];
			float sc = p->scale, m = p->mean[c], sd = p->std[c];

			for (x = 0; x < nx; x++)
				o[x] = (s[(size_t)x * cw] * sc - m) / sd;
		}
	}
	rc = 0;
done:
	free(rowbuf);
	free(ring);
	free(stage);
	free(slot);
	taps_free(&xt);
	taps_free(&yt);
	return rc;
}

void preprocess_decode_target(const struct preprocess *p, const unsigned char *buf, size_t len, int *w, int *h)
{
	struct geometry g;
	int sw, sh;
	*w = *h = 0;
	if (image_jpeg_size(buf, len, &sw, &sh) == 0 && preprocess_geometry(p, sw, sh, &g) == 0) {
		*w = g.new_w;
		*h = g.new_h;
	}
}
