/*
 * raw.c — any output (tensor, tuple, list, dict, nested) as "outputs":
 * one {"name", "shape", "dtype", "data"} per tensor leaf, sliced along the
 * batch axis, "data" flat in C order; with --save-dir the data goes to an
 * .npy file instead and "file" names it.  Leaf names are the path through
 * the output: "output" for a lone tensor, "0", "1" for a tuple's items,
 * dict keys, joined by dots when nested ("0.logits").  Numbers that are not
 * finite (NaN, infinities) are written as null, every position kept.
 */
#include "tasks/task.h"
#include "sys/msg.h"
#include "formats/npy.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* npy element type that holds a tensor dtype exactly (bf16 widens to f32). */
static enum npy_dtype npy_of(int t, int *tch_out)
{
	switch (t) {
	case TCH_BOOL: *tch_out = TCH_BOOL; return NPY_BOOL;
	case TCH_U8: *tch_out = TCH_U8; return NPY_U8;
	case TCH_I8: *tch_out = TCH_I8; return NPY_I8;
	case TCH_I16: *tch_out = TCH_I16; return NPY_I16;
	case TCH_I32: *tch_out = TCH_I32; return NPY_I32;
	case TCH_I64: *tch_out = TCH_I64; return NPY_I64;
	case TCH_F16: *tch_out = TCH_F16; return NPY_F16;
	case TCH_F64: *tch_out = TCH_F64; return NPY_F64;
	default: *tch_out = TCH_F32; return NPY_F32;
	}
}

/* JSON has no NaN or infinity: null keeps the position. */
static json_t *finite_or_null(double x) { return isfinite(x) ? json_real(x) : json_null(); }

/* Item k of a host copy as a JSON number. */
static json_t *number_at(const void *data, enum npy_dtype t, size_t k)
{
	switch (t) {
	case NPY_BOOL: return json_boolean(((const unsigned char *)data)[k]);
	case NPY_U8: return json_integer(((const uint8_t *)data)[k]);
	case NPY_I8: return json_integer(((const int8_t *)data)[k]);
	case NPY_I16: return json_integer(((const int16_t *)data)[k]);
	case NPY_I32: return json_integer(((const int32_t *)data)[k]);
	case NPY_I64: return json_integer(((const int64_t *)data)[k]);
	case NPY_F64: return finite_or_null(((const double *)data)[k]);
	default: return finite_or_null(((const float *)data)[k]);
	}
}

struct raw {
	const char *save_dir;       /* --save-dir: tensors as .npy files there */
};

struct leaf_ctx {
	struct task *t;
	struct task_item *items;
	int n;
	char *err;
	size_t errlen;
};

/* Writes one item's slice to save_dir; sets "file" in o. */
static int save_slice(struct leaf_ctx *lc, int i, const char *name, enum npy_dtype t, int ndim,
                      const int64_t *shape, const void *data, json_t *o)
{
	char file[4096], suffix[600];
	FILE *f;
	snprintf(suffix, sizeof suffix, ".%s.npy", name);
	task_file_name(file, sizeof file, ((struct raw *)lc->t->state)->save_dir, lc->items[i].index, lc->items[i].name, suffix);
	if (!(f = fopen(file, "we")) || (npy_write(f, t, ndim, shape, data) < 0) + (fclose(f) != 0)) {
		msg_fmt(lc->err, lc->errlen, "writing '%s': %s", file, strerror(errno));
		return -1;
	}
	json_object_set_new(o, "file", json_string(file));
	return 0;
}

/* Adds tensor leaf v, named name, to every item's "outputs". */
static int add_tensor(struct leaf_ctx *lc, const tch_value *v, const char *name)
{
	const struct tch_api *T = lc->t->T;
	int64_t shape[NPY_MAXDIM];
	int nd = T->tch_tensor_shape(v, shape, NPY_MAXDIM), copy_t;
	enum npy_dtype t = npy_of(T->tch_tensor_dtype(v), &copy_t);
	size_t total = 1, per, isz = npy_itemsize(t);
	int batched;
	unsigned char *data;

	if (nd < 0 || nd > NPY_MAXDIM) {
		msg_fmt(lc->err, lc->errlen, "output '%s': unreadable tensor", name);
		return -1;
	}
	for (int d = 0; d < nd; d++)
		total *= (size_t)shape[d];
	batched = nd >= 1 && shape[0] == lc->n;
	if (!batched && lc->n > 1) {
		msg_fmt(lc->err, lc->errlen, "output '%s' has no batch axis of size %d: run with -b 1",
		        name, lc->n);
		return -1;
	}
	if (!(data = malloc(total * isz + 1)) || T->tch_tensor_copy(v, copy_t, data, total * isz) < 0) {
		msg_fmt(lc->err, lc->errlen, "output '%s': %s", name, data ? T->tch_last_error() : "out of memory");
		free(data);
		return -1;
	}
	per = batched ? total / (size_t)lc->n : total;
	for (int i = 0; i < lc->n; i++) {
		json_t *o = json_object(), *sh = json_array();
		const unsigned char *slice = data + (batched ? (size_t)i * per * isz : 0);
		for (int d = batched; d < nd; d++)
			json_array_append_new(sh, json_integer(shape[d]));
		json_object_set_new(o, "name", json_string(name));
		json_object_set_new(o, "shape", sh);
		json_object_set_new(o, "dtype", json_string(npy_name(t)));
		if (((struct raw *)lc->t->state)->save_dir) {
			if (save_slice(lc, i, name, t, nd - batched, shape + batched, slice, o) < 0) {
				json_decref(o);
				free(data);
				return -1;
			}
		} else {
			json_t *arr = json_array();
			for (size_t k = 0; k < per; k++)
				json_array_append_new(arr, number_at(slice, t, k));
			json_object_set_new(o, "data", arr);
		}
		json_array_append_new(json_object_get(lc->items[i].rec, "outputs"), o);
	}
	free(data);
	return 0;
}

/* Walks the output tree depth first, naming leaves by their path. */
static int walk(struct leaf_ctx *lc, const tch_value *v, const char *path)
{
	const struct tch_api *T = lc->t->T;
	int kind = T->tch_value_kind(v);
	char name[512], key[256];

	switch (kind) {
	case TCH_TENSOR:
		return add_tensor(lc, v, path[0] ? path : "output");
	case TCH_TUPLE:
	case TCH_LIST:
	case TCH_DICT: {
		int len = T->tch_value_len(v);
		for (int k = 0; k < len; k++) {
			tch_value *item = T->tch_value_item(v, k);
			int rc;
			if (kind == TCH_DICT && T->tch_value_key(v, k, key, sizeof key) == 0)
				;
			else
				snprintf(key, sizeof key, "%d", k);
			snprintf(name, sizeof name, "%s%s%s", path, path[0] ? "." : "", key);
			rc = item ? walk(lc, item, name) : -1;
			T->tch_value_free(item);
			if (rc < 0) {
				if (!lc->err[0])
					msg_fmt(lc->err, lc->errlen, "output '%s': %s", name, T->tch_last_error());
				return -1;
			}
		}
		return 0;
	}
	case TCH_NONE:
		return 0;
	case TCH_INT:
	case TCH_DOUBLE:
	case TCH_BOOLV: {
		double x = 0;
		T->tch_value_scalar(v, &x);
		for (int i = 0; i < lc->n; i++)
			json_array_append_new(json_object_get(lc->items[i].rec, "outputs"),
			                      json_pack("{s:s, s:o}", "name", path[0] ? path : "output", "value",
			                                finite_or_null(x)));
		return 0;
	}
	default:
		msg_fmt(lc->err, lc->errlen, "output '%s' is neither a tensor nor a container of tensors",
		        path[0] ? path : "output");
		return -1;
	}
}

static int raw_open(struct task *t, const struct opts *o, char *err, size_t errlen)
{
	struct raw *r = calloc(1, sizeof *r);
	if (!r) {
		msg_fmt(err, errlen, "out of memory");
		return EXIT_OOM;
	}
	r->save_dir = o->save_dir;
	t->state = r;
	return 0;
}

static void raw_close(struct task *t) { free(t->state); }

static int raw_post(struct task *t, const tch_value *out, struct task_item *items, int n, char *err,
                    size_t errlen)
{
	struct leaf_ctx lc = {t, items, n, err, errlen};
	err[0] = '\0';
	for (int i = 0; i < n; i++)
		json_object_set_new(items[i].rec, "outputs", json_array());
	return walk(&lc, out, "");
}

const struct task_def raw_task = {
	.name = "raw",
	.inputs = TASK_IN_IMAGE | TASK_IN_TENSOR,
	.options = (const char *const[]){"save-dir", NULL},
	.open = raw_open,
	.close = raw_close,
	.post = raw_post,
};
