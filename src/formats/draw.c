/*
 * draw.c — boxes, labels and scores drawn on an RGB copy of an image, then
 * written as PNG (libpng 1.6) or JPEG (TurboJPEG, libjpeg-turbo 2.1).
 *
 * The text uses the classic public-domain 5x7 bitmap font of many embedded
 * projects, with descenders for g, j, p, q and y, in a 6x8 cell.  No global state: every call owns its
 * copy, its encoder handle and its temporary file.
 */
#include "formats/draw.h"
#include "sys/msg.h"

#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <png.h>
#include <turbojpeg.h>

/* ultralytics' palette, in its order: class k gets palette[k mod 20]. */
static const unsigned char palette[20][3] = {
	{0xFF, 0x38, 0x38}, {0xFF, 0x9D, 0x97}, {0xFF, 0x70, 0x1F}, {0xFF, 0xB2, 0x1D},
	{0xCF, 0xD2, 0x31}, {0x48, 0xF9, 0x0A}, {0x92, 0xCC, 0x17}, {0x3D, 0xDB, 0x86},
	{0x1A, 0x93, 0x34}, {0x00, 0xD4, 0xBB}, {0x2C, 0x99, 0xA8}, {0x00, 0xC2, 0xFF},
	{0x34, 0x45, 0x93}, {0x64, 0x73, 0xFF}, {0x00, 0x18, 0xEC}, {0x84, 0x38, 0xFF},
	{0x52, 0x00, 0x85}, {0xCB, 0x38, 0xFF}, {0xFF, 0x95, 0xC8}, {0xFF, 0x37, 0xC7},
};

static const unsigned char white[3] = {0xFF, 0xFF, 0xFF};

/*
 * Printable ASCII 32..126, 5 columns each, left to right; bit r of a column
 * is row r counted from the top (bit 0).  Glyphs stand on row 6; only the
 * descenders of g, j, p, q and y reach row 7, as in the Adafruit GFX font.
 */
static const unsigned char font5x7[95][5] = {
	{0x00, 0x00, 0x00, 0x00, 0x00}, /* ' ' */
	{0x00, 0x00, 0x5F, 0x00, 0x00}, /* '!' */
	{0x00, 0x07, 0x00, 0x07, 0x00}, /* '"' */
	{0x14, 0x7F, 0x14, 0x7F, 0x14}, /* '#' */
	{0x24, 0x2A, 0x7F, 0x2A, 0x12}, /* '$' */
	{0x23, 0x13, 0x08, 0x64, 0x62}, /* '%' */
	{0x36, 0x49, 0x55, 0x22, 0x50}, /* '&' */
	{0x00, 0x05, 0x03, 0x00, 0x00}, /* '\'' */
	{0x00, 0x1C, 0x22, 0x41, 0x00}, /* '(' */
	{0x00, 0x41, 0x22, 0x1C, 0x00}, /* ')' */
	{0x14, 0x08, 0x3E, 0x08, 0x14}, /* '*' */
	{0x08, 0x08, 0x3E, 0x08, 0x08}, /* '+' */
	{0x00, 0x50, 0x30, 0x00, 0x00}, /* ',' */
	{0x08, 0x08, 0x08, 0x08, 0x08}, /* '-' */
	{0x00, 0x60, 0x60, 0x00, 0x00}, /* '.' */
	{0x20, 0x10, 0x08, 0x04, 0x02}, /* '/' */
	{0x3E, 0x51, 0x49, 0x45, 0x3E}, /* '0' */
	{0x00, 0x42, 0x7F, 0x40, 0x00}, /* '1' */
	{0x42, 0x61, 0x51, 0x49, 0x46}, /* '2' */
	{0x21, 0x41, 0x45, 0x4B, 0x31}, /* '3' */
	{0x18, 0x14, 0x12, 0x7F, 0x10}, /* '4' */
	{0x27, 0x45, 0x45, 0x45, 0x39}, /* '5' */
	{0x3C, 0x4A, 0x49, 0x49, 0x30}, /* '6' */
	{0x01, 0x71, 0x09, 0x05, 0x03}, /* '7' */
	{0x36, 0x49, 0x49, 0x49, 0x36}, /* '8' */
	{0x06, 0x49, 0x49, 0x29, 0x1E}, /* '9' */
	{0x00, 0x36, 0x36, 0x00, 0x00}, /* ':' */
	{0x00, 0x56, 0x36, 0x00, 0x00}, /* ';' */
	{0x08, 0x14, 0x22, 0x41, 0x00}, /* '<' */
	{0x14, 0x14, 0x14, 0x14, 0x14}, /* '=' */
	{0x00, 0x41, 0x22, 0x14, 0x08}, /* '>' */
	{0x02, 0x01, 0x51, 0x09, 0x06}, /* '?' */
	{0x32, 0x49, 0x79, 0x41, 0x3E}, /* '@' */
	{0x7E, 0x11, 0x11, 0x11, 0x7E}, /* 'A' */
	{0x7F, 0x49, 0x49, 0x49, 0x36}, /* 'B' */
	{0x3E, 0x41, 0x41, 0x41, 0x22}, /* 'C' */
	{0x7F, 0x41, 0x41, 0x22, 0x1C}, /* 'D' */
	{0x7F, 0x49, 0x49, 0x49, 0x41}, /* 'E' */
	{0x7F, 0x09, 0x09, 0x09, 0x01}, /* 'F' */
	{0x3E, 0x41, 0x49, 0x49, 0x7A}, /* 'G' */
	{0x7F, 0x08, 0x08, 0x08, 0x7F}, /* 'H' */
	{0x00, 0x41, 0x7F, 0x41, 0x00}, /* 'I' */
	{0x20, 0x40, 0x41, 0x3F, 0x01}, /* 'J' */
	{0x7F, 0x08, 0x14, 0x22, 0x41}, /* 'K' */
	{0x7F, 0x40, 0x40, 0x40, 0x40}, /* 'L' */
	{0x7F, 0x02, 0x0C, 0x02, 0x7F}, /* 'M' */
	{0x7F, 0x04, 0x08, 0x10, 0x7F}, /* 'N' */
	{0x3E, 0x41, 0x41, 0x41, 0x3E}, /* 'O' */
	{0x7F, 0x09, 0x09, 0x09, 0x06}, /* 'P' */
	{0x3E, 0x41, 0x51, 0x21, 0x5E}, /* 'Q' */
	{0x7F, 0x09, 0x19, 0x29, 0x46}, /* 'R' */
	{0x46, 0x49, 0x49, 0x49, 0x31}, /* 'S' */
	{0x01, 0x01, 0x7F, 0x01, 0x01}, /* 'T' */
	{0x3F, 0x40, 0x40, 0x40, 0x3F}, /* 'U' */
	{0x1F, 0x20, 0x40, 0x20, 0x1F}, /* 'V' */
	{0x3F, 0x40, 0x38, 0x40, 0x3F}, /* 'W' */
	{0x63, 0x14, 0x08, 0x14, 0x63}, /* 'X' */
	{0x07, 0x08, 0x70, 0x08, 0x07}, /* 'Y' */
	{0x61, 0x51, 0x49, 0x45, 0x43}, /* 'Z' */
	{0x00, 0x7F, 0x41, 0x41, 0x00}, /* '[' */
	{0x02, 0x04, 0x08, 0x10, 0x20}, /* '\\' */
	{0x00, 0x41, 0x41, 0x7F, 0x00}, /* ']' */
	{0x04, 0x02, 0x01, 0x02, 0x04}, /* '^' */
	{0x40, 0x40, 0x40, 0x40, 0x40}, /* '_' */
	{0x00, 0x01, 0x02, 0x04, 0x00}, /* '`' */
	{0x20, 0x54, 0x54, 0x54, 0x78}, /* 'a' */
	{0x7F, 0x48, 0x44, 0x44, 0x38}, /* 'b' */
	{0x38, 0x44, 0x44, 0x44, 0x20}, /* 'c' */
	{0x38, 0x44, 0x44, 0x48, 0x7F}, /* 'd' */
	{0x38, 0x54, 0x54, 0x54, 0x18}, /* 'e' */
	{0x08, 0x7E, 0x09, 0x01, 0x02}, /* 'f' */
	{0x18, 0xA4, 0xA4, 0xA4, 0x7C}, /* 'g' */
	{0x7F, 0x08, 0x04, 0x04, 0x78}, /* 'h' */
	{0x00, 0x44, 0x7D, 0x40, 0x00}, /* 'i' */
	{0x40, 0x80, 0x80, 0x7A, 0x00}, /* 'j' */
	{0x7F, 0x10, 0x28, 0x44, 0x00}, /* 'k' */
	{0x00, 0x41, 0x7F, 0x40, 0x00}, /* 'l' */
	{0x7C, 0x04, 0x18, 0x04, 0x78}, /* 'm' */
	{0x7C, 0x08, 0x04, 0x04, 0x78}, /* 'n' */
	{0x38, 0x44, 0x44, 0x44, 0x38}, /* 'o' */
	{0xFC, 0x24, 0x24, 0x24, 0x18}, /* 'p' */
	{0x18, 0x24, 0x24, 0x24, 0xFC}, /* 'q' */
	{0x7C, 0x08, 0x04, 0x04, 0x08}, /* 'r' */
	{0x48, 0x54, 0x54, 0x54, 0x20}, /* 's' */
	{0x04, 0x3F, 0x44, 0x40, 0x20}, /* 't' */
	{0x3C, 0x40, 0x40, 0x20, 0x7C}, /* 'u' */
	{0x1C, 0x20, 0x40, 0x20, 0x1C}, /* 'v' */
	{0x3C, 0x40, 0x30, 0x40, 0x3C}, /* 'w' */
	{0x44, 0x28, 0x10, 0x28, 0x44}, /* 'x' */
	{0x1C, 0xA0, 0xA0, 0xA0, 0x7C}, /* 'y' */
	{0x44, 0x64, 0x54, 0x4C, 0x44}, /* 'z' */
	{0x00, 0x08, 0x36, 0x41, 0x00}, /* '{' */
	{0x00, 0x00, 0x7F, 0x00, 0x00}, /* '|' */
	{0x00, 0x41, 0x36, 0x08, 0x00}, /* '}' */
	{0x08, 0x04, 0x08, 0x10, 0x08}, /* '~' */
};

#define GLYPH_W 5
#define GLYPH_H 8         /* 7 rows, and one for descenders */
#define CELL_W (GLYPH_W + 1)    /* a column of spacing after each glyph */
#define LABEL_MAX 64            /* characters of label text drawn at most */

/* An RGB canvas: h rows of 3 * w bytes. */
struct canvas {
	unsigned char *px;
	int w, h;
};

/* Fills [x0, x1) x [y0, y1), clipped to the canvas, with rgb. */
static void fill_rect(struct canvas *c, long x0, long y0, long x1, long y1,
                      const unsigned char *rgb)
{
	long x, y;

	x0 = x0 < 0 ? 0 : x0;
	y0 = y0 < 0 ? 0 : y0;
	x1 = x1 > c->w ? c->w : x1;
	y1 = y1 > c->h ? c->h : y1;
	for (y = y0; y < y1; y++) {
		unsigned char *p = c->px + ((size_t)y * (size_t)c->w + (size_t)x0) * 3;

		for (x = x0; x < x1; x++, p += 3)
			memcpy(p, rgb, 3);
	}
}

/* Draws text (printable ASCII only) with its top-left at x, y, each font
 * pixel an s x s block, clipped to the canvas. */
static void draw_text(struct canvas *c, long x, long y, int s, const char *text,
                      const unsigned char *rgb)
{
	for (; *text != '\0'; text++, x += (long)CELL_W * s) {
		const unsigned char *g = font5x7[(unsigned char)*text - 32];
		int col, row;

		for (col = 0; col < GLYPH_W; col++)
			for (row = 0; row < GLYPH_H; row++)
				if (g[col] >> row & 1)
					fill_rect(c, x + (long)col * s, y + (long)row * s,
					          x + (long)(col + 1) * s, y + (long)(row + 1) * s, rgb);
	}
}

/* Clamps v to [lo, hi]; v is not NaN. */
static double clampd(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * The integer pixel rectangle [*x0, *x1) x [*y0, *y1) a box covers once
 * clipped to the canvas: a box running off the image is outlined along its
 * border.  Returns 0, or -1 for a box to skip: a NaN coordinate, no area, or
 * nothing of it inside the canvas.
 */
static int box_pixels(const struct canvas *c, const struct draw_box *b,
                      long *x0, long *y0, long *x1, long *y1)
{
	double bx1 = b->x1, by1 = b->y1, bx2 = b->x2, by2 = b->y2;

	if (isnan(bx1) || isnan(by1) || isnan(bx2) || isnan(by2) || !(bx2 > bx1) || !(by2 > by1))
		return -1;
	*x0 = (long)floor(clampd(bx1, 0, c->w));
	*y0 = (long)floor(clampd(by1, 0, c->h));
	*x1 = (long)ceil(clampd(bx2, 0, c->w));
	*y1 = (long)ceil(clampd(by2, 0, c->h));
	return *x1 > *x0 && *y1 > *y0 ? 0 : -1;
}

static const unsigned char *class_colour(int cls)
{
	return palette[((cls % 20) + 20) % 20];
}

/* Draws box b's outline, t pixels thick, inside its edges. */
static void draw_outline(struct canvas *c, const struct draw_box *b, int t)
{
	long x0, y0, x1, y1;
	const unsigned char *rgb = class_colour(b->cls);

	if (box_pixels(c, b, &x0, &y0, &x1, &y1) < 0)
		return;
	fill_rect(c, x0, y0, x1, y0 + t, rgb);
	fill_rect(c, x0, y1 - t, x1, y1, rgb);
	fill_rect(c, x0, y0, x0 + t, y1, rgb);
	fill_rect(c, x1 - t, y0, x1, y1, rgb);
}

/*
 * Draws box b's label, "LABEL 0.97", white on the box colour: a rectangle of
 * 10s rows (a pad of s, 8s of glyphs, a pad of s) whose bottom touches the
 * box's top edge, or just inside the box when there is no room above it;
 * moved left when it would run off the right side.
 */
static void draw_label(struct canvas *c, const struct draw_box *b, int s)
{
	char text[LABEL_MAX + 1];
	long x0, y0, x1, y1, lx, ly, tw, th;
	size_t i, len;

	if (box_pixels(c, b, &x0, &y0, &x1, &y1) < 0)
		return;
	if (b->label != NULL)
		snprintf(text, sizeof text, "%s %.2f", b->label, (double)b->score);
	else
		snprintf(text, sizeof text, "%d %.2f", b->cls, (double)b->score);
	len = strlen(text);
	for (i = 0; i < len; i++)
		if ((unsigned char)text[i] < 32 || (unsigned char)text[i] > 126)
			text[i] = '?';

	tw = (long)len * CELL_W * s + s;
	th = (long)(GLYPH_H + 2) * s;
	lx = x0;
	if (lx + tw > c->w)
		lx = c->w - tw < 0 ? 0 : c->w - tw;
	ly = y0 >= th ? y0 - th : y0;
	fill_rect(c, lx, ly, lx + tw, ly + th, class_colour(b->cls));
	draw_text(c, lx + s, ly + s, s, text, white);
}

/* ------------------------------------------------------------- writers --- */

#define PNG_WHY_LEN 128

/* libpng's error callback for the writer: keeps the message in the
 * PNG_WHY_LEN buffer given as error pointer and longjmps. */
static void png_on_write_error(png_structp png, png_const_charp msg)
{
	snprintf(png_get_error_ptr(png), PNG_WHY_LEN, "%s", msg);
	png_longjmp(png, 1);
}

static void png_on_write_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

/*
 * Writes the canvas as an 8-bit RGB PNG to the open file f (not closed
 * here).  why is PNG_WHY_LEN bytes of the caller's, for libpng's message:
 * a local array written between setjmp and longjmp would be indeterminate.
 * Returns 0, or -1 with err set.
 */
static int write_png(const struct canvas *c, FILE *f, char *why, const char *path,
                     char *err, size_t errlen)
{
	png_structp png;
	png_infop info;
	int y;

	png = png_create_write_struct(PNG_LIBPNG_VER_STRING, why, png_on_write_error,
	                              png_on_write_warning);
	if (png == NULL) {
		msg_fmt(err, errlen, "out of memory");
		return -1;
	}
	info = png_create_info_struct(png);
	if (info == NULL) {
		png_destroy_write_struct(&png, NULL);
		msg_fmt(err, errlen, "out of memory");
		return -1;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		/* libpng's stdio writer says "Write Error" when fwrite fails. */
		if (strcmp(why, "Write Error") == 0 && errno != 0)
			msg_fmt(err, errlen, "cannot write %s: %s", path, strerror(errno));
		else
			msg_fmt(err, errlen, "cannot write %s: PNG error: %s", path, why);
		return -1;
	}
	errno = 0;
	png_init_io(png, f);
	png_set_IHDR(png, info, (png_uint_32)c->w, (png_uint_32)c->h, 8, PNG_COLOR_TYPE_RGB,
	             PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (y = 0; y < c->h; y++)
		png_write_row(png, c->px + (size_t)y * (size_t)c->w * 3);
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	return 0;
}

/*
 * Writes the canvas as a quality-90, 4:2:0 JPEG to the open file f (not
 * closed here).  Returns 0, or -1 with err set.
 */
static int write_jpeg(const struct canvas *c, FILE *f, const char *path, char *err, size_t errlen)
{
	tjhandle tj = tjInitCompress();
	unsigned char *jpeg = NULL;
	unsigned long size = 0;
	int rc = -1;

	if (tj == NULL) {
		msg_fmt(err, errlen, "JPEG error: %s", tjGetErrorStr2(NULL));
		return -1;
	}
	if (tjCompress2(tj, c->px, c->w, 0, c->h, TJPF_RGB, &jpeg, &size, TJSAMP_420, 90, 0) < 0)
		msg_fmt(err, errlen, "cannot encode %s: JPEG error: %s", path, tjGetErrorStr2(tj));
	else if (fwrite(jpeg, 1, size, f) != size)
		msg_fmt(err, errlen, "cannot write %s: %s", path, strerror(errno));
	else
		rc = 0;
	tjFree(jpeg);
	tjDestroy(tj);
	return rc;
}

/*
 * Writes the canvas to path + ".tmp" in format, closes it and renames it to
 * path.  Returns 0, or -1 with err set and the temporary file removed.
 */
static int write_atomic(const struct canvas *c, enum image_format format, const char *path,
                        char *err, size_t errlen)
{
	size_t n = strlen(path);
	char *tmp = malloc(n + sizeof ".tmp");
	char why[PNG_WHY_LEN] = "";
	FILE *f;
	int rc;

	if (tmp == NULL) {
		msg_fmt(err, errlen, "out of memory");
		return -1;
	}
	memcpy(tmp, path, n);
	memcpy(tmp + n, ".tmp", sizeof ".tmp");
	f = fopen(tmp, "wb");
	if (f == NULL) {
		msg_fmt(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	rc = format == IMAGE_PNG ? write_png(c, f, why, path, err, errlen)
	                         : write_jpeg(c, f, path, err, errlen);
	/* A full disk may only show when the stdio buffer is flushed. */
	if (rc == 0 && (fflush(f) != 0 || ferror(f))) {
		msg_fmt(err, errlen, "cannot write %s: %s", path, strerror(errno));
		rc = -1;
	}
	if (fclose(f) != 0 && rc == 0) {
		msg_fmt(err, errlen, "cannot write %s: %s", path, strerror(errno));
		rc = -1;
	}
	if (rc == 0 && rename(tmp, path) != 0) {
		msg_fmt(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		rc = -1;
	}
	if (rc != 0)
		unlink(tmp);
	free(tmp);
	return rc;
}

/* --------------------------------------------------------------- entry --- */

int draw_detections(const struct image *img, const struct draw_box *boxes, int n,
                    enum image_format format, const char *path, char *err, size_t errlen)
{
	struct canvas c;
	size_t npx, i;
	int k, t, s, rc;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (img == NULL || img->data == NULL || img->width <= 0 || img->height <= 0 ||
	    (img->channels != 1 && img->channels != 3) || n < 0 || (n > 0 && boxes == NULL) ||
	    path == NULL || path[0] == '\0') {
		msg_fmt(err, errlen, "draw: invalid arguments");
		return -1;
	}
	if (format != IMAGE_PNG && format != IMAGE_JPEG) {
		msg_fmt(err, errlen, "draw: output format must be PNG or JPEG");
		return -1;
	}
	if ((size_t)img->width > SIZE_MAX / 3 / (size_t)img->height) {
		msg_fmt(err, errlen, "image dimensions %dx%d are too large", img->width, img->height);
		return -1;
	}
	npx = (size_t)img->width * (size_t)img->height;
	c.w = img->width;
	c.h = img->height;
	c.px = malloc(npx * 3);
	if (c.px == NULL) {
		msg_fmt(err, errlen, "out of memory for a %dx%d image", c.w, c.h);
		return -1;
	}
	if (img->channels == 3) {
		memcpy(c.px, img->data, npx * 3);
	} else {
		for (i = 0; i < npx; i++)
			memset(c.px + 3 * i, img->data[i], 3);
	}

	t = (int)lround((c.w < c.h ? c.w : c.h) / 300.0);
	t = t < 1 ? 1 : t;
	s = c.h / 400 < 1 ? 1 : c.h / 400;
	/* All outlines first, then all labels, so no box hides a label. */
	for (k = 0; k < n; k++)
		draw_outline(&c, &boxes[k], t);
	for (k = 0; k < n; k++)
		draw_label(&c, &boxes[k], s);

	rc = write_atomic(&c, format, path, err, errlen);
	free(c.px);
	return rc;
}
