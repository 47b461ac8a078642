/*
 * crops.h — --crop-from: detection records (JSON Lines from `tinfer run`
 * with a detect model, a file or a pipe) become inputs, one per box, each
 * the box cut from its source image in memory.  The source is read and
 * decoded once for all its boxes and freed with the last of them.
 *
 * The region cut: the box [x1, y1, x2, y2] widened by pad times its width
 * and height on each side, then floor(x1), floor(y1), ceil(x2), ceil(y2)
 * clipped to the image; the record's "box" is that region.
 */
#ifndef TINFER_CROPS_H
#define TINFER_CROPS_H

#include <stdio.h>

#include "app/inputs.h"
#include "formats/image.h"

/* The source image of a record's boxes, shared by them. */
struct crop_source;

/* One box to cut. */
struct crop {
	struct crop_source *src;
	double box[4];              /* as the record gives it, source pixels */
};

struct crops;

/* Reads records from f (not closed here), widening boxes by pad. */
struct crops *crops_open(FILE *f, const char *name, double pad);

/*
 * The next input: a box of an ok detect record (name = the record's input,
 * det = the box's index, crop set), or an error input for a detector's
 * error record or a line that is not a detect record.  1, or 0 at the end.
 */
int crops_next(struct crops *c, struct input *in);

/* 1 while the records come from a pipe or terminal. */
int crops_streaming(const struct crops *c);

void crops_close(struct crops *c);

/*
 * Cuts crop's region from its source (decoding the source on first use,
 * once for all its boxes, under max_pixels) into *out, a new image, and
 * its integer region into region[4] (x0, y0, x1, y1).  0, or -1 with a
 * one-line reason (the source cannot be read, the region is empty).
 * Thread-safe.
 */
int crop_cut(struct crop *crop, long long max_pixels, struct image *out, int region[4], char *err,
             size_t errlen);

/* Releases a crop and, with its last box, the source image. */
void crop_free(struct crop *crop);

#endif
