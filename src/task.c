/* task.c — the table of tasks and what they share.  See task.h. */
#include "task.h"
#include "msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void task_file_name(char *out, size_t len, const char *dir, size_t index, const char *path,
                    const char *suffix)
{
	const char *base = strrchr(path, '/');
	char stem[256], *dot;
	snprintf(stem, sizeof stem, "%s", base ? base + 1 : path);
	if ((dot = strrchr(stem, '.')) && dot != stem)
		*dot = '\0';
	if (!strcmp(stem, "-"))
		snprintf(stem, sizeof stem, "stdin");
	for (char *c = stem; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = '_';
	snprintf(out, len, "%s/%06zu_%s%s", dir, index, stem, suffix);
}

const struct task_ops *task_ops_for(enum task t)
{
	switch (t) {
	case TASK_CLASSIFY: return &classify_ops;
	case TASK_DETECT: return &detect_ops;
	case TASK_EMBED: return &embed_ops;
	case TASK_RAW: return &raw_ops;
	default: return NULL;
	}
}

float *task_float_rows(const struct task_ctx *c, const tch_value *out, int n, int ndim,
                       int64_t *shape, char *err, size_t errlen)
{
	const struct tch_api *T = c->T;
	int64_t sh[8];
	size_t count = 1;
	float *buf;
	int nd;

	if (T->tch_value_kind(out) != TCH_TENSOR) {
		msg_fmt(err, errlen, "model output is not a tensor (task %s)", task_name(c->spec->task));
		return NULL;
	}
	nd = T->tch_tensor_shape(out, sh, 8);
	if (nd < 1 || nd > 8 || (ndim && nd != ndim) || sh[0] != n) {
		msg_fmt(err, errlen, "model output has %d dimensions%s, task %s wants [batch, N]", nd,
		        nd >= 1 && sh[0] != n ? " and the wrong batch size" : "", task_name(c->spec->task));
		return NULL;
	}
	for (int i = 0; i < nd; i++) {
		shape[i] = sh[i];
		count *= (size_t)sh[i];
	}
	if (!(buf = malloc((count ? count : 1) * sizeof *buf))) {
		msg_fmt(err, errlen, "out of memory");
		return NULL;
	}
	if (T->tch_tensor_copy(out, TCH_F32, buf, count * sizeof *buf) < 0) {
		msg_fmt(err, errlen, "reading the output: %s", T->tch_last_error());
		free(buf);
		return NULL;
	}
	return buf;
}
