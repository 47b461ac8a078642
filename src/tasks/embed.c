/*
 * embed.c — output [B, D]: each record gets "embedding" (L2-normalised when
 * the manifest says normalize) and "dim".
 */
#include "tasks/task.h"
#include "sys/msg.h"

#include <math.h>
#include <stdlib.h>

struct embed {
	int normalize;              /* "normalize": true */
};

static int embed_open(struct task *t, const struct opts *o, char *err, size_t errlen)
{
	json_t *v = json_object_get(t->spec->entry, "normalize");
	struct embed *e = calloc(1, sizeof *e);
	if (!e) {
		msg_fmt(err, errlen, "out of memory");
		return EXIT_OOM;
	}
	t->state = e;
	if (v && !json_is_boolean(v)) {
		msg_fmt(err, errlen, "model '%s': \"normalize\" must be true or false", t->spec->name);
		return EXIT_MODEL;
	}
	e->normalize = json_is_true(v);
	return 0;
}

static void embed_close(struct task *t) { free(t->state); }

static int embed_post(struct task *t, const tch_value *out, struct task_item *items, int n, char *err,
                      size_t errlen)
{
	const struct embed *e = t->state;
	int64_t shape[2];
	float *v = task_float_rows(t, out, n, 2, shape, err, errlen);
	if (!v)
		return -1;
	for (int i = 0; i < n; i++) {
		float *row = v + (size_t)i * (size_t)shape[1];
		json_t *arr;
		double norm = 0.0;
		if (task_fail_nonfinite(&items[i], row, (size_t)shape[1]))
			continue;
		if (e->normalize) {
			for (int64_t j = 0; j < shape[1]; j++)
				norm += (double)row[j] * row[j];
			norm = sqrt(norm);
		}
		arr = json_array();
		for (int64_t j = 0; j < shape[1]; j++)
			json_array_append_new(arr, json_real(norm > 0.0 ? row[j] / norm : (double)row[j]));
		json_object_set_new(items[i].rec, "embedding", arr);
		json_object_set_new(items[i].rec, "dim", json_integer(shape[1]));
	}
	free(v);
	return 0;
}

const struct task_def embed_task = {
	.name = "embed",
	.inputs = TASK_IN_IMAGE | TASK_IN_TENSOR,
	.keys = (const char *const[]){"normalize", NULL},
	.open = embed_open,
	.close = embed_close,
	.post = embed_post,
};
