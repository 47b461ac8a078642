/*
 * segment.c — the segment task (SPEC §5, after P3-SAM): one point cloud
 * at a time through normalise, seeded sampling, farthest-point prompts
 * (segment_parts.c), the model's encode once and decode per prompt batch,
 * the merge of masks into parts and a label for every input point.  Unlike
 * the batched tasks it drives the model itself, because one input takes
 * many forward passes; out of memory halves the prompt batch.
 */
#include "sys/msg.h"
#include "formats/npy.h"
#include "tasks/segment_parts.h"
#include "tasks/task.h"

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seg_ctx {
	const struct tch_api *T;
	tch_module *mod;
	const char *device;
	int dtype;                  /* TCH_F32/F16/BF16: what float inputs are given as */
	int autocast;
	long points, prompts;       /* --points, --prompts */
	long *prompt_batch;         /* --prompt-batch; halved on out-of-memory, for the rest of the run */
	int *oom_retries;
	uint64_t seed;
	double min_score;
	const char *save_dir;       /* labels as .npy and a coloured .ply there */
};

enum seg_status {
	SEG_OK = 0,
	SEG_INPUT,                  /* this input failed (err): an error record */
	SEG_OOM,                    /* out of memory at prompt batch 1 (err): an error record */
	SEG_DTYPE,                  /* kernels missing for the precision (err): fall back, then again */
	SEG_MODEL                   /* the model does not follow the contract (err): fatal */
};

/* The task's settings for a run. */
struct segment {
	long points, prompts, prompt_batch; /* prompt_batch halves on out-of-memory for the rest of the run */
	uint64_t seed;
	double min_score;
	const char *save_dir;
};

/*
 * Makes the C heap hand every allocation of 128 KiB or more straight back to
 * the kernel when freed (glibc's M_MMAP_THRESHOLD, fixed instead of
 * adaptive).  The decoder's per-prompt-batch tensors are large and
 * short-lived; kept in the heap they leave fragments that make peak RSS
 * depend on the order of sizes seen.  With it, peak RSS follows points x
 * prompt batch (and is ~20% lower at 15000 x 4) for ~6% more time.  Called
 * before the model loads.
 */
static void memory_policy(void)
{
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
}

/* Everything one cloud needs, freed together. */
struct work {
	size_t n, N, K;
	float *norm;                /* (n, 3) normalised input points */
	size_t *idx;                /* (N) sampled positions */
	float *pts;                 /* (N, 3) sampled, normalised */
	size_t *sel;                /* (K) prompt positions among the sampled */
	float *prompts;             /* (K, 3) */
	struct seg_mask *masks;     /* (K) */
	int *lab;                   /* (N) part of each sampled point */
	int *labels;                /* (n) part of each input point */
};

static void work_free(struct work *w)
{
	free(w->norm);
	free(w->idx);
	free(w->pts);
	free(w->sel);
	free(w->prompts);
	for (size_t k = 0; w->masks && k < w->K; k++)
		free(w->masks[k].mask);
	free(w->masks);
	free(w->lab);
	free(w->labels);
}

/* Status for a failed libtorch call: out of memory, missing kernels, or the model's fault. */
static enum seg_status failure(const struct seg_ctx *c, const char *what, char *err, size_t errlen)
{
	const char *e = c->T->tch_last_error();
	msg_fmt(err, errlen, "%s: %s", what, e);
	if (c->T->tch_error_is_oom(e))
		return SEG_OOM;
	if (c->T->tch_error_is_dtype_missing(e))
		return SEG_DTYPE;
	return SEG_MODEL;
}

/*
 * Reads one decode's (masks [1, k, M, N], iou [1, k, M]) into w->masks[b..b+k):
 * per prompt the mask with the best predicted IoU, binarised at logit > 0.
 */
static enum seg_status take_masks(const struct seg_ctx *c, const tch_value *out, struct work *w, size_t b,
                                  size_t k, char *err, size_t errlen)
{
	const struct tch_api *T = c->T;
	tch_value *mv = NULL, *iv = NULL;
	int64_t ms[8], is[8];
	float *logits = NULL, *iou = NULL;
	enum seg_status st = SEG_MODEL;
	size_t M;

	if ((T->tch_value_kind(out) != TCH_TUPLE && T->tch_value_kind(out) != TCH_LIST) || T->tch_value_len(out) < 2 ||
	    !(mv = T->tch_value_item(out, 0)) || !(iv = T->tch_value_item(out, 1)) ||
	    T->tch_value_kind(mv) != TCH_TENSOR || T->tch_value_kind(iv) != TCH_TENSOR) {
		msg_fmt(err, errlen, "decode must return (masks [B, K, M, N], iou [B, K, M])");
		goto out;
	}
	if (T->tch_tensor_shape(mv, ms, 8) != 4 || T->tch_tensor_shape(iv, is, 8) != 3 || ms[0] != 1 ||
	    (size_t)ms[1] != k || (size_t)ms[3] != w->N || is[0] != 1 || is[1] != ms[1] || is[2] != ms[2] ||
	    ms[2] < 1) {
		msg_fmt(err, errlen, "decode returned masks and iou of the wrong shapes for %zu prompts over %zu points",
		        k, w->N);
		goto out;
	}
	M = (size_t)ms[2];
	logits = malloc(k * M * w->N * sizeof *logits);
	iou = malloc(k * M * sizeof *iou);
	if (!logits || !iou) {
		msg_fmt(err, errlen, "out of memory reading masks");
		st = SEG_OOM;
		goto out;
	}
	if (T->tch_tensor_copy(mv, TCH_F32, logits, k * M * w->N * sizeof *logits) < 0 ||
	    T->tch_tensor_copy(iv, TCH_F32, iou, k * M * sizeof *iou) < 0) {
		st = failure(c, "reading the masks", err, errlen);
		goto out;
	}
	for (size_t p = 0; p < k; p++) {
		struct seg_mask *sm = &w->masks[b + p];
		size_t best = 0;
		const float *row;
		for (size_t m = 1; m < M; m++)
			if (iou[p * M + m] > iou[p * M + best])
				best = m;
		row = logits + (p * M + best) * w->N;
		sm->score = iou[p * M + best];
		sm->prompt = (int)(b + p);
		sm->count = 0;
		for (size_t i = 0; i < w->N; i++)
			sm->count += (sm->mask[i] = row[i] > 0.0f);
	}
	st = SEG_OK;
out:
	free(logits);
	free(iou);
	T->tch_value_free(mv);
	T->tch_value_free(iv);
	return st;
}

/* encode once, decode per prompt batch; halves the prompt batch on out-of-memory. */
static enum seg_status run_model(const struct seg_ctx *c, struct work *w, char *err, size_t errlen)
{
	const struct tch_api *T = c->T;
	int64_t pshape[3] = {1, (int64_t)w->N, 3};
	int split = T->tch_module_has_method(c->mod, "encode") == 1 && T->tch_module_has_method(c->mod, "decode") == 1;
	tch_value *pts = T->tch_tensor_from(w->pts, TCH_F32, pshape, 3, c->autocast ? TCH_F32 : c->dtype, c->device, 0);
	tch_value *feats = NULL;
	enum seg_status st = SEG_OK;

	if (!pts)
		return failure(c, "points tensor", err, errlen);
	if (split && !(feats = T->tch_module_call(c->mod, "encode", &pts, 1, c->autocast))) {
		T->tch_value_free(pts);
		return failure(c, "encode", err, errlen);
	}
	for (size_t b = 0; b < w->K && st == SEG_OK;) {
		size_t k = (size_t)*c->prompt_batch < w->K - b ? (size_t)*c->prompt_batch : w->K - b;
		int64_t qshape[3] = {1, (int64_t)k, 3};
		tch_value *q = T->tch_tensor_from(w->prompts + b * 3, TCH_F32, qshape, 3, c->autocast ? TCH_F32 : c->dtype,
		                                  c->device, 0);
		tch_value *args[3] = {feats, pts, q}, *out = NULL;
		if (q)
			out = split ? T->tch_module_call(c->mod, "decode", args, 3, c->autocast)
			            : T->tch_module_call(c->mod, "forward", args + 1, 2, c->autocast);
		T->tch_value_free(q);
		if (!out) {
			st = failure(c, split ? "decode" : "forward", err, errlen);
			if (st == SEG_OOM && *c->prompt_batch > 1) {
				/* the same prompts again, half as many at a time */
				*c->prompt_batch = (long)(k / 2 > 0 ? k / 2 : 1);
				(*c->oom_retries)++;
				msg_warn("out of memory at prompt batch %zu: prompt batch now %ld", k, *c->prompt_batch);
				st = SEG_OK;
			}
			continue;
		}
		st = take_masks(c, out, w, b, k, err, errlen);
		T->tch_value_free(out);
		b += k;
	}
	T->tch_value_free(feats);
	T->tch_value_free(pts);
	return st;
}

/* A distinct colour per part (grey for none), for the PLY. */
static void part_colour(int part, unsigned char rgb[3])
{
	static const unsigned char pal[12][3] = {{230, 25, 75}, {60, 180, 75}, {255, 225, 25}, {0, 130, 200},
	                                         {245, 130, 48}, {145, 30, 180}, {70, 240, 240}, {240, 50, 230},
	                                         {210, 245, 60}, {250, 190, 212}, {0, 128, 128}, {170, 110, 40}};
	if (part < 0)
		rgb[0] = rgb[1] = rgb[2] = 128;
	else
		memcpy(rgb, pal[part % 12], 3);
}

/* Writes labels (.npy, int32) and the cloud coloured by part (.ply) into save_dir. */
static int save(const struct seg_ctx *c, const struct cloud *cl, const struct work *w, size_t index,
                const char *path, json_t *rec, char *err, size_t errlen)
{
	char file[4096];
	int64_t shape[1] = {(int64_t)w->n};
	int32_t *l32 = malloc(w->n * sizeof *l32 + 1);
	FILE *f;
	int bad;

	if (!l32) {
		msg_fmt(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < w->n; i++)
		l32[i] = w->labels[i];
	task_file_name(file, sizeof file, c->save_dir, index, path, ".labels.npy");
	bad = !(f = fopen(file, "we")) || (npy_write(f, NPY_I32, 1, shape, l32) < 0) + (fclose(f) != 0);
	free(l32);
	if (bad) {
		msg_fmt(err, errlen, "writing '%s': %s", file, strerror(errno));
		return -1;
	}
	json_object_set_new(rec, "labels_file", json_string(file));
	task_file_name(file, sizeof file, c->save_dir, index, path, ".parts.ply");
	if (!(f = fopen(file, "we"))) {
		msg_fmt(err, errlen, "writing '%s': %s", file, strerror(errno));
		return -1;
	}
	fprintf(f, "ply\nformat binary_little_endian 1.0\ncomment tinfer segment: parts coloured, label -1 grey\n"
	           "element vertex %zu\nproperty float x\nproperty float y\nproperty float z\n"
	           "property uchar red\nproperty uchar green\nproperty uchar blue\nproperty int label\nend_header\n",
	        w->n);
	for (size_t i = 0; i < w->n; i++) {
		unsigned char vtx[19];
		int32_t lab = w->labels[i];
		memcpy(vtx, cl->xyz + i * 3, 12); /* little-endian hosts: tinfer builds on x86-64 and arm64 */
		part_colour(lab, vtx + 12);
		memcpy(vtx + 15, &lab, 4);
		fwrite(vtx, 1, sizeof vtx, f);
	}
	if ((ferror(f) != 0) + (fclose(f) != 0)) {
		msg_fmt(err, errlen, "writing '%s': %s", file, strerror(errno));
		return -1;
	}
	json_object_set_new(rec, "ply_file", json_string(file));
	return 0;
}

/* "parts": id, input points, score, aabb of its input points (input coordinates). */
static json_t *parts_json(const struct cloud *cl, const struct work *w, int nparts)
{
	json_t *arr = json_array();
	for (int p = 0; p < nparts; p++) {
		float lo[3] = {0, 0, 0}, hi[3] = {0, 0, 0}, score = 0;
		size_t count = 0;
		for (size_t k = 0; k < w->K; k++)
			if (w->masks[k].part == p)
				score = w->masks[k].score;
		for (size_t i = 0; i < w->n; i++) {
			const float *x = cl->xyz + i * 3;
			if (w->labels[i] != p)
				continue;
			for (int a = 0; a < 3; a++) {
				if (!count || x[a] < lo[a])
					lo[a] = x[a];
				if (!count || x[a] > hi[a])
					hi[a] = x[a];
			}
			count++;
		}
		json_array_append_new(arr, json_pack("{s:i, s:I, s:f, s:o}", "id", p, "points", (json_int_t)count,
		                                     "score", (double)score, "aabb",
		                                     count ? json_pack("[f,f,f,f,f,f]", (double)lo[0], (double)lo[1],
		                                                       (double)lo[2], (double)hi[0], (double)hi[1],
		                                                       (double)hi[2])
		                                           : json_null()));
	}
	return arr;
}

/*
 * Segments cloud (input number index, named path) and adds "points",
 * "sampled", "prompts", "parts" and "labels" (or "labels_file" and
 * "ply_file" with save_dir) to rec.
 */
static enum seg_status segment_cloud(const struct seg_ctx *c, const struct cloud *cl, size_t index,
                                     const char *path, json_t *rec, char *err, size_t errlen)
{
	struct work w = {0};
	struct splitmix rng = {c->seed};
	enum seg_status st;
	int nparts, short_of_memory = 0;

	w.n = cl->n;
	w.N = (size_t)c->points < w.n ? (size_t)c->points : w.n;
	w.K = (size_t)c->prompts < w.N ? (size_t)c->prompts : w.N;
	w.norm = malloc(w.n * 3 * sizeof *w.norm);
	w.idx = malloc(w.N * sizeof *w.idx);
	w.pts = malloc(w.N * 3 * sizeof *w.pts);
	w.sel = malloc((w.K + 1) * sizeof *w.sel);
	w.prompts = malloc((w.K + 1) * 3 * sizeof *w.prompts);
	w.masks = calloc(w.K + 1, sizeof *w.masks);
	w.lab = malloc(w.N * sizeof *w.lab);
	w.labels = malloc(w.n * sizeof *w.labels);
	for (size_t k = 0; w.masks && k < w.K; k++)
		if (!(w.masks[k].mask = malloc(w.N)))
			short_of_memory = 1;
	if (short_of_memory || !w.norm || !w.idx || !w.pts || !w.sel || !w.prompts || !w.masks || !w.lab ||
	    !w.labels) {
		work_free(&w);
		msg_fmt(err, errlen, "out of memory for a cloud of %zu points", w.n);
		return SEG_OOM;
	}
	seg_normalise(cl->xyz, w.n, w.norm);
	if (seg_sample(w.n, w.N, &rng, w.idx) < 0) {
		work_free(&w);
		msg_fmt(err, errlen, "out of memory sampling");
		return SEG_OOM;
	}
	for (size_t i = 0; i < w.N; i++)
		memcpy(w.pts + i * 3, w.norm + w.idx[i] * 3, 3 * sizeof *w.pts);
	if (seg_fps(w.pts, w.N, w.K, &rng, w.sel) < 0) {
		work_free(&w);
		msg_fmt(err, errlen, "out of memory sampling");
		return SEG_OOM;
	}
	for (size_t k = 0; k < w.K; k++)
		memcpy(w.prompts + k * 3, w.pts + w.sel[k] * 3, 3 * sizeof *w.prompts);
	if ((st = run_model(c, &w, err, errlen)) != SEG_OK) {
		work_free(&w);
		return st;
	}
	if ((nparts = seg_merge(w.masks, (int)w.K, w.N, c->min_score, w.lab)) < 0 ||
	    seg_nearest(w.norm, w.n, w.pts, w.N, w.lab, w.labels) < 0) {
		work_free(&w);
		msg_fmt(err, errlen, "out of memory merging masks");
		return SEG_OOM;
	}
	json_object_set_new(rec, "points", json_integer((json_int_t)w.n));
	json_object_set_new(rec, "sampled", json_integer((json_int_t)w.N));
	json_object_set_new(rec, "prompts", json_integer((json_int_t)w.K));
	json_object_set_new(rec, "parts", parts_json(cl, &w, nparts));
	if (c->save_dir) {
		if (save(c, cl, &w, index, path, rec, err, errlen) < 0) {
			work_free(&w);
			return SEG_INPUT;
		}
	} else {
		json_t *arr = json_array();
		for (size_t i = 0; i < w.n; i++)
			json_array_append_new(arr, json_integer(w.labels[i]));
		json_object_set_new(rec, "labels", arr);
	}
	work_free(&w);
	return SEG_OK;
}

static int segment_open(struct task *t, const struct opts *o, char *err, size_t errlen)
{
	struct segment *s = calloc(1, sizeof *s);
	double v;
	if (!s) {
		msg_fmt(err, errlen, "out of memory");
		return EXIT_OOM;
	}
	t->state = s;
	if (task_knob(t, "points", o->points > 0, (double)o->points, 15000, 1, 100000000, 1, &v, err, errlen) < 0)
		return EXIT_MODEL;
	s->points = (long)v;
	if (task_knob(t, "prompts", o->prompts > 0, (double)o->prompts, 75, 1, 100000000, 1, &v, err, errlen) < 0)
		return EXIT_MODEL;
	s->prompts = (long)v;
	if (task_knob(t, "prompt_batch", o->prompt_batch > 0, (double)o->prompt_batch, 4, 1, 100000000, 1, &v, err,
	              errlen) < 0)
		return EXIT_MODEL;
	s->prompt_batch = (long)v;
	s->seed = o->seed;
	s->min_score = o->min_score;
	s->save_dir = o->save_dir;
	memory_policy();
	return 0;
}

static void segment_close(struct task *t) { free(t->state); }

/* One cloud, falling back in precision while kernels are missing. */
static enum task_status segment_run_one(struct task *t, struct model *m, struct task_item *it, char *err,
                                        size_t errlen)
{
	struct segment *s = t->state;
	enum seg_status st;
	for (;;) {
		struct seg_ctx c = {
			.T = m->T,
			.mod = m->mod,
			.device = m->device,
			.dtype = model_float_type(m),
			.autocast = m->autocast,
			.points = s->points,
			.prompts = s->prompts,
			.prompt_batch = &s->prompt_batch,
			.oom_retries = &t->oom_retries,
			.seed = s->seed,
			.min_score = s->min_score,
			.save_dir = s->save_dir,
		};
		st = segment_cloud(&c, it->cloud, it->index, it->name, it->rec, err, errlen);
		if (st != SEG_DTYPE || !model_fall_back(m, err))
			break;
	}
	return st == SEG_OK ? TASK_OK : st == SEG_OOM ? TASK_OOM : st == SEG_MODEL ? TASK_MODEL : TASK_INPUT;
}

static int segment_set_knob(struct task *t, const char *knob, long value)
{
	struct segment *s = t->state;
	if (!strcmp(knob, "points"))
		s->points = value;
	else if (!strcmp(knob, "prompt-batch"))
		s->prompt_batch = value;
	else
		return -1;
	return 0;
}

static json_t *segment_settings(const struct task *t)
{
	const struct segment *s = t->state;
	return json_pack("{s:I, s:I, s:I, s:I, s:f}", "points", (json_int_t)s->points, "prompts",
	                 (json_int_t)s->prompts, "prompt_batch", (json_int_t)s->prompt_batch, "seed",
	                 (json_int_t)s->seed, "min_score", s->min_score);
}

const struct task_def segment_task = {
	.name = "segment",
	.inputs = TASK_IN_CLOUD,
	.options = (const char *const[]){"points", "prompts", "prompt-batch", "seed", "min-score", "save-dir", NULL},
	.default_keys = (const char *const[]){"points", "prompts", "prompt_batch", NULL},
	.knobs = (const char *const[]){"points", "prompt-batch", NULL},
	.open = segment_open,
	.close = segment_close,
	.run_one = segment_run_one,
	.set_knob = segment_set_knob,
	.settings = segment_settings,
};
