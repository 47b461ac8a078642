/*
 * embed.c — output [B, D]: each record gets "embedding" (L2-normalised when
 * the manifest says normalize) and "dim".
 */
#include "task.h"

#include <math.h>
#include <stdlib.h>

static int embed_post(const struct task_ctx *c, const tch_value *out, struct task_item *items, int n,
                      char *err, size_t errlen)
{
	int64_t shape[2];
	float *v = task_float_rows(c, out, n, 2, shape, err, errlen);
	if (!v)
		return -1;
	for (int i = 0; i < n; i++) {
		float *row = v + (size_t)i * (size_t)shape[1];
		json_t *arr = json_array();
		double norm = 0.0;
		if (c->spec->normalize) {
			for (int64_t j = 0; j < shape[1]; j++)
				norm += (double)row[j] * row[j];
			norm = sqrt(norm);
		}
		for (int64_t j = 0; j < shape[1]; j++)
			json_array_append_new(arr, json_real(norm > 0.0 ? row[j] / norm : (double)row[j]));
		json_object_set_new(items[i].rec, "embedding", arr);
		json_object_set_new(items[i].rec, "dim", json_integer(shape[1]));
	}
	free(v);
	return 0;
}

const struct task_ops embed_ops = {TASK_EMBED, embed_post};
