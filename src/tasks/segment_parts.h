/*
 * segment_parts.h — the model-free steps of promptable point-cloud part
 * segmentation (SPEC §5), exactly as samples/segment_reference.py specifies
 * them, so that tinfer and the Python reference agree label for label:
 * normalisation, seeded sampling, farthest-point prompts, the merge of the
 * per-prompt masks into parts, and labels for every input point.
 * segment.c runs the model between them.
 */
#ifndef TINFER_SEGMENT_PARTS_H
#define TINFER_SEGMENT_PARTS_H

#include <stddef.h>
#include <stdint.h>

#include "sys/num.h"

/*
 * xyz (n, 3) -> out (n, 3): centred on the bounding box's centre, divided
 * by the largest half-extent (1 when the cloud is a point).
 */
void seg_normalise(const float *xyz, size_t n, float *out);

/*
 * The first N of a partial Fisher-Yates shuffle of 0..n-1 into idx (N);
 * every point in order, with no draw, when N == n.  -1 when out of memory.
 */
int seg_sample(size_t n, size_t N, struct splitmix *r, size_t *idx);

/* Farthest-point sampling of K of the N points pts (N, 3) into sel (K). -1 when out of memory. */
int seg_fps(const float *pts, size_t N, size_t K, struct splitmix *r, size_t *sel);

/* One prompt's best mask over the N sampled points. */
struct seg_mask {
	float score;                /* its predicted IoU */
	int prompt;                 /* position of its prompt */
	unsigned char *mask;        /* (N) 0/1 */
	size_t count;               /* points in it */
	int part;                   /* after seg_merge: its part id, or -1 */
};

/*
 * Drops masks under min_score or empty, then duplicates (mask IoU > 0.9
 * with a better one), paints the rest from largest to smallest into lab (N:
 * part id or -1) and numbers the parts that own points 0, 1, ...  Sets each
 * mask's part.  Returns the number of parts, or -1 when out of memory.
 */
int seg_merge(struct seg_mask *m, int n, size_t N, double min_score, int *lab);

/*
 * labels (n) for the n points q (n, 3): the label of the nearest of the N
 * points pts (lowest index on a tie).  -1 when out of memory.
 */
int seg_nearest(const float *q, size_t n, const float *pts, size_t N, const int *lab, int *labels);

#endif
