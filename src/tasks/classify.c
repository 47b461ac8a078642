/*
 * classify.c — output [B, C] logits (softmax applied here) or
 * probabilities; each record gets "top": the top-k classes, score
 * descending, ties by index.
 */
#include "tasks/task.h"
#include "sys/msg.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

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

struct classify {
	long top_k;                 /* --top-k */
	int probs;                  /* the output holds probabilities already ("output": "probs") */
};

static int classify_open(struct task *t, const struct opts *o, char *err, size_t errlen)
{
	json_t *v = json_object_get(t->spec->entry, "output");
	struct classify *c = calloc(1, sizeof *c);
	if (!c) {
		msg_fmt(err, errlen, "out of memory");
		return EXIT_OOM;
	}
	t->state = c;
	if (v && !(json_is_string(v) && (!strcmp(json_string_value(v), "logits") ||
	                                 !strcmp(json_string_value(v), "probs")))) {
		msg_fmt(err, errlen, "model '%s': \"output\" must be \"logits\" or \"probs\"", t->spec->name);
		return EXIT_MODEL;
	}
	c->probs = v && !strcmp(json_string_value(v), "probs");
	c->top_k = o->top_k;
	return 0;
}

static void classify_close(struct task *t) { free(t->state); }

static int classify_post(struct task *t, const tch_value *out, struct task_item *items, int n, char *err,
                         size_t errlen)
{
	const struct classify *c = t->state;
	int64_t shape[2];
	float *probs = task_float_rows(t, out, n, 2, shape, err, errlen);
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
		json_t *top;
		if (task_fail_nonfinite(&items[i], row, (size_t)nc))
			continue;
		if (!c->probs)
			softmax(row, nc);
		for (int64_t j = 0; j < nc; j++)
			s[j] = (struct scored){(int)j, row[j]};
		qsort(s, (size_t)nc, sizeof *s, by_score);
		top = json_array();
		for (int64_t j = 0; j < k; j++)
			json_array_append_new(top, json_pack("{s:i, s:o, s:f}", "index", s[j].index, "label",
			                                     task_label(t, s[j].index), "score", (double)s[j].score));
		json_object_set_new(items[i].rec, "top", top);
	}
	free(s);
	free(probs);
	return 0;
}

const struct task_def classify_task = {
	.name = "classify",
	.inputs = TASK_IN_IMAGE | TASK_IN_TENSOR,
	.options = (const char *const[]){"top-k", NULL},
	.keys = (const char *const[]){"output", NULL},
	.open = classify_open,
	.close = classify_close,
	.post = classify_post,
};
