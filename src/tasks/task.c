/* task.c — the table of tasks and what they share.  See task.h. */
#include "tasks/task.h"
#include "sys/msg.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The table: a new task is a file defining its task_def, and a row here. */
static const struct task_def *const table[] = {&classify_task, &detect_task, &segment_task, &embed_task,
                                               &raw_task};
#define NTASKS (sizeof table / sizeof table[0])

const struct task_def *task_find(const char *name)
{
	for (size_t i = 0; name && i < NTASKS; i++)
		if (!strcmp(name, table[i]->name))
			return table[i];
	return NULL;
}

const char *task_names(void)
{
	static char buf[128];
	if (!buf[0])
		for (size_t i = 0; i < NTASKS; i++)
			snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%s", i ? ", " : "", table[i]->name);
	return buf;
}

static int in_list(const char *const *list, const char *key)
{
	for (; list && *list; list++)
		if (!strcmp(*list, key))
			return 1;
	return 0;
}

/* Appends the words of a and b to buf as "a, b, c". */
static void join_keys(char *buf, size_t len, const char *const *a, const char *const *b)
{
	buf[0] = '\0';
	for (const char *const *l = a; l && *l; l++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? ", " : "", *l);
	for (const char *const *l = b; l && *l; l++)
		snprintf(buf + strlen(buf), len - strlen(buf), "%s%s", buf[0] ? ", " : "", *l);
}

/*
 * Checks the keys of obj (the entry, or its "defaults") against the common
 * ones and the task's; where is "" or "defaults.".  The one task that does
 * take a stray key is named, since that is the usual mistake.
 */
static int check_keys(json_t *obj, const char *where, const char *const *common, const char *const *own,
                      const struct task_def *d, const struct model_spec *spec, char *err, size_t errlen)
{
	const char *key;
	json_t *v;
	json_object_foreach(obj, key, v) {
		char valid[400];
		if (in_list(common, key) || in_list(own, key))
			continue;
		for (size_t i = 0; i < NTASKS; i++)
			if (in_list(*where ? table[i]->default_keys : table[i]->keys, key)) {
				msg_fmt(err, errlen, "model '%s': manifest key '%s%s' is for task %s, and this model's task is %s",
				        spec->name, where, key, table[i]->name, d->name);
				return -1;
			}
		join_keys(valid, sizeof valid, common, own);
		msg_fmt(err, errlen, "model '%s': unknown manifest key '%s%s' (valid: %s)", spec->name, where, key, valid);
		return -1;
	}
	return 0;
}

const struct task_def *task_resolve(const struct model_spec *spec, const char *override, char *err, size_t errlen)
{
	const char *name = override ? override : spec->task;
	const struct task_def *d = task_find(name);
	if (!d) {
		msg_fmt(err, errlen, "model '%s': unknown task '%s' (valid: %s)", spec->name, name ? name : "", task_names());
		return NULL;
	}
	/* Keys are checked against the entry's own task: --task raw on a
	 * detector's entry is a deliberate look at its raw output. */
	if (spec->entry) {
		const struct task_def *own = task_find(spec->task);
		if (!own) {
			msg_fmt(err, errlen, "model '%s': unknown task '%s' (valid: %s)", spec->name, spec->task,
			        task_names());
			return NULL;
		}
		if (check_keys(spec->entry, "", manifest_keys, own->keys, own, spec, err, errlen) < 0)
			return NULL;
		if (json_is_object(json_object_get(spec->entry, "defaults")) &&
		    check_keys(json_object_get(spec->entry, "defaults"), "defaults.", manifest_default_keys,
		               own->default_keys, own, spec, err, errlen) < 0)
			return NULL;
	}
	return d;
}

int task_open(struct task *t, const struct model_spec *spec, const struct opts *o, char *err, size_t errlen)
{
	memset(t, 0, sizeof *t);
	t->spec = spec;
	if (!(t->def = task_resolve(spec, o->task, err, errlen)))
		return EXIT_MODEL;
	if (!t->def->open)
		return 0;
	return t->def->open(t, o, err, errlen);
}

void task_close(struct task *t)
{
	if (t->def && t->def->close)
		t->def->close(t);
	t->state = NULL;
}

unsigned task_inputs(const struct task *t)
{
	unsigned in = t->def->inputs;
	return t->spec->has_input ? in : in & ~(unsigned)TASK_IN_IMAGE;
}

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

float *task_float_rows(const struct task *t, const tch_value *out, int n, int ndim, int64_t *shape,
                       char *err, size_t errlen)
{
	const struct tch_api *T = t->T;
	int64_t sh[8];
	size_t count = 1;
	float *buf;
	int nd;

	if (T->tch_value_kind(out) != TCH_TENSOR) {
		msg_fmt(err, errlen, "model output is not a tensor (task %s)", t->def->name);
		return NULL;
	}
	nd = T->tch_tensor_shape(out, sh, 8);
	if (nd < 1 || nd > 8 || (ndim && nd != ndim) || sh[0] != n) {
		msg_fmt(err, errlen, "model output has %d dimensions%s, task %s wants [batch, N]", nd,
		        nd >= 1 && sh[0] != n ? " and the wrong batch size" : "", t->def->name);
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

int task_fail_nonfinite(struct task_item *it, const float *v, size_t count)
{
	for (size_t k = 0; k < count; k++)
		if (!isfinite(v[k])) {
			msg_fmt(it->err, ERRLEN, "model output holds %s at position %zu: no result",
			        isnan(v[k]) ? "NaN" : "an infinity", k);
			it->failed = 1;
			return 1;
		}
	return 0;
}

int task_knob(const struct task *t, const char *key, int given, double value, double builtin, double lo,
              double hi, int integer, double *out, char *err, size_t errlen)
{
	json_t *v = json_object_get(json_object_get(t->spec->entry, "defaults"), key);
	*out = given ? value : builtin;
	if (!v)
		return 0;
	if (!json_is_number(v) || (integer && !json_is_integer(v)) || json_number_value(v) < lo ||
	    json_number_value(v) > hi) {
		if (integer)
			msg_fmt(err, errlen, "model '%s': defaults.%s must be a whole number from %.0f to %.0f",
			        t->spec->name, key, lo, hi);
		else
			msg_fmt(err, errlen, "model '%s': defaults.%s must be a number from %g to %g", t->spec->name,
			        key, lo, hi);
		return -1;
	}
	if (!given)
		*out = json_number_value(v);
	return 0;
}

json_t *task_label(const struct task *t, int index)
{
	return index >= 0 && index < t->spec->n_labels ? json_string(t->spec->labels[index]) : json_null();
}
