/* detect_decode.c — see detect_decode.h. */
#include "tasks/detect_decode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NMS 30000

int det_push(struct det_list *l, struct det d)
{
	if (l->n == l->cap) {
		int cap = l->cap ? l->cap * 2 : 64;
		struct det *g = realloc(l->d, (size_t)cap * sizeof *g);
		if (!g)
			return -1;
		l->d = g;
		l->cap = cap;
	}
	l->d[l->n++] = d;
	return 0;
}

void det_list_free(struct det_list *l)
{
	free(l->d);
	memset(l, 0, sizeof *l);
}

static float sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

int detect_yolov8(const float *out, int C, int A, float conf, struct det_list *l)
{
	for (int a = 0; a < A; a++) {
		int best = 0;
		float s = out[(size_t)4 * A + a];
		for (int c = 1; c < C; c++) {
			float v = out[(size_t)(4 + c) * A + a];
			if (v > s) {
				s = v;
				best = c;
			}
		}
		if (s > conf) {
			float cx = out[a], cy = out[(size_t)A + a];
			float w = out[(size_t)2 * A + a], h = out[(size_t)3 * A + a];
			if (det_push(l, (struct det){cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, s, best}) < 0)
				return -1;
		}
	}
	return 0;
}

int detect_yolov2(const float *out, int na, const float (*anchors)[2], int C, int gh, int gw,
                  int in_w, int in_h, float conf, struct det_list *l)
{
	size_t plane = (size_t)gh * (size_t)gw;
	int per = 5 + C;
	float cw = (float)in_w / (float)gw, ch = (float)in_h / (float)gh;

	for (int a = 0; a < na; a++) {
		const float *p = out + (size_t)a * (size_t)per * plane; /* [per, gh, gw] */
		for (int y = 0; y < gh; y++)
			for (int x = 0; x < gw; x++) {
				size_t k = (size_t)y * (size_t)gw + (size_t)x;
				float obj = sigmoid(p[4 * plane + k]), score = obj;
				int best = 0;
				if (C > 0) {
					float cs = p[5 * plane + k];
					for (int c = 1; c < C; c++)
						if (p[(size_t)(5 + c) * plane + k] > cs) {
							cs = p[(size_t)(5 + c) * plane + k];
							best = c;
						}
					score = obj * sigmoid(cs);
				}
				if (score > conf) {
					float cx = ((float)x + sigmoid(p[k])) * cw;
					float cy = ((float)y + sigmoid(p[plane + k])) * ch;
					float w = anchors[a][0] * expf(p[2 * plane + k]) * cw;
					float h = anchors[a][1] * expf(p[3 * plane + k]) * ch;
					if (det_push(l, (struct det){cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2, score,
					                             best}) < 0)
						return -1;
				}
			}
	}
	return 0;
}

int detect_boxes(const float *out, int N, float conf, struct det_list *l)
{
	for (int i = 0; i < N; i++) {
		const float *r = out + (size_t)i * 6;
		if (r[4] > conf && isfinite(r[5]) && r[5] >= 0 && r[5] < 1e6f &&
		    det_push(l, (struct det){r[0], r[1], r[2], r[3], r[4], (int)r[5]}) < 0)
			return -1;
	}
	return 0;
}

struct ranked {
	struct det d;
	int pos;
};

static int by_score(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	if (x->d.score != y->d.score)
		return x->d.score < y->d.score ? 1 : -1;
	return x->pos - y->pos;
}

static float iou_of(const struct det *a, const struct det *b)
{
	float iw = fminf(a->x2, b->x2) - fmaxf(a->x1, b->x1);
	float ih = fminf(a->y2, b->y2) - fmaxf(a->y1, b->y1);
	float inter, uni;
	if (iw <= 0 || ih <= 0)
		return 0.0f;
	inter = iw * ih;
	uni = (a->x2 - a->x1) * (a->y2 - a->y1) + (b->x2 - b->x1) * (b->y2 - b->y1) - inter;
	return uni > 0 ? inter / uni : 0.0f;
}

int detect_nms(struct det_list *l, float iou, int max_det)
{
	struct ranked *r;
	int n = l->n, kept = 0;

	if (n == 0)
		return 0;
	if (!(r = malloc((size_t)n * sizeof *r)))
		return -1;
	for (int i = 0; i < n; i++)
		r[i] = (struct ranked){l->d[i], i};
	qsort(r, (size_t)n, sizeof *r, by_score);
	if (n > MAX_NMS)
		n = MAX_NMS;
	for (int i = 0; i < n && kept < max_det; i++) {
		int drop = 0;
		for (int k = 0; k < kept && !drop; k++)
			drop = l->d[k].cls == r[i].d.cls && iou_of(&l->d[k], &r[i].d) > iou;
		if (!drop)
			l->d[kept++] = r[i].d;
	}
	free(r);
	l->n = kept;
	return kept;
}

static float clampf(float v, float lo, float hi) { return v < lo ? lo : v > hi ? hi : v; }

void detect_unmap(struct det_list *l, const struct geometry *g)
{
	for (int i = 0; i < l->n; i++) {
		struct det *d = &l->d[i];
		d->x1 = clampf((float)((d->x1 - g->left) / g->gain_x), 0.0f, (float)g->src_w);
		d->x2 = clampf((float)((d->x2 - g->left) / g->gain_x), 0.0f, (float)g->src_w);
		d->y1 = clampf((float)((d->y1 - g->top) / g->gain_y), 0.0f, (float)g->src_h);
		d->y2 = clampf((float)((d->y2 - g->top) / g->gain_y), 0.0f, (float)g->src_h);
	}
}
