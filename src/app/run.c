/*
 * run.c — `tinfer run`: the inputs stream through the pipeline (read and
 * decoded ahead on worker threads, app/pipeline.c), the model runs each
 * batch on this thread (loaded when the first batch has something to run),
 * the task turns outputs into records, and every input gets exactly one
 * record, in list order, written as soon as its batch is done.  See run.h.
 */
#include "app/run.h"
#include "app/crops.h"
#include "app/inputs.h"
#include "app/memtrace.h"
#include "app/output.h"
#include "app/pipeline.h"
#include "app/progress.h"
#include "app/report.h"
#include "app/resume.h"
#include "engine/model.h"
#include "engine/shim.h"
#include "formats/cloud.h"
#include "formats/image.h"
#include "formats/manifest.h"
#include "formats/npy.h"
#include "formats/preprocess.h"
#include "formats/ptar.h"
#include "sys/memstat.h"
#include "sys/msg.h"
#include "sys/num.h"
#include "tasks/task.h"

#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Largest point cloud: 100 million points (1.2 GB of coordinates). */
#define MAX_CLOUD_POINTS ((size_t)100000000)

static volatile sig_atomic_t stop_signal; /* SIGINT/SIGTERM received */

static void on_signal(int sig)
{
	if (stop_signal) { /* a second signal: give up at once */
		signal(sig, SIG_DFL);
		raise(sig);
	}
	stop_signal = sig;
}

struct run {
	const struct opts *o;
	struct model_spec spec;
	struct task task;
	unsigned inputs;            /* what the model takes: enum task_input bits */
	long batch_size;            /* -b, else the manifest's, else 1 */
	long batch;                 /* current batch size: halved on out-of-memory */
	struct inputs *list;
	struct resume *done;
	struct pipeline *pipe;
	struct output out;
	struct run_stats st;
	struct model m;             /* once loaded (m.mod set) */
	int fatal;                  /* an exit status once the run cannot go on */
	char fatal_msg[ERRLEN];
	int interrupted;            /* SIGINT, SIGTERM, SIGPIPE */
	int batches;                /* batches run */
	size_t taken;               /* inputs of the batches taken from the pipeline so far */
	uint64_t weight_bytes;      /* the model's, from its archive's directory */
	int optimize;               /* --optimize still to be decided: 1 (auto or on), else 0 */
	struct item **group;        /* (batch) the items of one forward pass */
	struct task_item *ti;       /* (batch) the same, as the task sees them */
	struct progress prog;
};

/*
 * Reads and decodes one input (a worker thread): an image is preprocessed
 * straight into row, a .npy or a cloud is kept as it is.  On any problem
 * the item is marked failed with its reason.  Touches nothing of r but
 * what is read-only during a run.
 */
static void prepare(void *ctx, struct item *it, float *row)
{
	struct run *r = ctx;
	const struct input *in = &it->in;
	const struct preprocess *p = &r->spec.pre;
	double t0 = now_ms();
	unsigned char *buf = in->data, *owned = NULL;
	size_t len = in->len;
	struct image img = {0};
	int fast_w = 0, fast_h = 0;

	if (in->error) {
		msg_fmt(it->err, sizeof it->err, "%s", in->error);
		goto out;
	}
	if (in->crop) {
		if (crop_cut(in->crop, r->o->max_pixels, &img, it->region, it->err, sizeof it->err) < 0)
			goto out;
		goto image;
	}
	if (!buf && !(buf = owned = inputs_read(in->name, &len, it->err, sizeof it->err)))
		goto out;
	if (r->inputs & TASK_IN_CLOUD) {
		if (cloud_read(buf, len, in->name, MAX_CLOUD_POINTS, &it->cloud, it->err, sizeof it->err) == 0)
			it->kind = ITEM_CLOUD;
		goto out;
	}
	if (len >= 6 && !memcmp(buf, "\x93NUMPY", 6) && (r->inputs & TASK_IN_TENSOR)) {
		if (npy_parse(buf, len, &it->arr, it->err, sizeof it->err) == 0)
			it->kind = ITEM_TENSOR;
		goto out;
	}
	if (image_sniff(buf, len) == IMAGE_UNKNOWN) {
		msg_fmt(it->err, sizeof it->err, "not a PNG, JPEG or .npy file");
		goto out;
	}
	if (!(r->inputs & TASK_IN_IMAGE)) {
		msg_fmt(it->err, sizeof it->err,
		        "model '%s' has no image input description (manifest \"input\"): give it a .npy tensor",
		        r->spec.name);
		goto out;
	}
	if (r->o->fast_decode && !r->task.keep_images) /* a picture is drawn at full size */
		preprocess_decode_target(p, buf, len, &fast_w, &fast_h);
	if (image_decode(buf, len, r->o->max_pixels, fast_w, fast_h, &img, it->err, sizeof it->err) < 0)
		goto out;
image:
	it->width = img.width;
	it->height = img.height;
	if (img.scale_denom > 1) /* the source's size, not the reduced decode's */
		image_jpeg_size(buf, len, &it->width, &it->height);
	if (preprocess_image(p, &img, row, &it->geo, it->err, sizeof it->err) == 0) {
		it->kind = ITEM_IMAGE;
		if (img.scale_denom > 1) { /* boxes map back to the source's pixels */
			it->geo.src_w = it->width;
			it->geo.src_h = it->height;
			it->geo.gain_x = (double)it->geo.new_w / it->width;
			it->geo.gain_y = (double)it->geo.new_h / it->height;
		}
		if (r->task.keep_images) { /* kept for the task (a picture); freed with the item */
			it->img = img;
			img.data = NULL;
		}
	}
	image_free(&img);
out:
	free(owned);
	it->ms = now_ms() - t0;
}

/* Loads libtorch and the model, once.  0, or -1 with r->fatal set. */
static int ensure_model(struct run *r)
{
	struct model_params p = {.device = r->o->device,
	                         .dtype = r->o->dtype,
	                         .autocast = r->o->autocast,
	                         .memory_format = r->o->memory_format,
	                         .threads = r->st.threads,
	                         .max_vram = r->o->max_vram,
	                         .max_vram_pct = r->o->max_vram_pct,
	                         .empty_cache = r->o->empty_cache};
	int rc;
	if (r->m.mod)
		return 0;
	memtrace_phase("load");
	if ((rc = model_open(&r->m, r->spec.file, r->spec.name, &p, r->fatal_msg, sizeof r->fatal_msg)) != 0) {
		r->fatal = rc;
		return -1;
	}
	r->task.T = r->m.T;
	if (r->m.dev_index >= 0)
		memtrace_vram(r->m.T, r->m.dev_index);
	memtrace_phase("first batch");
	return 0;
}

static int infer(struct run *r, const void *host, int src, int64_t *shape, int ndim, struct item **items, int n);

/*
 * --optimize: whether to optimise the module now, after a forward pass.
 * on: at the first pass.  auto: once the run has shown it is long, as in
 * the ski-rental problem: optimising costs libtorch's graph passes and a
 * pass of the candidate, 1 to 3 batches' worth on ResNet-50 and
 * MobileNetV3 (README.md, Figures; 0.57 s = 4.4 batches of MobileNetV3-Large
 * once the heap was on huge pages), and gains 20-45 % a batch on CNNs; so
 * it is done after the AUTO_BATCHES-th batch (the ski-rental rule: rent
 * for about what buying costs), while more inputs are listed,
 * for models of AUTO_MIN_WEIGHTS or more (a smaller one is fast, and the
 * graph passes are most of the cost: the digits model's 0.13 MB take
 * 0.17-0.42 s against ~1 ms a batch) that have convolutions (a transformer
 * gains nothing: ViT-B/16 measured the same speed, for 20 s of graph
 * passes and 360 MiB more at the peak).  Counts, not times: a run's
 * records do not depend on how busy the machine was.
 */
#define AUTO_BATCHES 5
#define AUTO_MIN_WEIGHTS ((uint64_t)8 << 20)
static int optimize_now(struct run *r)
{
	struct pipeline_stats ps;
	if (!strcmp(r->o->optimize, "on"))
		return 1;
	if (r->batches + 1 < AUTO_BATCHES)
		return 0;
	if (r->weight_bytes < AUTO_MIN_WEIGHTS) {
		r->optimize = 0;
		msg_fmt(r->st.optimize_why, sizeof r->st.optimize_why,
		        "auto: a small model (%.1f MiB of weights, under %d): not worth it", r->weight_bytes / 1048576.0,
		        (int)(AUTO_MIN_WEIGHTS >> 20));
		return 0;
	}
	if (r->m.T->tch_module_convolutions(r->m.mod) < 1) {
		r->optimize = 0;
		msg_fmt(r->st.optimize_why, sizeof r->st.optimize_why,
		        "auto: no convolutions, where freezing and optimize_for_inference gain (ViT-B/16: none)");
		return 0;
	}
	pipeline_stats(r->pipe, &ps);
	return !ps.list_done || ps.listed - ps.skipped > r->taken;
}

/* Runs n rows (of row bytes each) in chunks of at most `size`, or of the batch size current at each chunk. */
static int infer_chunks(struct run *r, const void *host, int src, int64_t *shape, int ndim, struct item **items,
                        int n, size_t row, long size)
{
	for (int k = 0; k < n && !r->fatal;) {
		long b = size ? size : r->batch;
		int c = (int)(b < n - k ? b : n - k);
		if (infer(r, (const char *)host + row * (size_t)k, src, shape, ndim, items + k, c) < 0)
			return -1;
		k += c;
	}
	return 0;
}

/*
 * Runs the model on n rows of host data (shape[0] == n, C order, element
 * type src) belonging to items[0..n), then lets the task fill their
 * records.  Out of memory with n > 1 halves the batch and runs the same
 * rows again; another failure with n > 1 runs each half on its own, until
 * the inputs that fail stand alone: one bad input never fails the good ones
 * batched with it.  Returns -1 only on a fatal model error.
 */
static int infer(struct run *r, const void *host, int src, int64_t *shape, int ndim, struct item **items, int n)
{
	size_t row = tch_elem_size(src);
	double t0 = now_ms(), t1;
	char err[ERRLEN];
	tch_value *out;
	int oom;

	for (int d = 1; d < ndim; d++)
		row *= (size_t)shape[d];
	if (n > r->batch) /* read ahead before the batch size came down: its size now */
		return infer_chunks(r, host, src, shape, ndim, items, n, row, 0);
	shape[0] = n;
	out = model_forward(&r->m, host, src, shape, ndim, &oom, err, sizeof err);
	t1 = now_ms();
	r->st.forward_ms += t1 - t0;
	if (out && r->optimize && optimize_now(r)) {
		r->optimize = 0;
		model_optimize(&r->m, host, src, shape, ndim, out, !strcmp(r->o->optimize, "on"));
		t1 = now_ms();
	}
	if (out) {
		struct task_item *ti = r->ti;
		int rc;
		for (int k = 0; k < n; k++)
			ti[k] = (struct task_item){.rec = items[k]->rec,
			                           .index = items[k]->in.pos,
			                           .name = items[k]->in.name,
			                           .geo = items[k]->kind == ITEM_IMAGE ? &items[k]->geo : NULL,
			                           .img = items[k]->img.data ? &items[k]->img : NULL,
			                           .err = items[k]->err};
		rc = r->task.def->post(&r->task, out, ti, n, err, sizeof err);
		r->m.T->tch_value_free(out);
		r->st.post_ms += now_ms() - t1;
		if (rc < 0) {
			r->fatal = r->task.status ? r->task.status : EXIT_MODEL;
			msg_fmt(r->fatal_msg, sizeof r->fatal_msg, "model '%s': %s", r->spec.name, err);
			return -1;
		}
		for (int k = 0; k < n; k++) {
			items[k]->ms += (now_ms() - t0) / n;
			items[k]->done = 1;
			if (ti[k].failed)
				items[k]->kind = ITEM_FAILED;
		}
		return 0;
	}
	if (oom && n > 1) {
		r->st.oom_retries++;
		if (r->batch > n / 2) {
			r->batch = n / 2;
			pipeline_set_batch(r->pipe, r->batch);
			msg_warn("out of memory at batch %d: batch size now %ld", n, r->batch);
		}
		return infer_chunks(r, host, src, shape, ndim, items, n, row, 0);
	}
	if (n > 1) /* which of them? each half on its own */
		return infer_chunks(r, host, src, shape, ndim, items, n, row, (n + 1) / 2);
	if (oom)
		r->st.oom_failed++;
	msg_fmt(items[0]->err, sizeof items[0]->err, oom ? "out of memory at batch size 1: %s" : "forward pass failed: %s",
	        err);
	items[0]->kind = ITEM_FAILED;
	items[0]->failed_alone = !oom;
	items[0]->done = 1;
	return 0;
}

/* Same shape and dtype: the tensors can be stacked into one batch. */
static int same_tensor(const struct npy *a, const struct npy *b)
{
	if (a->dtype != b->dtype || a->ndim != b->ndim)
		return 0;
	for (int d = 0; d < a->ndim; d++)
		if (a->shape[d] != b->shape[d])
			return 0;
	return 1;
}

/* Stacks the .npy items from items[first] on with the same shape and runs them. */
static int infer_tensors(struct run *r, struct item *items, int count, int first)
{
	struct item **group = r->group;
	const struct npy *a = &items[first].arr;
	int64_t shape[NPY_MAXDIM + 1];
	int n = 0, src = model_npy_type(a->dtype), rc;
	size_t bytes = a->count * npy_itemsize(a->dtype);
	unsigned char *stack;

	for (int k = first; k < count; k++)
		if (items[k].kind == ITEM_TENSOR && !items[k].done && same_tensor(a, &items[k].arr))
			group[n++] = &items[k];
	if (src < 0 || !(stack = malloc(bytes * (size_t)n + 1))) {
		for (int k = 0; k < n; k++) {
			if (src < 0)
				msg_fmt(group[k]->err, sizeof group[k]->err, "unsupported tensor dtype %s", npy_name(a->dtype));
			else
				msg_fmt(group[k]->err, sizeof group[k]->err, "out of memory stacking tensors");
			group[k]->kind = ITEM_FAILED;
			group[k]->done = 1;
		}
		return 0;
	}
	for (int k = 0; k < n; k++)
		memcpy(stack + bytes * (size_t)k, group[k]->arr.data, bytes);
	for (int d = 0; d < a->ndim; d++)
		shape[d + 1] = a->shape[d];
	rc = infer(r, stack, src, shape, a->ndim + 1, group, n);
	free(stack);
	return rc;
}

/* Runs a task that drives the model itself on one input. */
static void run_one(struct run *r, struct item *it)
{
	double t0 = now_ms();
	char err[ERRLEN];
	struct task_item ti = {.rec = it->rec,
	                       .index = it->in.pos,
	                       .name = it->in.name,
	                       .cloud = it->kind == ITEM_CLOUD ? &it->cloud : NULL,
	                       .err = it->err};
	enum task_status st = r->task.def->run_one(&r->task, &r->m, &ti, err, sizeof err);

	it->ms += now_ms() - t0;
	r->st.forward_ms += now_ms() - t0;
	it->done = 1;
	switch (st) {
	case TASK_OK:
		return;
	case TASK_MODEL:
		r->fatal = EXIT_MODEL;
		msg_fmt(r->fatal_msg, sizeof r->fatal_msg, "model '%s': %s", r->spec.name, err);
		return;
	case TASK_OOM:
		r->st.oom_failed++;
		/* fall through */
	default:
		it->kind = ITEM_FAILED;
		msg_fmt(it->err, sizeof it->err, "%s", err);
	}
}

/* Writes one record: 0, or -1 when it was not written.  A failed write
 * stops the run (SIGPIPE: the reader went away). */
static int write_record(struct run *r, json_t *rec)
{
	if (r->fatal == EXIT_WRITE || r->interrupted)
		return -1;
	if (output_write(&r->out, rec) == 0)
		return 0;
	if (r->out.err_no == EPIPE) {
		r->interrupted = SIGPIPE;
	} else {
		r->fatal = EXIT_WRITE;
		msg_fmt(r->fatal_msg, sizeof r->fatal_msg, "writing results to %s: %s", r->out.name,
		        strerror(r->out.err_no));
	}
	pipeline_stop(r->pipe);
	return -1;
}

/* Writes the record of an item, success or failure, and counts it as such
 * once written (else as not run). */
static void emit(struct run *r, struct item *it)
{
	json_t *rec = json_object(), *v;
	const char *key;
	int ok = !(it->kind == ITEM_FAILED || !it->done);
	output_set_input(rec, it->in.name);
	if (it->in.det >= 0)
		json_object_set_new(rec, "det", json_integer(it->in.det));
	if (it->kind == ITEM_FAILED || !it->done) {
		json_object_set_new(rec, "ok", json_false());
		json_object_set_new(rec, "error", json_string(it->err[0] ? it->err : "not run"));
	} else {
		json_object_set_new(rec, "ok", json_true());
		json_object_set_new(rec, "task", json_string(r->task.def->name));
		if (it->in.crop)
			json_object_set_new(rec, "box", json_pack("[i,i,i,i]", it->region[0], it->region[1], it->region[2],
			                                          it->region[3]));
		if (it->kind == ITEM_IMAGE) {
			json_object_set_new(rec, "width", json_integer(it->width));
			json_object_set_new(rec, "height", json_integer(it->height));
		}
		json_object_set_new(rec, "ms", json_real(num_round(it->ms, 2)));
		json_object_foreach(it->rec, key, v) /* the task's fields after the common ones */
			json_object_set(rec, key, v);
	}
	if (write_record(r, rec) < 0)
		r->st.not_run++;
	else if (ok)
		r->st.ok++;
	else {
		r->st.failed++;
		if (!r->o->quiet && r->o->output)
			msg_error("%s: %s", it->in.name, it->err);
	}
	json_decref(rec);
	if (!r->st.t_first_result)
		r->st.t_first_result = now_ms();
}

/*
 * The first batch decides whether the model can run at all: when every
 * input of it that reached the model failed there alone, with one and the
 * same message, the fault is the model's (exit 3), and the rest is not run.
 */
static void judge_first_batch(struct run *r, const struct batch *b)
{
	const char *msg = NULL;
	int alone = 0;
	for (int k = 0; k < b->count; k++) {
		const struct item *it = &b->items[k];
		if (it->kind != ITEM_FAILED && it->done)
			return; /* something ran */
		if (it->failed_alone) {
			if (msg && strcmp(msg, it->err))
				return;
			msg = it->err;
			alone++;
		}
	}
	if (alone) {
		r->fatal = EXIT_MODEL;
		msg_fmt(r->fatal_msg, sizeof r->fatal_msg, "model '%s' fails on every input of the first batch: %s",
		        r->spec.name, msg);
	}
}

/*
 * Lets the task write what the batch's records will cite (embed
 * --save-dir), before any of them is written: an item it fails becomes an
 * error record; its failure is the run's (a failed write: exit 5).
 */
static void commit(struct run *r, struct batch *b)
{
	char err[ERRLEN];
	int rc;
	for (int k = 0; k < b->count; k++)
		r->ti[k] = (struct task_item){.rec = b->items[k].rec,
		                              .index = b->items[k].in.pos,
		                              .name = b->items[k].in.name,
		                              .failed = b->items[k].kind == ITEM_FAILED || !b->items[k].done,
		                              .err = b->items[k].err};
	rc = r->task.def->commit(&r->task, r->ti, b->count, err, sizeof err);
	for (int k = 0; k < b->count; k++)
		if (r->ti[k].failed && b->items[k].kind != ITEM_FAILED && b->items[k].done)
			b->items[k].kind = ITEM_FAILED;
	if (rc) {
		r->fatal = rc;
		msg_fmt(r->fatal_msg, sizeof r->fatal_msg, "%s", err);
	}
}

/* Runs a batch and writes its records; -1 when the run must stop. */
static int run_batch(struct run *r, struct batch *b)
{
	struct item *items = b->items;
	const struct preprocess *p = &r->spec.pre;
	size_t row = (size_t)p->channels * (size_t)p->height * (size_t)p->width;
	int count = b->count, n_img = 0;

	for (int k = 0; k < count; k++)
		if (items[k].kind != ITEM_FAILED) { /* something to run: the model is needed now */
			ensure_model(r);
			break;
		}
	if (!r->fatal && r->task.def->run_one) {
		for (int k = 0; k < count && !r->fatal; k++)
			if (items[k].kind != ITEM_FAILED)
				run_one(r, &items[k]);
	} else if (!r->fatal) {
		/* images: their rows packed to the front of the buffer, in order */
		for (int k = 0; k < count; k++)
			if (items[k].kind == ITEM_IMAGE) {
				if (k != n_img)
					memmove(b->pix + row * (size_t)n_img, b->pix + row * (size_t)k, row * sizeof(float));
				r->group[n_img++] = &items[k];
			}
		if (n_img) {
			int64_t shape[4] = {n_img, p->channels, p->height, p->width};
			infer(r, b->pix, TCH_F32, shape, 4, r->group, n_img);
		}
		for (int k = 0; k < count && !r->fatal; k++)
			if (items[k].kind == ITEM_TENSOR && !items[k].done)
				infer_tensors(r, items, count, k);
	}
	if (r->batches++ == 0 && !r->fatal)
		judge_first_batch(r, b);
	if (!r->fatal && r->task.def->commit)
		commit(r, b);
	/* After a fatal model error no result of this batch is trusted; inputs
	 * that failed on their own keep their own reason. */
	for (int k = 0; k < count && r->fatal && r->fatal != EXIT_WRITE; k++)
		if ((items[k].kind != ITEM_FAILED || !items[k].err[0]) && !items[k].failed_alone) {
			msg_fmt(items[k].err, sizeof items[k].err, "not run: %s", r->fatal_msg);
			items[k].kind = ITEM_FAILED;
		}
	for (int k = 0; k < count; k++)
		emit(r, &items[k]);
	return r->fatal || r->interrupted ? -1 : 0;
}

/*
 * A destination the run will write: a file (its folder must exist and be
 * writable, the file, when there, writable) or a folder (created when
 * missing).  Checked before anything runs, so that a run never finds out
 * at its end that its report cannot be written.  0, or -1 with err.
 */
static int check_dest(const char *opt, const char *path, int folder, char *err, size_t errlen)
{
	struct stat st;
	char tmp[PATH_MAX];
	if (!path || !strcmp(path, "-"))
		return 0;
	if (folder) {
		if (mkdir(path, 0777) < 0 && errno != EEXIST) {
			msg_fmt(err, errlen, "%s '%s': %s", opt, path, strerror(errno));
			return -1;
		}
		if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode) || access(path, W_OK | X_OK) < 0) {
			msg_fmt(err, errlen, "%s '%s': %s", opt, path,
			        stat(path, &st) == 0 && !S_ISDIR(st.st_mode) ? "not a directory" : strerror(errno));
			return -1;
		}
		return 0;
	}
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode) || access(path, W_OK) < 0) {
			msg_fmt(err, errlen, "%s '%s': %s", opt, path, S_ISDIR(st.st_mode) ? "is a directory" : strerror(errno));
			return -1;
		}
		return 0;
	}
	snprintf(tmp, sizeof tmp, "%s", path);
	if (access(dirname(tmp), W_OK | X_OK) < 0) {
		msg_fmt(err, errlen, "%s '%s': %s", opt, path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Directory endings taken from a folder given as input, by what the model takes. */
static const char *const image_exts[] = {"png", "jpg", "jpeg", "jpe", "jfif", "npy", "tar", NULL};
static const char *const cloud_exts[] = {"ply", "xyz", "txt", "npy", "tar", NULL};

/* Checks the options against the model and opens what the run writes; 0 or an exit status with err. */
static int setup(struct run *r, char *err, size_t errlen)
{
	const struct opts *o = r->o;
	struct input_opts io = {.operands = o->inputs,
	                        .n_operands = o->n_inputs,
	                        .files_from = o->files_from,
	                        .recursive = o->recursive,
	                        .null_sep = o->null_sep,
	                        .exts = image_exts,
	                        .image_stream = o->image_stream,
	                        .every = o->every,
	                        .crop_from = o->crop_from,
	                        .crop_pad = o->crop_pad};
	struct ptar_info pi;
	int rc;

	if (manifest_resolve(o->model, o->models_file, &r->spec, err, errlen) < 0)
		return EXIT_MODEL;
	if ((rc = task_open(&r->task, &r->spec, o, err, errlen)) != 0)
		return rc;
	r->st.task = r->task.def->name;
	r->inputs = task_inputs(&r->task);
	if (opts_check_task(o, r->task.def->name, r->task.def->options, (r->inputs & TASK_IN_IMAGE) != 0, r->spec.name,
	                    err, errlen) < 0)
		return EXIT_USAGE;
	if (r->inputs & TASK_IN_CLOUD)
		io.exts = cloud_exts;
	if (ptar_stat_dir(r->spec.file, &pi, err, errlen) < 0) {
		char why[ERRLEN];
		msg_fmt(why, sizeof why, "%s", err);
		msg_fmt(err, errlen, "model '%s': '%s': %s", r->spec.name, r->spec.file, why);
		return EXIT_MODEL;
	}
	r->weight_bytes = pi.weight_bytes;
	r->batch_size = o->batch_size ? o->batch_size : r->spec.batch_size ? r->spec.batch_size : 1;
	if (r->task.def->run_one)
		r->batch_size = 1; /* one input at a time, whatever the manifest's batch */
	r->batch = r->batch_size;
	if (r->task.def->run_one)
		msg_fmt(r->st.optimize_why, sizeof r->st.optimize_why,
		        "not applicable: task %s calls the model's methods itself", r->task.def->name);
	else if (!strcmp(o->optimize, "off"))
		msg_fmt(r->st.optimize_why, sizeof r->st.optimize_why, "off (--optimize off)");
	else
		r->optimize = 1;
	if (r->inputs & TASK_IN_IMAGE) {
		size_t per = (size_t)r->spec.pre.channels * (size_t)r->spec.pre.height * (size_t)r->spec.pre.width;
		if (per * (size_t)r->batch > ((size_t)1 << 34) / sizeof(float)) {
			msg_fmt(err, errlen, "--batch-size %ld of %dx%d inputs needs more than 16 GiB", r->batch,
			        r->spec.pre.width, r->spec.pre.height);
			return EXIT_USAGE;
		}
	}
	if (!(r->group = calloc((size_t)r->batch, sizeof *r->group)) ||
	    !(r->ti = calloc((size_t)r->batch, sizeof *r->ti))) {
		msg_fmt(err, errlen, "out of memory for a batch of %ld", r->batch);
		return EXIT_OOM;
	}
	if (check_dest("--report", o->report, 0, err, errlen) < 0 ||
	    check_dest("--memory-trace", o->memory_trace, 0, err, errlen) < 0 ||
	    check_dest("--plot", o->plot, 0, err, errlen) < 0 || check_dest("--save-dir", o->save_dir, 1, err, errlen) < 0 ||
	    check_dest("--draw", o->draw_dir, 1, err, errlen) < 0)
		return EXIT_USAGE;
	if (!(r->list = inputs_open(&io, err, errlen)))
		return EXIT_USAGE;
	if (o->resume && !(r->done = resume_open(o->output, &r->st.skipped, err, errlen)))
		return EXIT_USAGE;
	r->st.skipped = 0; /* counted as the list meets them */
	if (output_open(&r->out, o->output, o->resume, err, errlen) < 0)
		return EXIT_USAGE;
	if (r->task.def->start && (rc = r->task.def->start(&r->task, o->resume ? resume_rows(r->done) : -1, err, errlen)))
		return rc;
	return 0;
}

/*
 * --empty-cache, after a batch: the allocator's cached blocks go back to the
 * driver (other processes on the device get them); the reserved bytes
 * before and after, the largest over the run, go in the report.
 */
static void empty_cache(struct run *r)
{
	struct tch_vram v;
	const struct tch_api *T = r->m.T;
	if (!r->m.mod || r->m.dev_index < 0 || T->tch_cuda_vram(r->m.dev_index, &v) < 0)
		return;
	if (v.reserved > r->st.vram_reserved_before_empty)
		r->st.vram_reserved_before_empty = v.reserved;
	if (T->tch_cuda_empty_cache() < 0 || T->tch_cuda_vram(r->m.dev_index, &v) < 0)
		return;
	if (v.reserved > r->st.vram_reserved_after_empty)
		r->st.vram_reserved_after_empty = v.reserved;
	r->st.empty_cache = 1;
}

/* The decoding threads: --decode-threads, else one per core beyond the model's on CUDA, one on the CPU. */
static int decode_threads(const struct run *r)
{
	if (r->o->decode_threads)
		return (int)r->o->decode_threads;
	return 1;
}

int run_main(const struct opts *o, double t_start)
{
	struct run r;
	char err[ERRLEN] = "";
	struct sigaction sa;
	struct pipeline_stats ps = {0};
	int status;

	memset(&r, 0, sizeof r);
	r.o = o;
	r.out.fd = -1;
	r.m.dev_index = -1;
	r.st.t_start = t_start;
	r.st.ram_start = mem_rss();
	r.st.threads = opts_threads(o);
	r.st.dtype = r.st.dtype_requested = o->dtype;
	r.st.task = o->task;
	r.st.autocast = r.st.autocast_requested = o->autocast;
	r.st.fast_decode = o->fast_decode;
	r.st.optimize_mode = o->optimize;
	/* A reader that goes away (| head) is noticed as EPIPE on the next write. */
	signal(SIGPIPE, SIG_IGN);
	if ((status = setup(&r, err, sizeof err)) != 0) {
		/* nothing ran; a CI job that asked for a report still gets one */
		msg_error("%s", err);
		r.st.t_end = now_ms();
		snprintf(r.st.device, sizeof r.st.device, "none");
		r.st.error = err;
		if (o->report && !(status == EXIT_USAGE && strstr(err, "--report")))
			report_write(&r.st, &r.spec, o->report, o->quiet);
		goto out;
	}
	/* CUDA-only options are checked against the device, and --max-vram
	 * against the weights, before any input is read: the model is loaded now. */
	if ((o->max_vram || o->max_vram_pct > 0 || o->empty_cache) && ensure_model(&r) < 0) {
		msg_error("%s", r.fatal_msg);
		status = r.fatal;
		r.st.t_end = now_ms();
		r.st.error = r.fatal_msg;
		report_take_model(&r.st, &r.m, (r.inputs & TASK_IN_IMAGE) != 0);
		r.st.vram_limit = r.m.vram_limit;
		if (o->report)
			report_write(&r.st, &r.spec, o->report, o->quiet);
		goto out;
	}
	if (o->memory_trace && memtrace_start(5, err, sizeof err) < 0) {
		msg_error("%s", err);
		status = EXIT_USAGE;
		goto out;
	}
	{
		struct pipeline_opts po = {.list = r.list,
		                           .done = r.done,
		                           .shard_i = o->shard_i,
		                           .shard_n = o->shard_n,
		                           .batch = r.batch,
		                           .row_floats = (r.inputs & TASK_IN_IMAGE) ? (size_t)r.spec.pre.channels *
		                                                                          (size_t)r.spec.pre.height *
		                                                                          (size_t)r.spec.pre.width
		                                                                    : 0,
		                           .threads = decode_threads(&r),
		                           .prepare = prepare,
		                           .ctx = &r};
		if (!(r.pipe = pipeline_start(&po, err, sizeof err))) {
			msg_error("%s", err);
			status = EXIT_OOM;
			goto out;
		}
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	progress_start(&r.prog, o->progress, o->quiet);
	for (;;) {
		struct batch *b = pipeline_next(r.pipe);
		int rc;
		if (!b)
			break;
		r.taken += (size_t)b->count;
		rc = run_batch(&r, b); /* writes every record of the batch */
		if (o->empty_cache)
			empty_cache(&r);
		if (r.batches == 1 && r.m.mod)
			memtrace_phase("steady");
		pipeline_release(r.pipe, b);
		pipeline_stats(r.pipe, &ps);
		progress_update(&r.prog, r.st.ok + r.st.failed, r.st.failed, ps.listed - ps.skipped, ps.list_done);
		if (rc < 0 || stop_signal) {
			pipeline_stop(r.pipe);
			break;
		}
	}
	progress_end(&r.prog);
	pipeline_stats(r.pipe, &ps);
	if (ps.list_failed && !r.fatal) {
		r.fatal = EXIT_USAGE;
		msg_fmt(r.fatal_msg, sizeof r.fatal_msg, "%s", ps.err);
	}
	if (stop_signal)
		r.interrupted = stop_signal;
	r.st.skipped = ps.skipped;
	r.st.not_run += ps.pending;
	r.st.decode_ms = ps.decode_ms;
	r.st.wait_ms = ps.wait_ms;
	r.st.inputs = r.st.ok + r.st.failed + r.st.skipped + r.st.not_run;
	if (r.fatal)
		msg_error("%s", r.fatal_msg);
	if (output_close(&r.out, err, sizeof err) < 0 && r.out.err_no != EPIPE) {
		if (!r.fatal) {
			r.fatal = EXIT_WRITE;
			msg_fmt(r.fatal_msg, sizeof r.fatal_msg, "%s", err);
			msg_error("%s", err);
		}
	}
	r.st.records = r.out.records;
	r.st.error = r.fatal ? r.fatal_msg : NULL;
	r.st.interrupted = r.interrupted == SIGINT ? "SIGINT" : r.interrupted == SIGTERM ? "SIGTERM"
	                 : r.interrupted == SIGPIPE ? "SIGPIPE" : NULL;
	r.st.t_end = now_ms();
	report_take_model(&r.st, &r.m, (r.inputs & TASK_IN_IMAGE) != 0);
	if (!r.st.optimize_why[0])
		msg_fmt(r.st.optimize_why, sizeof r.st.optimize_why, "%s",
		        !r.m.mod ? "the model never ran" : "auto: the run was too short to repay it");
	r.st.batch_size = r.batch_size;
	r.st.oom_retries += r.task.oom_retries;
	if (report_write(&r.st, &r.spec, o->report, o->quiet || r.interrupted == SIGPIPE) < 0 && !r.fatal)
		r.fatal = EXIT_WRITE;
	if (o->memory_trace && memtrace_finish(o->memory_trace, o->plot, "tinfer run: memory over time", err,
	                                       sizeof err) < 0) {
		msg_error("%s", err);
		if (!r.fatal)
			r.fatal = EXIT_WRITE;
	}

	status = r.interrupted == SIGINT ? EXIT_SIGINT
	       : r.interrupted == SIGTERM ? EXIT_SIGTERM
	       : r.interrupted == SIGPIPE ? EXIT_SIGPIPE
	       : r.fatal ? r.fatal
	       : r.st.oom_failed ? EXIT_OOM
	       : r.st.failed ? EXIT_SOME_FAILED : EXIT_OK;
out:
	pipeline_free(r.pipe);
	model_close(&r.m);
	task_close(&r.task);
	inputs_close(r.list);
	resume_free(r.done);
	free(r.group);
	free(r.ti);
	model_spec_free(&r.spec);
	return status;
}
