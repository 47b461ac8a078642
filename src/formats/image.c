/*
 * image.c — PNG (libpng 1.6) and JPEG (TurboJPEG, libjpeg-turbo 2.1)
 * decoding into 8-bit gray or RGB, with JPEG EXIF orientation applied.
 *
 * Inputs are untrusted: every size is checked before it is multiplied or
 * allocated, the EXIF parser reads only inside the bytes it was given, and
 * neither library is allowed to print (libpng messages are captured by our
 * error callback, TurboJPEG keeps its own per-handle message).  The module has
 * no global state: a TurboJPEG handle is made and destroyed per call, which
 * costs a few kilobytes and microseconds against the decode itself.
 */
#include "formats/image.h"
#include "sys/msg.h"

#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <turbojpeg.h>

static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

enum image_format image_sniff(const unsigned char *buf, size_t len)
{
	if (buf == NULL)
		return IMAGE_UNKNOWN;
	if (len >= sizeof png_magic && memcmp(buf, png_magic, sizeof png_magic) == 0)
		return IMAGE_PNG;
	if (len >= 3 && buf[0] == 0xFF && buf[1] == 0xD8 && buf[2] == 0xFF)
		return IMAGE_JPEG;
	return IMAGE_UNKNOWN;
}

void image_free(struct image *img)
{
	if (img == NULL)
		return;
	free(img->data);
	img->data = NULL;
}

/*
 * Checks a header's claimed size against max_pixels (<= 0: no limit) and
 * that width * height * channels bytes fit in size_t and int arithmetic.
 * Stores the byte count in *bytes.  Returns 0, or -1 with err set.
 */
static int check_size(long long w, long long h, int channels, long long max_pixels,
                      size_t *bytes, char *err, size_t errlen)
{
	if (w <= 0 || h <= 0) {
		msg_fmt(err, errlen, "image has zero width or height (%lldx%lld)", w, h);
		return -1;
	}
	/* w and h are below 2^32 here, so the product cannot overflow. */
	if (max_pixels > 0 && w * h > max_pixels) {
		msg_fmt(err, errlen, "image claims %lldx%lld pixels, more than --max-pixels (%lld)",
		        w, h, max_pixels);
		return -1;
	}
	if (w > INT_MAX / channels || h > INT_MAX ||
	    (unsigned long long)h > SIZE_MAX / ((unsigned long long)w * (unsigned long long)channels)) {
		msg_fmt(err, errlen, "image dimensions %lldx%lld are too large", w, h);
		return -1;
	}
	*bytes = (size_t)w * (size_t)h * (size_t)channels;
	return 0;
}

/* ------------------------------------------------------------------ PNG --- */

/* The state libpng's callbacks see: the input buffer and where errors go. */
struct png_ctx {
	const unsigned char *buf;
	size_t len, pos;
	int truncated;          /* the read callback ran out of input */
	char warning[96];       /* the last warning, to explain "Invalid IHDR data" */
	char *err;
	size_t errlen;
};

/* libpng read callback: copies from the memory buffer, or fails as truncated. */
static void png_mem_read(png_structp png, png_bytep dst, size_t n)
{
	struct png_ctx *ctx = png_get_io_ptr(png);

	if (n > ctx->len - ctx->pos) {
		ctx->truncated = 1;
		png_error(png, "truncated PNG data");
	}
	memcpy(dst, ctx->buf + ctx->pos, n);
	ctx->pos += n;
}

/*
 * libpng error callback: records the message in ctx->err and longjmps back
 * to png_decode.  It must not return, or libpng would print the message.
 */
static void png_on_error(png_structp png, png_const_charp msg)
{
	struct png_ctx *ctx = png_get_error_ptr(png);

	if (ctx->truncated)
		msg_fmt(ctx->err, ctx->errlen, "truncated PNG data");
	else if (ctx->warning[0] != '\0' && strcmp(msg, "Invalid IHDR data") == 0)
		msg_fmt(ctx->err, ctx->errlen, "PNG error: %s (%s)", msg, ctx->warning);
	else
		msg_fmt(ctx->err, ctx->errlen, "PNG error: %s", msg);
	png_longjmp(png, 1);
}

/* libpng warning callback: silent; keeps the first warning for context. */
static void png_on_warning(png_structp png, png_const_charp msg)
{
	struct png_ctx *ctx = png_get_error_ptr(png);

	if (ctx->warning[0] == '\0')
		snprintf(ctx->warning, sizeof ctx->warning, "%s", msg);
}

/*
 * Decodes a PNG into *out (gray for gray/gray+alpha sources, RGB otherwise;
 * alpha stripped, 16-bit truncated to the high byte, sub-byte gray scaled to
 * 0..255, palette expanded, Adam7 de-interlaced).  Owns everything it
 * allocates until success hands data to *out.  Returns 0, or -1 with err set
 * and nothing allocated.
 */
static int png_decode(const unsigned char *buf, size_t len, long long max_pixels,
                      struct image *out, char *err, size_t errlen)
{
	struct png_ctx ctx = {buf, len, 0, 0, "", err, errlen};
	png_structp png;
	png_infop info = NULL;
	/* Modified between setjmp and a possible longjmp, hence volatile. */
	unsigned char *volatile data = NULL;
	png_bytep *volatile rows = NULL;
	png_uint_32 w, h, y;
	int depth, color, ch, channels;
	size_t bytes, stride;

	png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, png_on_error, png_on_warning);
	if (png == NULL) {
		msg_fmt(err, errlen, "out of memory");
		return -1;
	}
	info = png_create_info_struct(png);
	if (info == NULL) {
		png_destroy_read_struct(&png, NULL, NULL);
		msg_fmt(err, errlen, "out of memory");
		return -1;
	}
	if (setjmp(png_jmpbuf(png))) {
		free(rows);
		free(data);
		png_destroy_read_struct(&png, &info, NULL);
		return -1;
	}
	png_set_read_fn(png, &ctx, png_mem_read);
	/* Skip every ancillary chunk except tRNS (text, zTXt, iCCP, ...): none
	 * is of use here, and each is parsing of untrusted data avoided. */
	png_set_keep_unknown_chunks(png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);

	png_read_info(png, info);
	w = png_get_image_width(png, info);
	h = png_get_image_height(png, info);
	depth = png_get_bit_depth(png, info);
	color = png_get_color_type(png, info);
	ch = (color & PNG_COLOR_MASK_COLOR) ? 3 : 1;
	if (check_size(w, h, ch, max_pixels, &bytes, err, errlen) < 0)
		png_longjmp(png, 1);

	if (color == PNG_COLOR_TYPE_PALETTE)
		png_set_palette_to_rgb(png);
	else if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	if (depth == 16)
		png_set_strip_16(png);
	/* Drops alpha channels and ignores tRNS (a tRNS key is not expanded). */
	png_set_strip_alpha(png);
	png_set_interlace_handling(png);
	png_read_update_info(png, info);

	channels = png_get_channels(png, info);
	stride = (size_t)w * (size_t)ch;
	if (channels != ch || png_get_bit_depth(png, info) != 8 ||
	    png_get_rowbytes(png, info) != stride) {
		msg_fmt(err, errlen, "PNG error: unexpected layout after conversion (%d channels)",
		        channels);
		png_longjmp(png, 1);
	}

	data = malloc(bytes);
	rows = calloc(h, sizeof *rows);     /* calloc checks h * size */
	if (data == NULL || rows == NULL) {
		msg_fmt(err, errlen, "out of memory for a %ux%u image", (unsigned)w, (unsigned)h);
		png_longjmp(png, 1);
	}
	for (y = 0; y < h; y++)
		rows[y] = data + (size_t)y * stride;
	png_read_image(png, rows);
	/* Trailing chunks (and IEND) are not read: a file cut after the image
	 * data still decodes, as Pillow decodes it. */

	free(rows);
	png_destroy_read_struct(&png, &info, NULL);
	out->width = (int)w;
	out->height = (int)h;
	out->channels = ch;
	out->data = data;
	out->format = IMAGE_PNG;
	out->scale_denom = 1;
	return 0;
}

/* ----------------------------------------------------------------- EXIF --- */

static unsigned rd16(const unsigned char *p, int be)
{
	return be ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static uint32_t rd32(const unsigned char *p, int be)
{
	return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
	          : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/*
 * Reads the Orientation tag (0x0112) from IFD0 of a TIFF structure of n bytes
 * ("II" or "MM" header).  Returns 1..8, or 1 when absent or malformed.
 */
static int exif_tiff_orientation(const unsigned char *t, size_t n)
{
	int be;
	uint32_t ifd;
	unsigned count, i;

	if (n < 8)
		return 1;
	if (t[0] == 'I' && t[1] == 'I')
		be = 0;
	else if (t[0] == 'M' && t[1] == 'M')
		be = 1;
	else
		return 1;
	if (rd16(t + 2, be) != 42)
		return 1;
	ifd = rd32(t + 4, be);
	if (ifd > n || n - ifd < 2)
		return 1;
	count = rd16(t + ifd, be);
	for (i = 0; i < count; i++) {
		size_t e = (size_t)ifd + 2 + (size_t)i * 12;
		unsigned type, v;

		if (e > n || n - e < 12)
			return 1;
		if (rd16(t + e, be) != 0x0112)
			continue;
		type = rd16(t + e + 2, be);
		if (rd32(t + e + 4, be) != 1)
			return 1;
		if (type == 3)          /* SHORT, left-justified in the value field */
			v = rd16(t + e + 8, be);
		else if (type == 4)     /* LONG, written by a few broken tools */
			v = (unsigned)rd32(t + e + 8, be);
		else
			return 1;
		return v >= 1 && v <= 8 ? (int)v : 1;
	}
	return 1;
}

/*
 * Walks the JPEG markers before the first scan looking for an APP1 "Exif\0\0"
 * segment.  Returns its orientation 1..8, or 1 when there is none.  Reads
 * only inside buf[0..len).
 */
static int jpeg_exif_orientation(const unsigned char *buf, size_t len)
{
	size_t p = 2;           /* after SOI */

	while (p + 4 <= len) {
		unsigned marker;
		size_t seglen;

		if (buf[p] != 0xFF)
			return 1;
		while (p < len && buf[p] == 0xFF)       /* fill bytes */
			p++;
		if (p >= len)
			return 1;
		marker = buf[p++];
		if (marker == 0xD8 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7))
			continue;       /* standalone markers */
		if (marker == 0xDA || marker == 0xD9 || p + 2 > len)
			return 1;       /* start of scan, end of image, or cut short */
		seglen = (size_t)buf[p] << 8 | buf[p + 1];
		if (seglen < 2 || seglen > len - p)
			return 1;
		if (marker == 0xE1 && seglen >= 2 + 6 && memcmp(buf + p + 2, "Exif\0\0", 6) == 0)
			return exif_tiff_orientation(buf + p + 8, seglen - 8);
		p += seglen;
	}
	return 1;
}

/*
 * Returns a newly allocated copy of src (w x h stored pixels, c channels)
 * turned upright for EXIF orientation o (2..8); the upright size is h x w for
 * o >= 5.  Returns NULL when out of memory.
 */
static unsigned char *orient_pixels(const unsigned char *src, int w, int h, int c, int o)
{
	int ow = o >= 5 ? h : w, oh = o >= 5 ? w : h;
	unsigned char *dst = malloc((size_t)w * (size_t)h * (size_t)c);
	unsigned char *d = dst;
	int x, y;

	if (dst == NULL)
		return NULL;
	for (y = 0; y < oh; y++) {
		for (x = 0; x < ow; x++) {
			int sx, sy;

			switch (o) {
			case 2: sx = w - 1 - x; sy = y; break;
			case 3: sx = w - 1 - x; sy = h - 1 - y; break;
			case 4: sx = x; sy = h - 1 - y; break;
			case 5: sx = y; sy = x; break;
			case 6: sx = y; sy = h - 1 - x; break;
			case 7: sx = w - 1 - y; sy = h - 1 - x; break;
			case 8: sx = w - 1 - y; sy = x; break;
			default: sx = x; sy = y; break;
			}
			memcpy(d, src + ((size_t)sy * (size_t)w + (size_t)sx) * (size_t)c, (size_t)c);
			d += c;
		}
	}
	return dst;
}

/* ----------------------------------------------------------------- JPEG --- */

/*
 * Converts n inverted (Adobe) CMYK pixels to RGB in place (rgb may alias
 * cmyk: each 4-byte input is read before its 3-byte output is written).
 * Same integer arithmetic as Pillow's convert("RGB") after its "CMYK;I"
 * unpacking, so the result matches Pillow exactly for the same CMYK samples.
 */
static void cmyk_to_rgb(const unsigned char *cmyk, unsigned char *rgb, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int k = 255 - cmyk[4 * i + 3], nk = 255 - k, j;
		int v[3];

		for (j = 0; j < 3; j++) {
			int ink = 255 - cmyk[4 * i + j];
			int t = ink * nk + 128;

			v[j] = nk - (((t >> 8) + t) >> 8);
			v[j] = v[j] < 0 ? 0 : v[j];
		}
		rgb[3 * i] = (unsigned char)v[0];
		rgb[3 * i + 1] = (unsigned char)v[1];
		rgb[3 * i + 2] = (unsigned char)v[2];
	}
}

/*
 * Walks the marker structure the way a decoder does (segments by their
 * length, entropy-coded data up to the next marker that is not a stuffed
 * byte or a restart) and says whether the EOI marker is inside buf.
 * Returns 1 if it is, 0 when the data ends first (a truncated file).
 */
static int jpeg_reaches_eoi(const unsigned char *buf, size_t len)
{
	size_t p = 2;

	for (;;) {
		unsigned marker;
		size_t seglen;

		while (p < len && buf[p] != 0xFF)       /* garbage, as libjpeg skips it */
			p++;
		while (p < len && buf[p] == 0xFF)
			p++;
		if (p >= len)
			return 0;
		marker = buf[p++];
		if (marker == 0xD9)
			return 1;
		if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8))
			continue;
		if (len - p < 2)
			return 0;
		seglen = (size_t)buf[p] << 8 | buf[p + 1];
		if (seglen > len - p)
			return 0;
		p += seglen < 2 ? 2 : seglen;
		if (marker != 0xDA)
			continue;
		while (p + 1 < len && !(buf[p] == 0xFF && buf[p + 1] != 0x00 && buf[p + 1] != 0xFF &&
		                        (buf[p + 1] < 0xD0 || buf[p + 1] > 0xD7)))
			p++;
		if (p + 1 >= len)
			return 0;
	}
}

/*
 * Says whether msg, the last message of a failed tjDecompress2(), is one of
 * libjpeg's warnings (jerror.h JWRN_*).  TurboJPEG reports TJERR_WARNING for
 * a fatal error that follows a warning too, so the code alone cannot tell;
 * since a fatal error always ends the decode, a warning as the last message
 * means none happened.
 */
static int jpeg_is_warning(const char *msg)
{
	static const char *const warnings[] = {
		"Corrupt JPEG data:", "Premature end of JPEG file",
		"Inconsistent progression sequence", "Unknown Adobe color transform",
		"Warning: unknown JFIF revision", "Invalid SOS parameters for sequential",
		"Application transferred too many scanlines",
	};
	size_t i;

	for (i = 0; i < sizeof warnings / sizeof warnings[0]; i++)
		if (strncmp(msg, warnings[i], strlen(warnings[i])) == 0)
			return 1;
	return 0;
}

/*
 * Picks the reduced-scale factor for a w x h JPEG shown upright (rotated
 * when swap): the strongest reduction of 1/2, 1/4 and 1/8 whose upright
 * scaled size stays >= fast_w x fast_h.  Stores it in *sf and returns its
 * denominator; 1 (and 1/1 in *sf) for full size.
 */
static int pick_scale(int w, int h, int swap, int fast_w, int fast_h, tjscalingfactor *sf)
{
	int n = 0, i, best = 1;
	tjscalingfactor *list;

	sf->num = sf->denom = 1;
	if (fast_w <= 0 || fast_h <= 0)
		return 1;
	list = tjGetScalingFactors(&n);
	if (list == NULL)
		return 1;
	for (i = 0; i < n; i++) {
		int sw, sh;

		if (list[i].num != 1 || (list[i].denom != 2 && list[i].denom != 4 && list[i].denom != 8))
			continue;
		sw = TJSCALED(swap ? h : w, list[i]);
		sh = TJSCALED(swap ? w : h, list[i]);
		if (sw >= fast_w && sh >= fast_h && list[i].denom > best) {
			best = list[i].denom;
			*sf = list[i];
		}
	}
	return best;
}

/*
 * Decodes a JPEG into *out (gray for grayscale JPEGs, RGB otherwise),
 * possibly at reduced scale, then applies EXIF orientation.  Returns 0, or -1
 * with err set and nothing allocated.
 */
static int jpeg_decode(const unsigned char *buf, size_t len, long long max_pixels,
                       int fast_w, int fast_h, struct image *out, char *err, size_t errlen)
{
	tjhandle tj;
	tjscalingfactor sf;
	int w, h, subsamp, cs, orient, denom, sw, sh, pf, ch, rc;
	unsigned char *data = NULL;
	size_t bytes;

	if (len > ULONG_MAX) {
		msg_fmt(err, errlen, "JPEG file too large");
		return -1;
	}
	tj = tjInitDecompress();
	if (tj == NULL) {
		msg_fmt(err, errlen, "JPEG error: %s", tjGetErrorStr2(NULL));
		return -1;
	}
	w = h = 0;
	subsamp = cs = -1;
	/* Header warnings (extraneous bytes before a marker) make this return
	 * -1 too, with the header read: go on, tjDecompress2 meets them again. */
	if (tjDecompressHeader3(tj, buf, (unsigned long)len, &w, &h, &subsamp, &cs) < 0 &&
	    !(tjGetErrorCode(tj) == TJERR_WARNING && jpeg_is_warning(tjGetErrorStr2(tj)) &&
	      jpeg_reaches_eoi(buf, len))) {
		if (!jpeg_reaches_eoi(buf, len))
			msg_fmt(err, errlen, "truncated JPEG data");
		else
			msg_fmt(err, errlen, "JPEG error: %s", tjGetErrorStr2(tj));
		goto fail;
	}
	/* A tables-only stream succeeds without an image. */
	if (w <= 0 || h <= 0) {
		msg_fmt(err, errlen, jpeg_reaches_eoi(buf, len) ? "JPEG error: no image in the data"
		                                                 : "truncated JPEG data");
		goto fail;
	}
	/* Refuse on the full size the header claims, before any allocation. */
	if (check_size(w, h, 4, max_pixels, &bytes, err, errlen) < 0)
		goto fail;

	orient = jpeg_exif_orientation(buf, len);
	denom = pick_scale(w, h, orient >= 5, fast_w, fast_h, &sf);
	sw = TJSCALED(w, sf);
	sh = TJSCALED(h, sf);

	if (cs == TJCS_GRAY) {
		pf = TJPF_GRAY;
		ch = 1;
	} else if (cs == TJCS_CMYK || cs == TJCS_YCCK) {
		pf = TJPF_CMYK;     /* libjpeg cannot make RGB from these */
		ch = 3;
	} else {
		pf = TJPF_RGB;
		ch = 3;
	}
	data = malloc((size_t)sw * (size_t)sh * (size_t)tjPixelSize[pf]);
	if (data == NULL) {
		msg_fmt(err, errlen, "out of memory for a %dx%d image", sw, sh);
		goto fail;
	}
	rc = tjDecompress2(tj, buf, (unsigned long)len, data, sw, 0, sh, pf,
	                   TJFLAG_ACCURATEDCT | TJFLAG_LIMITSCANS);
	if (rc < 0) {
		const char *msg = tjGetErrorStr2(tj);

		/* libjpeg fills a cut-off image with gray and warns: refuse it, as
		 * Pillow does.  Other warnings alone (extraneous bytes, a bad
		 * Huffman code) leave a complete, if damaged, image, which Pillow
		 * accepts too. */
		if (!jpeg_reaches_eoi(buf, len) || strstr(msg, "Premature end of JPEG file") != NULL) {
			msg_fmt(err, errlen, "truncated JPEG data");
			goto fail;
		}
		if (tjGetErrorCode(tj) != TJERR_WARNING || !jpeg_is_warning(msg)) {
			msg_fmt(err, errlen, "JPEG error: %s", msg);
			goto fail;
		}
	}
	if (pf == TJPF_CMYK)
		cmyk_to_rgb(data, data, (size_t)sw * (size_t)sh);
	if (orient != 1) {
		unsigned char *up = orient_pixels(data, sw, sh, ch, orient);

		if (up == NULL) {
			msg_fmt(err, errlen, "out of memory for a %dx%d image", sw, sh);
			goto fail;
		}
		free(data);
		data = up;
	} else if (pf == TJPF_CMYK) {
		unsigned char *small = realloc(data, (size_t)sw * (size_t)sh * 3);

		if (small != NULL)
			data = small;
	}
	tjDestroy(tj);
	out->width = orient >= 5 ? sh : sw;
	out->height = orient >= 5 ? sw : sh;
	out->channels = ch;
	out->data = data;
	out->format = IMAGE_JPEG;
	out->scale_denom = denom;
	return 0;

fail:
	free(data);
	tjDestroy(tj);
	return -1;
}

/* ----------------------------------------------------------------- entry --- */

int image_decode(const unsigned char *buf, size_t len, long long max_pixels,
                 int fast_w, int fast_h, struct image *out, char *err, size_t errlen)
{
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	memset(out, 0, sizeof *out);
	if (len == 0) {
		msg_fmt(err, errlen, "empty file");
		return -1;
	}
	switch (image_sniff(buf, len)) {
	case IMAGE_PNG:
		return png_decode(buf, len, max_pixels, out, err, errlen);
	case IMAGE_JPEG:
		return jpeg_decode(buf, len, max_pixels, fast_w, fast_h, out, err, errlen);
	default:
		msg_fmt(err, errlen, "not a PNG or JPEG file");
		return -1;
	}
}

int image_jpeg_size(const unsigned char *buf, size_t len, int *w, int *h)
{
	tjhandle tj;
	int width, height, subsamp, colorspace, rc;
	if (image_sniff(buf, len) != IMAGE_JPEG || !(tj = tjInitDecompress()))
		return -1;
	rc = tjDecompressHeader3(tj, buf, (unsigned long)len, &width, &height, &subsamp, &colorspace);
	tjDestroy(tj);
	if (rc != 0 || width <= 0 || height <= 0)
		return -1;
	if (jpeg_exif_orientation(buf, len) >= 5) { /* turned a quarter: upright size swapped */
		int t = width;
		width = height;
		height = t;
	}
	*w = width;
	*h = height;
	return 0;
}
