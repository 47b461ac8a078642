/* bench.c — see bench.h. */
#include "app/bench.h"
#include "formats/cloud.h"
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
#include "formats/ptar.h"
#include "app/report.h"
#include "sys/num.h"
#include "sys/sha256.h"
#include "tasks/task.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* What one iteration runs on: one sample (replicated to the batch size) or a cloud. */
struct source {
	int src;                    /* element type of sample */
	int ndim;                   /* of one sample */
	int64_t shape[NPY_MAXDIM];
	size_t bytes;               /* of one sample */
	void *sample;
	struct cloud cloud;         /* segment */
	const char *name;           /* "synthetic" or the input's path */
};

/* One configuration: a batch size, and a value of each of the task's knobs (task_def.knobs). */
#define MAXKNOBS 4
struct config {
	long batch;
	long knob[MAXKNOBS];
};

/* The CPU's model name from /proc/cpuinfo, or "unknown". */
static void cpu_model(char *buf, size_t len)
{
	char line[512];
	FILE *f = fopen("/proc/cpuinfo", "re");
	snprintf(buf, len, "unknown");
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
			char *v = strchr(line, ':') + 2;
			v[strcspn(v, "\n")] = '\0';
			snprintf(buf, len, "%s", v);
			break;
		}
	if (f)
		fclose(f);
}

/*
 * The input of every iteration: --input decoded and preprocessed as `run`
 * does, or synthetic (seeded): values of the manifest's input shape, a
 * cloud of cloud_points uniform points.  An exit status with err on failure.
 */
static int make_source(const struct opts *o, const struct task *t, long cloud_points, struct source *s,
                       char *err, size_t errlen)
{
	const struct model_spec *sp = t->spec;
	unsigned inputs = task_inputs(t);
	struct splitmix rng = {o->seed};
	unsigned char *buf = NULL;
	size_t len = 0;

	memset(s, 0, sizeof *s);
	s->name = o->bench_input ? o->bench_input : "synthetic";
	if (o->bench_input && !(buf = inputs_read(o->bench_input, &len, err, errlen))) {
		char why[ERRLEN];
		snprintf(why, sizeof why, "%s", err);
		msg_fmt(err, errlen, "--input '%s': %s", o->bench_input, why);
		return EXIT_USAGE;
	}
	if (inputs & TASK_IN_CLOUD) {
		if (buf) {
			int rc = cloud_read(buf, len, o->bench_input, 100000000, &s->cloud, err, errlen);
			free(buf);
			return rc < 0 ? EXIT_USAGE : 0;
		}
		s->cloud.n = (size_t)cloud_points;
		if (!(s->cloud.xyz = malloc(s->cloud.n * 3 * sizeof(float))))
			return EXIT_OOM;
		for (size_t i = 0; i < s->cloud.n * 3; i++)
			s->cloud.xyz[i] = splitmix_unit(&rng);
		return 0;
	}
	if (buf && len >= 6 && !memcmp(buf, "\x93NUMPY", 6)) {
		struct npy a;
		int rc = npy_parse(buf, len, &a, err, errlen);
		free(buf);
		if (rc < 0 || a.dtype != NPY_F32) { /* keep it simple: float32 tensors, or images */
			if (rc == 0) {
				msg_fmt(err, errlen, "--input: bench takes float32 .npy tensors");
				npy_free(&a);
			}
			return EXIT_USAGE;
		}
		s->src = TCH_F32;
		s->ndim = a.ndim;
		memcpy(s->shape, a.shape, sizeof a.shape);
		s->bytes = a.count * sizeof(float);
		s->sample = a.data;
		return 0;
	}
	if (!(inputs & TASK_IN_IMAGE)) {
		free(buf);
		msg_fmt(err, errlen, "model '%s' has no image input description: give bench --input FILE.npy", sp->name);
		return EXIT_USAGE;
	}
	s->src = TCH_F32;
	s->ndim = 3;
	s->shape[0] = sp->pre.channels;
	s->shape[1] = sp->pre.height;
	s->shape[2] = sp->pre.width;
	s->bytes = (size_t)sp->pre.channels * (size_t)sp->pre.height * (size_t)sp->pre.width * sizeof(float);
	if (!(s->sample = malloc(s->bytes))) {
		free(buf);
		return EXIT_OOM;
	}
	if (buf) {
		struct image img;
		struct geometry g;
		int fw = 0, fh = 0, rc;
		if (o->fast_decode)
			preprocess_decode_target(&sp->pre, buf, len, &fw, &fh);
		rc = image_decode(buf, len, o->max_pixels, fw, fh, &img, err, errlen);
		free(buf);
		if (rc < 0)
			return EXIT_USAGE;
		rc = preprocess_image(&sp->pre, &img, s->sample, &g, err, errlen);
		image_free(&img);
		return rc < 0 ? EXIT_USAGE : 0;
	}
	for (size_t i = 0; i < s->bytes / sizeof(float); i++) /* roughly normalised pixels */
		((float *)s->sample)[i] = splitmix_unit(&rng) * 2.0f - 1.0f;
	return 0;
}

/* Copies every tensor of out to host memory, which waits for the device. */
static void touch(const struct tch_api *T, const tch_value *out, void **scratch, size_t *cap)
{
	int kind = T->tch_value_kind(out);
	if (kind == TCH_TENSOR) {
		int64_t sh[16];
		int nd = T->tch_tensor_shape(out, sh, 16);
		size_t n = 4;
		for (int d = 0; d < nd && d < 16; d++)
			n *= (size_t)sh[d];
		if (n > *cap) {
			void *g = realloc(*scratch, n);
			if (!g)
				return;
			*scratch = g;
			*cap = n;
		}
		T->tch_tensor_copy(out, TCH_F32, *scratch, *cap);
	} else if (kind == TCH_TUPLE || kind == TCH_LIST || kind == TCH_DICT) {
		for (int i = 0; i < T->tch_value_len(out); i++) {
			tch_value *v = T->tch_value_item(out, i);
			if (v)
				touch(T, v, scratch, cap);
			T->tch_value_free(v);
		}
	}
}

/* Lets the kernel start a new high-water mark (Linux >= 4.0); 0 on success. */
static int reset_peak_rss(void)
{
	int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC), ok;
	if (fd < 0)
		return -1;
	ok = write(fd, "5", 1) == 1;
	close(fd);
	return ok ? 0 : -1;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of sorted v[n]. */
static double pct(const double *v, int n, double q)
{
	int k = (int)ceil(q * n) - 1;
	return v[k < 0 ? 0 : k >= n ? n - 1 : k];
}

static double r3(double x) { return num_round(x, 3); }

/* A knob's key in the results: "prompt-batch" -> "prompt_batch". */
static const char *knob_key(char *buf, size_t len, const char *knob)
{
	snprintf(buf, len, "%s", knob);
	for (char *p = buf; *p; p++)
		if (*p == '-')
			*p = '_';
	return buf;
}

/*
 * One configuration: warm-up, then timed iterations.  Returns its result
 * object, or NULL with err (and *status) when an iteration failed.
 */
static json_t *bench_config(const struct opts *o, struct task *t, struct model *m, const struct source *s,
                            const struct config *c, int *status, char *err, size_t errlen)
{
	const struct tch_api *T = m->T;
	const struct task_def *d = t->def;
	int n = (int)o->warmup + (int)o->iters, oom = 0;
	double *ms = malloc((size_t)n * sizeof *ms), first = 0, mean = 0, sd = 0;
	unsigned char *batch = NULL;
	void *scratch = NULL;
	size_t cap = 0;
	int64_t shape[NPY_MAXDIM + 1];
	int peak_reset = reset_peak_rss() == 0;
	json_t *res, *samples;

	if (!ms)
		goto oom;
	if (m->dev_index >= 0) { /* a phase boundary: the last configuration's cache goes, then the peaks */
		T->tch_cuda_empty_cache();
		T->tch_cuda_reset_peaks(m->dev_index);
	}
	for (int k = 0; d->knobs && d->knobs[k]; k++)
		d->set_knob(t, d->knobs[k], c->knob[k]);
	t->oom_retries = 0;
	if (!d->run_one) {
		if (!(batch = malloc(s->bytes * (size_t)c->batch)))
			goto oom;
		for (long b = 0; b < c->batch; b++)
			memcpy(batch + s->bytes * (size_t)b, s->sample, s->bytes);
		shape[0] = c->batch;
		memcpy(shape + 1, s->shape, (size_t)s->ndim * sizeof *shape);
	}
	for (int i = 0; i < n; i++) {
		double t0 = now_ms();
		if (d->run_one) {
			char item_err[ERRLEN] = "";
			struct task_item it = {.rec = json_object(), .name = s->name, .cloud = &s->cloud, .err = item_err};
			enum task_status st = d->run_one(t, m, &it, err, errlen);
			json_decref(it.rec);
			if (st != TASK_OK) {
				*status = st == TASK_OOM ? EXIT_OOM : st == TASK_MODEL ? EXIT_MODEL : EXIT_SOME_FAILED;
				goto fail;
			}
		} else {
			tch_value *out = model_forward(m, batch, s->src, shape, s->ndim + 1, &oom, err, errlen);
			if (!out) {
				*status = oom ? EXIT_OOM : EXIT_MODEL;
				goto fail;
			}
			touch(T, out, &scratch, &cap);
			T->tch_value_free(out);
		}
		ms[i] = now_ms() - t0;
		if (i == 0) {
			first = ms[0];
			memtrace_phase(o->warmup ? "warm-up" : "steady");
		}
		if (i + 1 == o->warmup)
			memtrace_phase("steady");
	}
	free(batch);
	free(scratch);
	{
		double *tm = ms + o->warmup;
		int k = (int)o->iters;
		samples = json_array();
		for (int i = 0; i < k; i++) {
			json_array_append_new(samples, json_real(r3(tm[i])));
			mean += tm[i];
		}
		mean /= k;
		for (int i = 0; i < k; i++)
			sd += (tm[i] - mean) * (tm[i] - mean);
		sd = k > 1 ? sqrt(sd / (k - 1)) : 0.0;
		qsort(tm, (size_t)k, sizeof *tm, by_value);
		res = json_pack("{s:I}", "batch_size", (json_int_t)c->batch);
		for (int j = 0; d->knobs && d->knobs[j]; j++) {
			char key[64];
			json_object_set_new(res, knob_key(key, sizeof key, d->knobs[j]), json_integer(c->knob[j]));
		}
		json_object_update_new(
			res, json_pack("{s:I, s:I, s:{s:f}, s:{s:f, s:f, s:f, s:f, s:f, s:f, s:f}, s:o, s:f}",
			               "warmup", (json_int_t)o->warmup, "iters", (json_int_t)o->iters, "time_ms",
			               "first_inference", r3(first), "latency_ms", "min", r3(tm[0]), "p50",
			               r3(pct(tm, k, 0.5)), "p90", r3(pct(tm, k, 0.9)), "p99", r3(pct(tm, k, 0.99)), "max",
			               r3(tm[k - 1]), "mean", r3(mean), "sd", r3(sd), "samples_ms", samples, "items_per_s",
			               num_round((double)c->batch * 1000.0 / mean, 2)));
	}
	free(ms);
	{
		struct tch_vram v = {-1, -1, -1, -1};
		if (m->dev_index >= 0)
			T->tch_cuda_vram(m->dev_index, &v);
		json_object_set_new(res, "ram_bytes", json_pack("{s:I, s:b}", "peak", (json_int_t)mem_peak_rss(),
		                                                "peak_is_per_configuration", peak_reset));
		json_object_set_new(res, "vram_bytes",
		                    json_pack("{s:o, s:o}", "peak_allocated",
		                              v.peak_allocated >= 0 ? json_integer(v.peak_allocated) : json_null(),
		                              "peak_reserved", v.peak_reserved >= 0 ? json_integer(v.peak_reserved) : json_null()));
		if (t->oom_retries)
			json_object_set_new(res, "oom_retries", json_integer(t->oom_retries));
	}
	return res;
oom:
	msg_fmt(err, errlen, "out of memory");
	*status = EXIT_OOM;
fail:
	free(ms);
	free(batch);
	free(scratch);
	return NULL;
}

/* The fields that make two results comparable: batch size and the task's knobs. */
static int same_config(const struct task_def *d, json_t *a, json_t *b)
{
	if (!json_equal(json_object_get(a, "batch_size"), json_object_get(b, "batch_size")))
		return 0;
	for (int k = 0; d->knobs && d->knobs[k]; k++) {
		char key[64];
		knob_key(key, sizeof key, d->knobs[k]);
		if (!json_equal(json_object_get(a, key), json_object_get(b, key)))
			return 0;
	}
	return 1;
}

/* Results of an earlier run: --format json ({"results": [...]}) or jsonl. NULL with err. */
static json_t *load_baseline(const char *path, char *err, size_t errlen)
{
	json_error_t je;
	json_t *all = json_load_file(path, JSON_DISABLE_EOF_CHECK, &je), *list;
	if (json_is_object(all) && json_is_array(json_object_get(all, "results"))) {
		list = json_incref(json_object_get(all, "results"));
		json_decref(all);
		return list;
	}
	json_decref(all);
	{
		FILE *f = fopen(path, "re");
		char *line = NULL;
		size_t cap = 0;
		if (!f) {
			msg_fmt(err, errlen, "--baseline '%s': %s", path, strerror(errno));
			return NULL;
		}
		list = json_array();
		while (getline(&line, &cap, f) > 0) {
			json_t *o = json_loads(line, 0, &je);
			if (json_is_object(o) && json_object_get(o, "latency_ms"))
				json_array_append(list, o);
			json_decref(o);
		}
		free(line);
		fclose(f);
	}
	if (json_array_size(list) == 0) {
		msg_fmt(err, errlen, "--baseline '%s': no bench results in it", path);
		json_decref(list);
		return NULL;
	}
	return list;
}

/* Compares each result with its baseline; prints the differences; 1 on a regression. */
static int compare(const struct task_def *d, json_t *results, json_t *base, double tol, int quiet)
{
	size_t i, j;
	json_t *r, *b;
	int worse = 0, matched = 0;
	json_array_foreach(results, i, r) {
		json_array_foreach(base, j, b) {
			static const struct {
				const char *obj, *key, *label;
				int higher_is_worse;
			} m[] = {{"latency_ms", "p50", "p50 latency", 1}, {NULL, "items_per_s", "items/s", 0},
			         {"ram_bytes", "peak", "peak RSS", 1}};
			if (!same_config(d, r, b))
				continue;
			matched++;
			for (int k = 0; k < 3; k++) {
				json_t *x = m[k].obj ? json_object_get(json_object_get(r, m[k].obj), m[k].key) : json_object_get(r, m[k].key);
				json_t *y = m[k].obj ? json_object_get(json_object_get(b, m[k].obj), m[k].key) : json_object_get(b, m[k].key);
				double now = json_number_value(x), was = json_number_value(y), change;
				if (!json_is_number(x) || !json_is_number(y) || was == 0)
					continue;
				change = (now - was) / was * 100.0;
				if (m[k].higher_is_worse ? change > tol : -change > tol) {
					worse = 1;
					msg_error("regression at batch %lld: %s %.4g, baseline %.4g (%+.1f%%, tolerance %g%%)",
					          (long long)json_integer_value(json_object_get(r, "batch_size")), m[k].label, now,
					          was, change, tol);
				} else if (!quiet) {
					msg_info("batch %lld: %s %.4g, baseline %.4g (%+.1f%%)",
					         (long long)json_integer_value(json_object_get(r, "batch_size")), m[k].label, now,
					         was, change);
				}
			}
			break;
		}
	}
	if (!matched) {
		msg_error("--baseline: no configuration in common with this run");
		return 1;
	}
	return worse;
}

/* Prints the results as a Markdown table: a column per knob of the task. */
static void print_md(const struct task_def *d, json_t *head, json_t *results)
{
	size_t i;
	json_t *r;
	char key[64];
	printf("## tinfer bench: %s (%s), %s %s%s, %lld threads, libtorch %s, input %s\n\n",
	       json_string_value(json_object_get(head, "model")), json_string_value(json_object_get(head, "file")),
	       json_string_value(json_object_get(head, "device")), json_string_value(json_object_get(head, "dtype")),
	       json_is_true(json_object_get(head, "autocast")) ? " autocast" : "",
	       (long long)json_integer_value(json_object_get(head, "threads")),
	       json_string_value(json_object_get(head, "libtorch")), json_string_value(json_object_get(head, "input")));
	printf("| batch |");
	for (int k = 0; d->knobs && d->knobs[k]; k++)
		printf(" %s |", d->knobs[k]);
	printf(" p50 ms | p90 ms | p99 ms | min ms | max ms | mean ± sd ms | items/s | peak RSS MiB |\n|---:|");
	for (int k = 0; d->knobs && d->knobs[k]; k++)
		printf("---:|");
	printf("---:|---:|---:|---:|---:|---:|---:|---:|\n");
	json_array_foreach(results, i, r) {
		json_t *l = json_object_get(r, "latency_ms");
		printf("| %lld |", (long long)json_integer_value(json_object_get(r, "batch_size")));
		for (int k = 0; d->knobs && d->knobs[k]; k++)
			printf(" %lld |", (long long)json_integer_value(json_object_get(r, knob_key(key, sizeof key, d->knobs[k]))));
		printf(" %.2f | %.2f | %.2f | %.2f | %.2f | %.2f ± %.2f | %.1f | %.1f |\n",
		       json_number_value(json_object_get(l, "p50")), json_number_value(json_object_get(l, "p90")),
		       json_number_value(json_object_get(l, "p99")), json_number_value(json_object_get(l, "min")),
		       json_number_value(json_object_get(l, "max")), json_number_value(json_object_get(l, "mean")),
		       json_number_value(json_object_get(l, "sd")), json_number_value(json_object_get(r, "items_per_s")),
		       (double)json_integer_value(json_object_get(json_object_get(r, "ram_bytes"), "peak")) / 1048576.0);
	}
	printf("\nload %.1f ms; first inference %.1f ms\n", json_number_value(json_object_get(json_object_get(head, "time_ms"), "load")),
	       json_number_value(json_object_get(json_object_get(json_array_get(results, 0), "time_ms"), "first_inference")));
}

/*
 * The configurations to run: every combination of the batch sizes (-b) and
 * of the values of each of the task's knobs (its list option, else its
 * setting).  A task that runs one input at a time takes batch 1 only.
 * Returns the number of configurations (at most max), or -1 with err.
 */
static int configurations(const struct opts *o, const struct task *t, struct config *out, int max, char *err,
                          size_t errlen)
{
	const struct task_def *d = t->def;
	json_t *set = d->settings ? d->settings(t) : NULL;
	long one_batch = o->batch_size ? o->batch_size : t->spec->batch_size ? t->spec->batch_size : 1;
	long fixed[MAXKNOBS];
	const long *lists[MAXKNOBS + 1];
	int lens[MAXKNOBS + 1], nk = 0, total = 1;

	lists[0] = opts_list(o, "batch-size", &lens[0]);
	if (!lists[0]) {
		lists[0] = &one_batch;
		lens[0] = 1;
	}
	if (d->run_one && (lens[0] > 1 || lists[0][0] != 1) && o->n_batch) {
		msg_fmt(err, errlen, "task %s runs one input at a time: -b does not apply%s%s", d->name,
		        d->knobs ? "; vary its knobs instead, e.g. --" : "", d->knobs ? d->knobs[0] : "");
		json_decref(set);
		return -1;
	}
	if (d->run_one)
		lists[0] = &one_batch, lens[0] = 1, one_batch = 1;
	for (; d->knobs && d->knobs[nk] && nk < MAXKNOBS; nk++) {
		char key[64];
		lists[nk + 1] = opts_list(o, d->knobs[nk], &lens[nk + 1]);
		if (!lists[nk + 1]) {
			fixed[nk] = (long)json_integer_value(json_object_get(set, knob_key(key, sizeof key, d->knobs[nk])));
			lists[nk + 1] = &fixed[nk];
			lens[nk + 1] = 1;
		}
	}
	json_decref(set);
	for (int k = 0; k <= nk; k++)
		total *= lens[k];
	if (total > max) {
		msg_fmt(err, errlen, "%d configurations: at most %d at a time", total, max);
		return -1;
	}
	for (int c = 0; c < total; c++) {
		int rest = c;
		for (int k = nk; k >= 0; k--) { /* the last list varies fastest */
			long v = lists[k][rest % lens[k]];
			rest /= lens[k];
			if (k == 0)
				out[c].batch = v;
			else
				out[c].knob[k - 1] = v;
		}
	}
	return total;
}

int bench_main(const struct opts *o, double t_start)
{
	struct model_spec sp;
	struct task t = {0};
	struct model m;
	struct source s;
	struct ptar_info pi;
	struct run_stats st = {0};
	char err[ERRLEN] = "", cpu[256], sha[65] = "";
	long cloud_points = 0;
	int n_conf, status = EXIT_OK;
	struct config *confs = NULL;
	json_t *head = NULL, *results = json_array();

	memset(&m, 0, sizeof m);
	m.dev_index = -1;
	memset(&s, 0, sizeof s);
	if (manifest_resolve(o->model, o->models_file, &sp, err, sizeof err) < 0) {
		msg_error("%s", err);
		json_decref(results);
		return EXIT_MODEL;
	}
	if ((status = task_open(&t, &sp, o, err, sizeof err)) != 0) {
		msg_error("%s", err);
		goto out;
	}
	if (opts_check_task(o, t.def->name, t.def->options, (task_inputs(&t) & TASK_IN_IMAGE) != 0, sp.name, err,
	                    sizeof err) < 0) {
		msg_error("%s", err);
		status = EXIT_USAGE;
		goto out;
	}
	if (ptar_stat_dir(sp.file, &pi, err, sizeof err) < 0) {
		msg_error("model '%s': '%s': %s", sp.name, sp.file, err);
		status = EXIT_MODEL;
		goto out;
	}
	if (!(confs = calloc(4096, sizeof *confs))) {
		status = EXIT_OOM;
		goto out;
	}
	if ((n_conf = configurations(o, &t, confs, 4096, err, sizeof err)) < 0) {
		msg_error("%s", err);
		status = EXIT_USAGE;
		goto out;
	}
	/* a synthetic cloud: twice the most points any configuration samples */
	for (int k = 0; t.def->knobs && t.def->knobs[k]; k++)
		if (!strcmp(t.def->knobs[k], "points"))
			for (int c = 0; c < n_conf; c++)
				if (2 * confs[c].knob[k] > cloud_points)
					cloud_points = 2 * confs[c].knob[k];
	if (o->memory_trace && memtrace_start(5, err, sizeof err) < 0) {
		msg_error("%s", err);
		status = EXIT_USAGE;
		goto out;
	}
	if ((status = make_source(o, &t, cloud_points ? cloud_points : 30000, &s, err, sizeof err)) != 0) {
		msg_error("%s", err);
		goto out;
	}
	memtrace_phase("load");
	{
		struct model_params p = {.device = o->device,
		                         .dtype = o->dtype,
		                         .autocast = o->autocast,
		                         .memory_format = o->memory_format,
		                         .threads = opts_threads(o)};
		if ((status = model_open(&m, sp.file, sp.name, &p, err, sizeof err)) != 0) {
			msg_error("%s", err);
			goto out;
		}
	}
	t.T = m.T;
	if (m.dev_index >= 0)
		memtrace_vram(m.T, m.dev_index);
	memtrace_phase("first batch");
	for (int c = 0; c < n_conf && status == EXIT_OK; c++) {
		json_t *r = bench_config(o, &t, &m, &s, &confs[c], &status, err, sizeof err);
		if (!r)
			msg_error("batch %ld: %s", confs[c].batch, err);
		else
			json_array_append_new(results, r);
	}
	cpu_model(cpu, sizeof cpu);
	if (sha256_file(sp.file, sha) < 0)
		sha[0] = '\0';
	st.t_start = t_start;
	st.threads = opts_threads(o);
	st.task = t.def->name;
	st.dtype_requested = o->dtype;
	st.autocast_requested = o->autocast;
	st.fast_decode = o->fast_decode;
	report_take_model(&st, &m, (task_inputs(&t) & TASK_IN_IMAGE) != 0);
	head = report_config(&st, &sp);
	json_object_set_new(head, "cpu", json_string(cpu));
	json_object_set_new(head, "file_bytes", json_integer((json_int_t)pi.file_size));
	json_object_set_new(head, "sha256", sha[0] ? json_string(sha) : json_null());
	json_object_set_new(head, "input", json_string(s.name));
	if (t.def->settings)
		json_object_set_new(head, "task_settings", t.def->settings(&t));
	if (!strcmp(o->format, "md")) {
		print_md(t.def, head, results);
	} else if (!strcmp(o->format, "jsonl")) {
		size_t i;
		json_t *r;
		json_array_foreach(results, i, r) {
			json_t *one = json_deep_copy(head), *v;
			const char *key;
			json_object_foreach(r, key, v) { /* time_ms, ram_bytes, vram_bytes: both halves */
				json_t *h = json_object_get(one, key);
				if (json_is_object(h) && json_is_object(v))
					json_object_update(h, v);
				else
					json_object_set(one, key, v);
			}
			json_dumpf(one, stdout, OUTPUT_JSON_FLAGS);
			putchar('\n');
			json_decref(one);
		}
	} else {
		json_object_set(head, "results", results);
		json_dumpf(head, stdout, OUTPUT_JSON_FLAGS);
		putchar('\n');
	}
	if (o->baseline && status == EXIT_OK) {
		json_t *base = load_baseline(o->baseline, err, sizeof err);
		if (!base) {
			msg_error("%s", err);
			status = EXIT_USAGE;
		} else {
			if (compare(t.def, results, base, o->tolerance, o->quiet))
				status = EXIT_SOME_FAILED;
			json_decref(base);
		}
	}
out:
	if (o->memory_trace && memtrace_finish(o->memory_trace, o->plot, "tinfer bench: memory over time", err,
	                                       sizeof err) < 0)
		msg_error("%s", err);
	json_decref(head);
	json_decref(results);
	free(confs);
	free(s.sample);
	cloud_free(&s.cloud);
	model_close(&m);
	task_close(&t);
	model_spec_free(&sp);
	return status;
}
