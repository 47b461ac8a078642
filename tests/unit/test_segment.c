/*
 * Unit tests for segment.c: the RNG, sampling and farthest-point sampling
 * against values from samples/segment_reference.py, the merge of masks into
 * parts, and the grid nearest-neighbour search against brute force.
 */
#include "check.h"
#include "tasks/segment_parts.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void mask_of(struct seg_mask *m, size_t N, const char *bits, float score, int prompt)
{
	m->mask = malloc(N);
	m->count = 0;
	for (size_t i = 0; i < N; i++)
		m->count += (m->mask[i] = bits[i] == '1');
	m->score = score;
	m->prompt = prompt;
}

int main(void)
{
	struct splitmix r = {0};
	uint64_t a = splitmix_next(&r), b = splitmix_next(&r);
	CHECK(a == 0xe220a8397b1dcdafULL && b == 0x6e789e6aa1b965f4ULL, "splitmix64 seed 0 (reference values)",
	      "%llx %llx", (unsigned long long)a, (unsigned long long)b);

	{
		size_t idx[4];
		struct splitmix s = {42};
		seg_sample(10, 4, &s, idx);
		CHECK(idx[0] == 3 && idx[1] == 2 && idx[2] == 4 && idx[3] == 5, "sample 4 of 10, seed 42 (reference)",
		      "%zu %zu %zu %zu", idx[0], idx[1], idx[2], idx[3]);
		struct splitmix t = {42};
		size_t all[5];
		seg_sample(5, 5, &t, all);
		CHECK(all[0] == 0 && all[4] == 4 && t.state == 42, "sample all: file order, no draw", "state %llu",
		      (unsigned long long)t.state);
	}
	{
		const float pts[6][3] = {{0, 0, 0}, {1, 0, 0}, {0, 2, 0}, {5, 5, 5}, {0.5f, 0.5f, 0.5f}, {-1, -1, -1}};
		size_t sel[4], again[4];
		struct splitmix s = {7}, s2 = {7};
		seg_fps(&pts[0][0], 6, 4, &s, sel);
		CHECK(sel[0] == 3 && sel[1] == 5 && sel[2] == 2 && sel[3] == 1, "fps seed 7 (reference)",
		      "%zu %zu %zu %zu", sel[0], sel[1], sel[2], sel[3]);
		seg_fps(&pts[0][0], 6, 4, &s2, again);
		CHECK(!memcmp(sel, again, sizeof sel), "fps deterministic under a seed", "differs");
	}
	{
		const float xyz[3][3] = {{2, 10, -4}, {4, 10, 0}, {3, 10, -2}};
		float out[3][3];
		seg_normalise(&xyz[0][0], 3, &out[0][0]);
		CHECK(out[0][0] == -0.5f && out[1][0] == 0.5f && out[0][2] == -1.0f && out[1][2] == 1.0f && out[2][1] == 0.0f,
		      "normalise: bbox centre, largest half-extent", "%g %g %g", out[0][0], out[0][2], out[2][1]);
		const float one[1][3] = {{5, 5, 5}};
		seg_normalise(&one[0][0], 1, &out[0][0]);
		CHECK(out[0][0] == 0.0f, "normalise a single point", "%g", out[0][0]);
	}

	/* merge: min-score, duplicates, painting smaller over larger, renumbering */
	{
		enum { N = 10 };
		struct seg_mask m[5];
		int lab[N];
		mask_of(&m[0], N, "1111111100", 0.90f, 0); /* big part */
		mask_of(&m[1], N, "0000001100", 0.95f, 1); /* small part painted over the big one */
		mask_of(&m[2], N, "1111111100", 0.80f, 2); /* duplicate of 0, lower score: dropped */
		mask_of(&m[3], N, "0000000011", 0.40f, 3); /* under min-score: dropped */
		mask_of(&m[4], N, "0000000000", 0.99f, 4); /* empty: dropped */
		int parts = seg_merge(m, 5, N, 0.5, lab);
		CHECK(parts == 2, "merge: two parts", "%d", parts);
		CHECK(lab[0] == 0 && lab[5] == 0 && lab[6] == 1 && lab[7] == 1 && lab[8] == -1 && lab[9] == -1,
		      "merge: labels painted largest first", "%d %d %d %d", lab[0], lab[6], lab[8], lab[9]);
		CHECK(m[0].part == 0 && m[1].part == 1 && m[2].part == -1 && m[3].part == -1 && m[4].part == -1,
		      "merge: each mask's part", "%d %d %d", m[0].part, m[1].part, m[2].part);
		for (int i = 0; i < 5; i++)
			free(m[i].mask);
	}
	{
		/* a mask entirely covered by a smaller one owns nothing: its number is reused */
		enum { N = 4 };
		struct seg_mask m[2];
		int lab[N];
		mask_of(&m[0], N, "1100", 0.6f, 0);
		mask_of(&m[1], N, "1110", 0.7f, 1); /* larger, painted first, then covered by m[0] */
		int parts = seg_merge(m, 2, N, 0.5, lab);
		CHECK(parts == 2 && lab[0] == 1 && lab[2] == 0 && lab[3] == -1, "merge: renumbered in painting order",
		      "%d: %d %d %d", parts, lab[0], lab[2], lab[3]);
		free(m[0].mask);
		free(m[1].mask);
	}

	/* nearest: the grid gives exactly the brute force answer, ties to the lowest index */
	{
		enum { N = 3000, Q = 2000 };
		float *pts = malloc(N * 3 * sizeof *pts), *q = malloc(Q * 3 * sizeof *q);
		int *lab = malloc(N * sizeof *lab), *got = malloc(Q * sizeof *got), bad = 0;
		srand(1);
		for (int i = 0; i < N * 3; i++)
			pts[i] = (float)rand() / RAND_MAX * 2 - 1;
		for (int i = 0; i < N; i += 7) /* duplicates */
			memcpy(pts + i * 3, pts + 3 * (N - 1 - i), 3 * sizeof *pts);
		for (int i = 0; i < N; i++)
			lab[i] = i;
		for (int i = 0; i < Q * 3; i++)
			q[i] = i < 300 ? pts[i] : (float)rand() / RAND_MAX * 2.2f - 1.1f;
		seg_nearest(q, Q, pts, N, lab, got);
		for (int i = 0; i < Q && !bad; i++) {
			int best = 0;
			float bd = INFINITY;
			for (int j = 0; j < N; j++) {
				float dx = q[i * 3] - pts[j * 3], dy = q[i * 3 + 1] - pts[j * 3 + 1], dz = q[i * 3 + 2] - pts[j * 3 + 2];
				float xy = dx * dx + dy * dy, d = xy + dz * dz;
				if (d < bd) {
					bd = d;
					best = j;
				}
			}
			bad = got[i] != best;
			if (bad)
				printf("# query %d: grid %d, brute force %d\n", i, got[i], best);
		}
		CHECK(!bad, "nearest: grid equals brute force (2000 queries, duplicates)", "mismatch");
		int one_lab = 9, out1;
		const float p1[3] = {0, 0, 0}, q1[3] = {5, 5, 5};
		seg_nearest(q1, 1, p1, 1, &one_lab, &out1);
		CHECK(out1 == 9, "nearest: a single point", "%d", out1);
		free(pts);
		free(q);
		free(lab);
		free(got);
	}
	return check_done();
}
