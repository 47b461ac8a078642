/* run.c — see run.h. */
#include "app/run.h"
#include "formats/cloud.h"
#include "engine/shim.h"
#include "formats/image.h"
#include "app/inputs.h"
#include "formats/manifest.h"
#include "sys/memstat.h"
#include "app/memtrace.h"
#include "engine/model.h"
#include "sys/msg.h"
#include "formats/npy.h"
#include "app/output.h"
#include "formats/preprocess.h"
#include "app/progress.h"
#include "formats/ptar.h"
#include "app/report.h"
#include "app/resume.h"
#include "sys/num.h"
#include "tasks/task.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
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

enum item_kind { ITEM_FAILED = 0, ITEM_IMAGE, ITEM_TENSOR, ITEM_CLOUD };

/* One input of the batch in flight. */
struct item {
	size_t index;
	enum item_kind kind;
	int slot;                   /* ITEM_IMAGE: row in the batch's image buffer */
	struct npy arr;             /* ITEM_TENSOR */
	struct cloud cloud;         /* ITEM_CLOUD */
	int width, height;          /* ITEM_IMAGE: source size */
	struct geometry geo;        /* ITEM_IMAGE: where the source went in the model input */
	struct image img;           /* ITEM_IMAGE with --draw: the decoded source, for the picture */
	double ms;                  /* time spent on this input */
	int done;                   /* a task filled its record, or it failed */
	json_t *rec;
	char err[ERRLEN];
};

/* The inputs of one batch and their decoded images. */
struct batch {
	struct item *items;         /* (capacity) */
	int count;                  /* inputs in it */
	int slots;                  /* images decoded into pix */
	float *pix;                 /* (capacity, C, H, W) when the model takes images */
};

struct run {
	const struct opts *o;
	struct model_spec spec;
	struct task task;
	unsigned inputs;            /* what the model takes: enum task_input bits */
	long batch_size;            /* -b, else the manifest's, else 1 */
	struct input_list in;
	struct output out;
	struct run_stats st;
	long batch;                 /* current batch size: halved on out-of-memory */
	struct model m;             /* once loaded (m.mod set) */
	int fatal;                  /* EXIT_MODEL / EXIT_USAGE once the run cannot go on */
	char fatal_msg[ERRLEN];
	size_t *todo;               /* positions in `in` still to run, in order */
	size_t n_todo;
	struct progress prog;
	/* two batches: one runs while the next is read and decoded */
	struct batch b[2];
	struct item **group;        /* (batch) the items of one forward pass */
	struct task_item *ti;       /* (batch) the same, as the task sees them */
};

/*
 * Reads and decodes input it into the batch: an image is preprocessed
 * straight into slot *slots of the image buffer, a .npy is kept as it is.
 * On any problem the item is marked failed with its reason.
 */
static void prepare(struct run *r, struct item *it, float *pix, int *slots)
{
	const char *path = r->in.paths[it->index];
	double t0 = now_ms();
	size_t len = 0;
	unsigned char *buf;
	struct image img = {0};
	const struct preprocess *p = &r->spec.pre;
	int fast_w, fast_h;

	if (r->in.errors[it->index]) {
		snprintf(it->err, sizeof it->err, "%s", r->in.errors[it->index]);
		return;
	}
	if (!(buf = inputs_read(path, &len, it->err, sizeof it->err)))
		return;
	if (r->inputs & TASK_IN_CLOUD) {
		if (cloud_read(buf, len, path, MAX_CLOUD_POINTS, &it->cloud, it->err, sizeof it->err) == 0)
			it->kind = ITEM_CLOUD;
		goto out;
	}
	if (len >= 6 && !memcmp(buf, "\x93NUMPY", 6) && (r->inputs & TASK_IN_TENSOR)) {
		if (npy_parse(buf, len, &it->arr, it->err, sizeof it->err) == 0)
			it->kind = ITEM_TENSOR;
		goto out;
	}
	if (image_sniff(buf, len) == IMAGE_UNKNOWN) {
		snprintf(it->err, sizeof it->err, "not a PNG, JPEG or .npy file");
		goto out;
	}
	if (!(r->inputs & TASK_IN_IMAGE)) {
		msg_fmt(it->err, sizeof it->err,
		        "model '%s' has no image input description (manifest \"input\"): give it a .npy tensor",
		        r->spec.name);
		goto out;
	}
	fast_w = fast_h = 0;
	if (r->o->fast_decode && !r->o->draw_dir) /* a picture is drawn at full size */
		preprocess_decode_target(p, buf, len, &fast_w, &fast_h);
	if (image_decode(buf, len, r->o->max_pixels, fast_w, fast_h, &img, it->err, sizeof it->err) < 0)
		goto out;
	it->width = img.width;
	it->height = img.height;
	if (img.scale_denom > 1) /* the source's size, not the reduced decode's */
		image_jpeg_size(buf, len, &it->width, &it->height);
	free(buf);
	buf = NULL;
	if (preprocess_image(p, &img, pix + (size_t)*slots * (size_t)(p->channels * p->height * p->width),
	                     &it->geo, it->err, sizeof it->err) == 0) {
		it->kind = ITEM_IMAGE;
		it->slot = (*slots)++;
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
	free(buf);
	it->ms = now_ms() - t0;
}

/* Element type a host buffer of npy type t is handed to libtorch as. */
static int tch_of_npy(enum npy_dtype t)
{
	switch (t) {
	case NPY_BOOL: return TCH_BOOL;
	case NPY_U8: return TCH_U8;
	case NPY_I8: return TCH_I8;
	case NPY_I16: return TCH_I16;
	case NPY_I32: return TCH_I32;
	case NPY_I64: return TCH_I64;
	case NPY_F16: return TCH_F16;
	case NPY_F32: return TCH_F32;
	case NPY_F64: return TCH_F64;
	default: return -1; /* u16, u32, u64: libtorch 1.13 has no such tensors */
	}
}

/* Loads libtorch and the model, once.  0, or -1 with r->fatal set. */
static int ensure_model(struct run *r)
{
	int rc;
	if (r->m.mod)
		return 0;
	memtrace_phase("load");
	struct model_params p = {.device = r->o->device,
	                         .dtype = r->o->dtype,
	                         .autocast = r->o->autocast,
	                         .memory_format = r->o->memory_format,
	                         .threads = r->st.threads};
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

static int infer(struct run *r, const void *host, int src, int64_t *shape, int ndim,
                 struct item **items, int n);

/* Runs n rows (of row bytes each) in chunks of the batch size current at each chunk. */
static int infer_chunks(struct run *r, const void *host, int src, int64_t *shape, int ndim,
                        struct item **items, int n, size_t row)
{
	for (int k = 0; k < n;) {
		int c = (int)(r->batch < n - k ? r->batch : n - k);
		if (infer(r, (const char *)host + row * (size_t)k, src, shape, ndim, items + k, c) < 0)
			return -1;
		k += c;
	}
	return 0;
}

/*
 * Runs the model on n rows of host data (shape[0] == n, C order, element
 * type src) belonging to items[0..n), then lets the task fill their
 * records.  Out of memory with n > 1 halves the batch and retries both
 * halves; at n == 1 the item fails.  Returns -1 only on a fatal model error.
 */
static int infer(struct run *r, const void *host, int src, int64_t *shape, int ndim,
                 struct item **items, int n)
{
	size_t row = tch_elem_size(src);
	double t0 = now_ms();
	char err[ERRLEN];
	tch_value *out;
	int oom;

	for (int d = 1; d < ndim; d++)
		row *= (size_t)shape[d];
	if (n > r->batch) /* read ahead before the batch size came down: its size now */
		return infer_chunks(r, host, src, shape, ndim, items, n, row);
	shape[0] = n;
	out = model_forward(&r->m, host, src, shape, ndim, &oom, err, sizeof err);
	r->st.forward_ms += now_ms() - t0;
	if (out) {
		struct task_item *ti = r->ti;
		double share = (now_ms() - t0) / n;
		int rc;
		for (int k = 0; k < n; k++)
			ti[k] = (struct task_item){.rec = items[k]->rec,
			                           .index = items[k]->index,
			                           .name = r->in.paths[items[k]->index],
			                           .geo = items[k]->kind == ITEM_IMAGE ? &items[k]->geo : NULL,
			                           .img = items[k]->img.data ? &items[k]->img : NULL,
			                           .err = items[k]->err};
		rc = r->task.def->post(&r->task, out, ti, n, err, sizeof err);
		r->m.T->tch_value_free(out);
		if (rc < 0) {
			r->fatal = EXIT_MODEL;
			msg_fmt(r->fatal_msg, sizeof r->fatal_msg, "model '%s': %s", r->spec.name, err);
			return -1;
		}
		for (int k = 0; k < n; k++) {
			items[k]->ms += share;
			items[k]->done = 1;
			if (ti[k].failed)
				items[k]->kind = ITEM_FAILED;
		}
		return 0;
	}
	if (oom && n > 1) {
		/* Halve, and run these inputs again in chunks of the batch size
		 * that is current at each chunk: it may shrink further on the
		 * way, and it stays shrunk for the rest of the run. */
		r->st.oom_retries++;
		if (r->batch > n / 2) {
			r->batch = n / 2;
			msg_warn("out of memory at batch %d: batch size now %ld", n, r->batch);
		}
		return infer_chunks(r, host, src, shape, ndim, items, n, row);
	}
	if (oom)
		r->st.oom_failed++;
	for (int k = 0; k < n; k++) {
		msg_fmt(items[k]->err, sizeof items[k]->err, oom ? "out of memory at batch size 1: %s"
		                                                 : "forward pass failed: %s", err);
		items[k]->kind = ITEM_FAILED;
		items[k]->done = 1;
	}
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

/* Stacks the .npy items starting at items[first] with the same shape and runs them. */
static int infer_tensors(struct run *r, struct item *items, int count, int first)
{
	struct item **group = r->group;
	const struct npy *a = &items[first].arr;
	int64_t shape[NPY_MAXDIM + 1];
	int n = 0, src = tch_of_npy(a->dtype), rc;
	size_t bytes = a->count * npy_itemsize(a->dtype);
	unsigned char *stack;

	for (int k = first; k < count; k++)
		if (items[k].kind == ITEM_TENSOR && !items[k].done && same_tensor(a, &items[k].arr))
			group[n++] = &items[k];
	if (src < 0) {
		for (int k = 0; k < n; k++) {
			snprintf(group[k]->err, sizeof group[k]->err, "unsupported tensor dtype %s", npy_name(a->dtype));
			group[k]->kind = ITEM_FAILED;
			group[k]->done = 1;
		}
		return 0;
	}
	if (!(stack = malloc(bytes * (size_t)n + 1))) {
		for (int k = 0; k < n; k++) {
			snprintf(group[k]->err, sizeof group[k]->err, "out of memory stacking tensors");
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

/* Runs a task that drives the model itself on one input; the item is done
 * or failed after, or the run has a fatal model error. */
static void run_one(struct run *r, struct item *it)
{
	double t0 = now_ms();
	char err[ERRLEN];
	struct task_item ti = {.rec = it->rec,
	                       .index = it->index,
	                       .name = r->in.paths[it->index],
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

/* Writes the record of an item, success or failure, and counts it. */
static void emit(struct run *r, struct item *it)
{
	json_t *rec = it->rec;
	if (it->kind == ITEM_FAILED || !it->done) {
		json_t *e = json_object();
		json_object_set_new(e, "input", json_string(r->in.paths[it->index]));
		json_object_set_new(e, "ok", json_false());
		json_object_set_new(e, "error", json_string(it->err[0] ? it->err : "not run"));
		output_write(&r->out, e);
		json_decref(e);
		r->st.failed++;
		if (!r->o->quiet && r->o->output)
			msg_error("%s: %s", r->in.paths[it->index], it->err);
	} else {
		/* the task's fields go after the common ones */
		json_t *head = json_object();
		const char *key;
		json_t *v;
		json_object_set_new(head, "input", json_string(r->in.paths[it->index]));
		json_object_set_new(head, "ok", json_true());
		json_object_set_new(head, "task", json_string(r->task.def->name));
		if (it->kind == ITEM_IMAGE) {
			json_object_set_new(head, "width", json_integer(it->width));
			json_object_set_new(head, "height", json_integer(it->height));
		}
		json_object_set_new(head, "ms", json_real(num_round(it->ms, 2)));
		json_object_foreach(rec, key, v)
			json_object_set(head, key, v);
		output_write(&r->out, head);
		json_decref(head);
		r->st.ok++;
	}
	if (!r->st.t_first_result)
		r->st.t_first_result = now_ms();
}

/*
 * Reads and decodes the inputs at positions idx[0..count) into b.  Touches
 * nothing of r but what is read-only during a run, so it can run on another
 * thread while the previous batch is in the model.
 */
static void prepare_batch(struct run *r, struct batch *b, const size_t *idx, int count)
{
	memset(b->items, 0, (size_t)count * sizeof *b->items);
	b->count = count;
	b->slots = 0;
	for (int k = 0; k < count; k++) {
		b->items[k].index = idx[k];
		b->items[k].rec = json_object();
		prepare(r, &b->items[k], b->pix, &b->slots);
	}
}

/* Frees what a prepared batch holds. */
static void release_batch(struct batch *b)
{
	for (int k = 0; k < b->count; k++) {
		json_decref(b->items[k].rec);
		npy_free(&b->items[k].arr);
		image_free(&b->items[k].img);
		cloud_free(&b->items[k].cloud);
	}
	b->count = 0;
}

/* Runs a prepared batch and writes its records; -1 when the run must stop. */
static int run_batch(struct run *r, struct batch *b)
{
	struct item *items = b->items, **imgs = r->group;
	const struct preprocess *p = &r->spec.pre;
	int count = b->count, n_img = 0, rc = 0;

	for (int k = 0; k < count; k++)
		if (items[k].kind != ITEM_FAILED) { /* something to run: the model is needed now */
			ensure_model(r);
			break;
		}
	for (int k = 0; k < count && !r->fatal; k++) {
		if (items[k].kind == ITEM_IMAGE)
			imgs[n_img++] = &items[k];
	}
	if (n_img && !r->fatal && !r->task.def->run_one) {
		int64_t shape[4] = {n_img, p->channels, p->height, p->width};
		rc = infer(r, b->pix, TCH_F32, shape, 4, imgs, n_img);
	}
	for (int k = 0; k < count && !r->fatal && !r->task.def->run_one; k++)
		if (items[k].kind == ITEM_TENSOR && !items[k].done)
			rc = infer_tensors(r, items, count, k);
	for (int k = 0; k < count && !r->fatal; k++)
		if (r->task.def->run_one && items[k].kind != ITEM_FAILED)
			run_one(r, &items[k]);
	/* After a fatal model error no result of this batch is trusted; inputs
	 * that failed on their own keep their own reason. */
	for (int k = 0; k < count && r->fatal; k++)
		if (items[k].kind != ITEM_FAILED || !items[k].err[0]) {
			msg_fmt(items[k].err, sizeof items[k].err, "not run: %s", r->fatal_msg);
			items[k].kind = ITEM_FAILED;
		}
	for (int k = 0; k < count; k++)
		emit(r, &items[k]);
	release_batch(b);
	return rc < 0 || r->fatal ? -1 : 0;
}

/* The decoding thread's work: one batch to prepare. */
struct prefetch {
	struct run *r;
	struct batch *b;
	const size_t *idx;
	int count;
};

static void *prefetch_main(void *arg)
{
	struct prefetch *pf = arg;
	prepare_batch(pf->r, pf->b, pf->idx, pf->count);
	return NULL;
}

/* Directory endings taken from a folder given as input, by what the model takes. */
static const char *const image_exts[] = {"png", "jpg", "jpeg", "jpe", "jfif", "npy", NULL};
static const char *const cloud_exts[] = {"ply", "xyz", "txt", "npy", NULL};

/* Checks the options against the model; 0 or an exit status with a message. */
static int setup(struct run *r, char *err, size_t errlen)
{
	const struct opts *o = r->o;
	struct input_opts io = {o->inputs, o->n_inputs, o->files_from, o->recursive, o->null_sep, image_exts};
	struct ptar_info pi;
	unsigned char *done;
	long skipped = 0;
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
	r->batch_size = o->batch_size ? o->batch_size : r->spec.batch_size ? r->spec.batch_size : 1;
	if (r->task.def->run_one)
		r->batch_size = 1; /* one input at a time, whatever the manifest's batch */
	r->batch = r->batch_size;
	if (r->inputs & TASK_IN_IMAGE) {
		size_t per = (size_t)r->spec.pre.channels * (size_t)r->spec.pre.height * (size_t)r->spec.pre.width;
		if (per * (size_t)r->batch > ((size_t)1 << 34) / sizeof(float)) {
			msg_fmt(err, errlen, "--batch-size %ld of %dx%d inputs needs more than 16 GiB", r->batch,
			        r->spec.pre.width, r->spec.pre.height);
			return EXIT_USAGE;
		}
		if (!(r->b[0].pix = malloc(per * (size_t)r->batch * sizeof(float))) ||
		    !(r->b[1].pix = malloc(per * (size_t)r->batch * sizeof(float)))) {
			msg_fmt(err, errlen, "out of memory for a batch of %ld", r->batch);
			return EXIT_OOM;
		}
	}
	if (!(r->b[0].items = calloc((size_t)r->batch, sizeof(struct item))) ||
	    !(r->b[1].items = calloc((size_t)r->batch, sizeof(struct item))) ||
	    !(r->group = calloc((size_t)r->batch, sizeof *r->group)) ||
	    !(r->ti = calloc((size_t)r->batch, sizeof *r->ti))) {
		msg_fmt(err, errlen, "out of memory for a batch of %ld", r->batch);
		return EXIT_OOM;
	}
	if (o->save_dir && mkdir(o->save_dir, 0777) < 0 && errno != EEXIST) {
		msg_fmt(err, errlen, "--save-dir '%s': %s", o->save_dir, strerror(errno));
		return EXIT_USAGE;
	}
	if (o->draw_dir && mkdir(o->draw_dir, 0777) < 0 && errno != EEXIST) {
		msg_fmt(err, errlen, "--draw '%s': %s", o->draw_dir, strerror(errno));
		return EXIT_USAGE;
	}
	if (inputs_collect(&io, &r->in, err, errlen) < 0)
		return EXIT_USAGE;
	if (o->shard_n)
		inputs_shard(&r->in, (size_t)o->shard_i, (size_t)o->shard_n);
	if (!(done = calloc(r->in.n + 1, 1)) || !(r->todo = malloc((r->in.n + 1) * sizeof *r->todo))) {
		free(done);
		msg_fmt(err, errlen, "out of memory for %zu inputs", r->in.n);
		return EXIT_OOM;
	}
	if (o->resume && (skipped = resume_scan(o->output, &r->in, done, err, errlen)) < 0) {
		free(done);
		return EXIT_USAGE;
	}
	r->st.skipped = o->resume ? (size_t)skipped : 0;
	for (size_t i = 0; i < r->in.n; i++)
		if (!done[i])
			r->todo[r->n_todo++] = i;
	free(done);
	if (output_open(&r->out, o->output, o->resume, err, errlen) < 0)
		return EXIT_USAGE;
	return 0;
}

int run_main(const struct opts *o, double t_start)
{
	struct run r;
	char err[ERRLEN] = "";
	struct sigaction sa;
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
	if (o->memory_trace && memtrace_start(5, err, sizeof err) < 0) {
		msg_error("%s", err);
		return EXIT_USAGE;
	}
	if ((status = setup(&r, err, sizeof err)) != 0) {
		/* nothing ran; a CI job that asked for a report still gets one */
		msg_error("%s", err);
		r.st.t_end = now_ms();
		snprintf(r.st.device, sizeof r.st.device, "none");
		if (o->report)
			report_write(&r.st, &r.spec, o->report, o->quiet);
		goto out;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	progress_start(&r.prog, o->progress, o->quiet, r.n_todo);
	/* Batch k runs in the model while batch k + 1 is read and decoded on a
	 * second thread: the forward pass is most of the time, and this hides
	 * most of the rest (10 ms of JPEG decoding and letterboxing an image
	 * against 77 ms of Tiny YOLOv2). */
	size_t next = 0, ahead;
	int cur = 0, count = (int)((size_t)r.batch < r.n_todo ? (size_t)r.batch : r.n_todo);
	if (r.n_todo)
		prepare_batch(&r, &r.b[0], r.todo, count);
	while (next < r.n_todo && !stop_signal) {
		struct prefetch pf = {&r, &r.b[cur ^ 1], NULL, 0};
		pthread_t th;
		int threaded = 0, rc;
		ahead = next + (size_t)r.b[cur].count;
		if (ahead < r.n_todo) {
			pf.idx = r.todo + ahead;
			pf.count = (int)((size_t)r.batch < r.n_todo - ahead ? (size_t)r.batch : r.n_todo - ahead);
			threaded = pthread_create(&th, NULL, prefetch_main, &pf) == 0;
		}
		rc = run_batch(&r, &r.b[cur]); /* writes every record of the batch */
		if (next == 0 && r.m.mod)
			memtrace_phase("steady");
		next = ahead;
		progress_update(&r.prog, next, r.st.failed);
		if (threaded)
			pthread_join(th, NULL);
		else if (pf.idx && rc == 0 && !stop_signal)
			prepare_batch(&r, pf.b, pf.idx, pf.count);
		cur ^= 1;
		if (rc < 0 || stop_signal) {
			release_batch(&r.b[cur]); /* read ahead, never run: no record, --resume runs it */
			break;
		}
	}
	progress_end(&r.prog);
	/* A fatal model error still owes the remaining inputs their records. */
	for (; r.fatal && next < r.n_todo && !stop_signal; next++) {
		struct item it = {.index = r.todo[next], .kind = ITEM_FAILED};
		msg_fmt(it.err, sizeof it.err, "not run: %s", r.fatal_msg);
		emit(&r, &it);
	}
	r.st.inputs = r.st.ok + r.st.failed + r.st.skipped;
	if (r.fatal)
		msg_error("%s", r.fatal_msg);
	if (output_close(&r.out, err, sizeof err) < 0)
		msg_error("%s", err);

	r.st.t_end = now_ms();
	report_take_model(&r.st, &r.m, (r.inputs & TASK_IN_IMAGE) != 0);
	r.st.batch_size = r.batch_size;
	r.st.oom_retries += r.task.oom_retries;
	report_write(&r.st, &r.spec, o->report, o->quiet);
	if (o->memory_trace && memtrace_finish(o->memory_trace, o->plot, "tinfer run: memory over time", err,
	                                       sizeof err) < 0)
		msg_error("%s", err);

	status = stop_signal == SIGINT ? EXIT_SIGINT
	       : stop_signal == SIGTERM ? EXIT_SIGTERM
	       : r.fatal ? r.fatal
	       : r.st.oom_failed ? EXIT_OOM
	       : r.out.failed ? EXIT_SOME_FAILED
	       : r.st.failed ? EXIT_SOME_FAILED : EXIT_OK;
out:
	model_close(&r.m);
	task_close(&r.task);
	free(r.group);
	free(r.ti);
	for (int k = 0; k < 2; k++) {
		free(r.b[k].pix);
		free(r.b[k].items);
	}
	free(r.todo);
	inputs_free(&r.in);
	model_spec_free(&r.spec);
	return status;
}
