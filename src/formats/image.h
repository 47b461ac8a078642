/*
 * image.h — PNG (libpng) and JPEG (TurboJPEG) decoding into 8-bit pixels.
 *
 * The format is found from magic bytes, never from the file name.  Every
 * decoder refuses an image whose header claims more than max_pixels before
 * allocating anything for it.  JPEG EXIF orientation is applied, so width and
 * height are those of the upright image.
 */
#ifndef TINFER_IMAGE_H
#define TINFER_IMAGE_H

#include <stddef.h>

enum image_format { IMAGE_UNKNOWN = 0, IMAGE_PNG, IMAGE_JPEG };

struct image {
	int width, height;      /* upright size, after EXIF orientation */
	int channels;           /* 1 (gray) or 3 (RGB); alpha is dropped */
	unsigned char *data;    /* height rows of width*channels bytes, top-left origin */
	enum image_format format;
	int scale_denom;        /* 1, or 2/4/8 when decoded at reduced scale */
};

/* Returns the format the first bytes announce, IMAGE_UNKNOWN otherwise. */
enum image_format image_sniff(const unsigned char *buf, size_t len);

/*
 * Decodes buf into *out.  16-bit samples become v >> 8; palette, gray+alpha,
 * RGBA, 1/2/4-bit and interlaced PNGs become gray or RGB; grayscale,
 * progressive and CMYK/YCCK JPEGs are supported.
 *
 * fast_w, fast_h: when both are > 0 and the image is a JPEG at least twice as
 * large as that in both dimensions, it is decoded at 1/2, 1/4 or 1/8 scale
 * (the largest reduction that stays >= fast_w x fast_h); 0, 0 = full size.
 *
 * Returns 0 on success.  On error returns -1, leaves *out empty and writes a
 * one-line reason (no trailing newline, no file name) into err.
 */
int image_decode(const unsigned char *buf, size_t len, long long max_pixels,
                 int fast_w, int fast_h, struct image *out, char *err, size_t errlen);

/*
 * The upright size of a JPEG from its header alone (EXIF orientation
 * applied), to choose fast_w and fast_h before decoding.  0, or -1 when buf
 * is not a JPEG with a readable header.
 */
int image_jpeg_size(const unsigned char *buf, size_t len, int *w, int *h);

/* Releases out->data; accepts NULL and an already freed image. */
void image_free(struct image *img);

#endif
