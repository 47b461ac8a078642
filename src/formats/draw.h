/*
 * draw.h — `tinfer run --draw DIR` for the detect task: an image written back
 * as PNG (libpng) or JPEG (TurboJPEG) with its boxes, labels and scores drawn,
 * for a person to look at.
 *
 * Each box is clipped to the image (one running off it is outlined along the
 * border) and outlined inside its edges, max(1, round(min(w, h) / 300)) pixels
 * thick, in a colour picked by class from a fixed 20-colour palette
 * (ultralytics').  Above its top-left corner (inside the box when there is no
 * room above) goes "LABEL 0.97" in white on a filled rectangle of the box
 * colour, in an embedded 5x7 font scaled by max(1, height / 400).
 */
#ifndef TINFER_DRAW_H
#define TINFER_DRAW_H

#include <stddef.h>

#include "formats/image.h"

struct draw_box {
	float x1, y1, x2, y2;   /* source-image pixels, x2/y2 exclusive edges as floats */
	float score;
	int cls;                /* class index: picks the colour */
	const char *label;      /* may be NULL: then the class number is written */
};

/*
 * Writes img (as decoded by image_decode: 1 or 3 channels, 8-bit) with the
 * n boxes drawn to path, as 8-bit RGB PNG when format is IMAGE_PNG and as
 * JPEG (quality 90, 4:2:0) when IMAGE_JPEG.  The image is not modified: the
 * drawing is done on an RGB copy.  Boxes with a NaN coordinate or no area
 * (x2 <= x1 or y2 <= y1) are skipped; label bytes outside printable ASCII are
 * written as '?'.
 *
 * The picture is written to path + ".tmp" and renamed to path once complete,
 * so a killed run never leaves a half-written file under the final name.
 *
 * Returns 0.  On error (bad arguments, out of memory, an encoder or I/O
 * failure) returns -1, leaves nothing at path + ".tmp" and writes a one-line
 * reason (no trailing newline) into err.
 */
int draw_detections(const struct image *img, const struct draw_box *boxes, int n,
                    enum image_format format, const char *path, char *err, size_t errlen);

#endif
