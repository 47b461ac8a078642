/*
 * segment_parts.c — see segment_parts.h.  Float arithmetic is written in the order the
 * reference uses and compiled without contraction (-std=c11 implies
 * -ffp-contract=off), so that the sums round the same way.
 */
#include "tasks/segment_parts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void seg_normalise(const float *xyz, size_t n, float *out)
{
	float lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY};
	double centre[3], half = 0.0;

	for (size_t i = 0; i < n; i++)
		for (int a = 0; a < 3; a++) {
			float v = xyz[i * 3 + a];
			if (v < lo[a])
				lo[a] = v;
			if (v > hi[a])
				hi[a] = v;
		}
	for (int a = 0; a < 3; a++) {
		double h = ((double)hi[a] - (double)lo[a]) / 2;
		centre[a] = ((double)lo[a] + (double)hi[a]) / 2;
		if (h > half)
			half = h;
	}
	if (half == 0.0)
		half = 1.0;
	for (size_t i = 0; i < n; i++)
		for (int a = 0; a < 3; a++)
			out[i * 3 + a] = (float)(((double)xyz[i * 3 + a] - centre[a]) / half);
}

int seg_sample(size_t n, size_t N, struct splitmix *r, size_t *idx)
{
	size_t *perm;
	if (N >= n) {
		for (size_t i = 0; i < n; i++)
			idx[i] = i;
		return 0;
	}
	if (!(perm = malloc(n * sizeof *perm)))
		return -1;
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	for (size_t i = 0; i < N; i++) {
		size_t j = i + (size_t)(splitmix_next(r) % (uint64_t)(n - i)), t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	memcpy(idx, perm, N * sizeof *idx);
	free(perm);
	return 0;
}

/* (dx*dx + dy*dy) + dz*dz in float, as the reference evaluates it. */
static float sqdist(const float *a, const float *b)
{
	float dx = a[0] - b[0], dy = a[1] - b[1], dz = a[2] - b[2];
	float xy = dx * dx + dy * dy;
	return xy + dz * dz;
}

int seg_fps(const float *pts, size_t N, size_t K, struct splitmix *r, size_t *sel)
{
	float *dist;
	if (K == 0)
		return 0;
	if (!(dist = malloc(N * sizeof *dist)))
		return -1;
	for (size_t i = 0; i < N; i++)
		dist[i] = INFINITY;
	sel[0] = (size_t)(splitmix_next(r) % (uint64_t)N);
	for (size_t k = 1; k < K; k++) {
		const float *q = pts + sel[k - 1] * 3;
		size_t best = 0;
		for (size_t i = 0; i < N; i++) {
			float d = sqdist(pts + i * 3, q);
			if (d < dist[i])
				dist[i] = d;
			if (dist[i] > dist[best])
				best = i;
		}
		sel[k] = best;
	}
	free(dist);
	return 0;
}

static int by_score(const void *a, const void *b)
{
	const struct seg_mask *x = *(struct seg_mask *const *)a, *y = *(struct seg_mask *const *)b;
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return x->prompt - y->prompt;
}

static int by_size(const void *a, const void *b)
{
	const struct seg_mask *x = *(struct seg_mask *const *)a, *y = *(struct seg_mask *const *)b;
	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return by_score(a, b);
}

int seg_merge(struct seg_mask *m, int n, size_t N, double min_score, int *lab)
{
	struct seg_mask **kept = malloc(((size_t)n + 1) * sizeof *kept);
	int nk = 0, parts = 0, *renum;

	if (!kept)
		return -1;
	for (int i = 0; i < n; i++) {
		m[i].part = -1;
		if ((double)m[i].score >= min_score && m[i].count > 0)
			kept[nk++] = &m[i];
	}
	qsort(kept, (size_t)nk, sizeof *kept, by_score);
	/* duplicates: IoU > 0.9 with a better mask already kept */
	{
		int w = 0;
		for (int i = 0; i < nk; i++) {
			int dup = 0;
			for (int k = 0; k < w && !dup; k++) {
				size_t inter = 0, uni = 0;
				for (size_t p = 0; p < N; p++) {
					inter += kept[i]->mask[p] & kept[k]->mask[p];
					uni += kept[i]->mask[p] | kept[k]->mask[p];
				}
				dup = (double)inter / (double)uni > 0.9;
			}
			if (!dup)
				kept[w++] = kept[i];
		}
		nk = w;
	}
	qsort(kept, (size_t)nk, sizeof *kept, by_size);
	for (size_t p = 0; p < N; p++)
		lab[p] = -1;
	for (int k = 0; k < nk; k++)
		for (size_t p = 0; p < N; p++)
			if (kept[k]->mask[p])
				lab[p] = k;
	if (!(renum = calloc((size_t)nk + 1, sizeof *renum))) {
		free(kept);
		return -1;
	}
	for (size_t p = 0; p < N; p++)
		if (lab[p] >= 0)
			renum[lab[p]] = 1;
	for (int k = 0; k < nk; k++) {
		renum[k] = renum[k] ? parts++ : -1;
		kept[k]->part = renum[k];
	}
	for (size_t p = 0; p < N; p++)
		if (lab[p] >= 0)
			lab[p] = renum[lab[p]];
	free(renum);
	free(kept);
	return parts;
}

/* The grid cell (0..G-1) of coordinate v along an axis starting at lo. */
static long cell_of(float v, float lo, float cs, size_t G)
{
	long c = (long)floorf((v - lo) / cs);
	return c < 0 ? 0 : c >= (long)G ? (long)G - 1 : c;
}

/* The flat index of point p's cell in a G x G x G grid. */
static size_t cell_index(const float *p, const float *lo, float cs, size_t G)
{
	return ((size_t)cell_of(p[0], lo[0], cs, G) * G + (size_t)cell_of(p[1], lo[1], cs, G)) * G +
	       (size_t)cell_of(p[2], lo[2], cs, G);
}

/*
 * Exact nearest neighbours through a uniform grid over the points' bounding
 * cube: the cells around the query's are searched in growing shells until
 * no unsearched cell can hold a point nearer than the best found (with a
 * margin for rounding), ties going to the lowest index as in the brute
 * force of the reference.
 */
int seg_nearest(const float *q, size_t n, const float *pts, size_t N, const int *lab, int *labels)
{
	float lo[3] = {INFINITY, INFINITY, INFINITY}, hi[3] = {-INFINITY, -INFINITY, -INFINITY}, cs = 0;
	size_t G, cells, *start, *item;
	if (N == 0) {
		for (size_t i = 0; i < n; i++)
			labels[i] = -1;
		return 0;
	}
	for (size_t j = 0; j < N; j++)
		for (int a = 0; a < 3; a++) {
			if (pts[j * 3 + a] < lo[a])
				lo[a] = pts[j * 3 + a];
			if (pts[j * 3 + a] > hi[a])
				hi[a] = pts[j * 3 + a];
		}
	for (int a = 0; a < 3; a++)
		if (hi[a] - lo[a] > cs)
			cs = hi[a] - lo[a];
	G = (size_t)cbrt((double)N / 4.0);
	G = G < 1 ? 1 : G > 128 ? 128 : G;
	cs = cs > 0 ? cs / (float)G : 1.0f;
	cells = G * G * G;
	start = calloc(cells + 1, sizeof *start);
	item = malloc(N * sizeof *item);
	if (!start || !item) {
		free(start);
		free(item);
		return -1;
	}
	for (size_t j = 0; j < N; j++) {
		const float *p = pts + j * 3;
		start[cell_index(p, lo, cs, G) + 1]++;
	}
	for (size_t c = 0; c < cells; c++)
		start[c + 1] += start[c];
	{
		size_t *fill = malloc(cells * sizeof *fill);
		if (!fill) {
			free(start);
			free(item);
			return -1;
		}
		memcpy(fill, start, cells * sizeof *fill);
		for (size_t j = 0; j < N; j++) { /* in index order: each cell's list is sorted */
			const float *p = pts + j * 3;
			item[fill[cell_index(p, lo, cs, G)]++] = j;
		}
		free(fill);
	}
	for (size_t i = 0; i < n; i++) {
		const float *x = q + i * 3;
		long c0 = cell_of(x[0], lo[0], cs, G), c1 = cell_of(x[1], lo[1], cs, G), c2 = cell_of(x[2], lo[2], cs, G);
		size_t best = 0;
		float bd = INFINITY;
		for (long r = 0; r <= (long)G; r++) {
			for (long a = c0 - r; a <= c0 + r; a++)
				for (long b = c1 - r; b <= c1 + r; b++)
					for (long d = c2 - r; d <= c2 + r; d++) {
						size_t c;
						if (a < 0 || b < 0 || d < 0 || a >= (long)G || b >= (long)G || d >= (long)G)
							continue;
						if (labs(a - c0) != r && labs(b - c1) != r && labs(d - c2) != r)
							continue; /* inside: searched in an earlier shell */
						c = ((size_t)a * G + (size_t)b) * G + (size_t)d;
						for (size_t k = start[c]; k < start[c + 1]; k++) {
							size_t j = item[k];
							float dd = sqdist(x, pts + j * 3);
							if (dd < bd || (dd == bd && j < best)) {
								bd = dd;
								best = j;
							}
						}
					}
			/* every unsearched point is at least r cells' width away */
			if ((double)bd < (double)r * cs * r * cs * (1.0 - 1e-5))
				break;
		}
		labels[i] = lab[best];
	}
	free(start);
	free(item);
	return 0;
}
