/*
 * classify.c — output [B, C] logits (softmax applied here) or
 * probabilities; each record gets "top": the top-k classes, score
 * descending, ties by index.
 */
#include "task.h"
#include "msg.h"

#include <math.h>
#include <stdlib.h>

struct scored {
	int index;
	float score;
};

static int by_score(const void *a, const void *b)
{
	const struct scored *x = a, *y = b;
	if (x->score != y->score)
		return x->score < y->score ? 1 : -1;
	return x->index - y->index;
}

/* Softmax of row[0..c) in place, in double for the sum. */
static void softmax(float *row, int64_t c)
{
	float mx = -INFINITY;
	double sum = 0.0;
	for (int64_t j = 0; j < c; j++)
		if (row[j] > mx)
			mx = row[j];
	for (int64_t j = 0; j < c; j++)
		sum += exp((double)row[j] - mx);
	for (int64_t j = 0; j < c; j++)
		row[j] = (float)(exp((double)row[j] - mx) / sum);
}

static int classify_post(const struct task_ctx *c, const tch_value *out, struct task_item *items,
                         int n, char *err, size_t errlen)
{
	int64_t shape[2];
	float *probs = task_float_rows(c, out, n, 2, shape, err, errlen);
	struct scored *s;
	int64_t nc;
	if (!probs)
		return -1;
	nc = shape[1];
	if (nc < 1 || !(s = malloc((size_t)nc * sizeof *s))) {
		msg_fmt(err, errlen, nc < 1 ? "model output has no classes" : "out of memory");
		free(probs);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		float *row = probs + (size_t)i * (size_t)nc;
		int64_t k = c->top_k < nc ? c->top_k : nc;
		json_t *top = json_array();
		if (!c->spec->output_probs)
			softmax(row, nc);
		for (int64_t j = 0; j < nc; j++)
			s[j] = (struct scored){(int)j, row[j]};
		qsort(s, (size_t)nc, sizeof *s, by_score);
		for (int64_t j = 0; j < k; j++) {
			int idx = s[j].index;
			json_array_append_new(top, json_pack("{s:i, s:o, s:f}", "index", idx, "label",
			                                     idx < c->spec->n_labels ? json_string(c->spec->labels[idx])
			                                                             : json_null(),
			                                     "score", (double)s[j].score));
		}
		json_object_set_new(items[i].rec, "top", top);
	}
	free(s);
	free(probs);
	return 0;
}

const struct task_ops classify_ops = {TASK_CLASSIFY, classify_post};
