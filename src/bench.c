/* bench.c — see bench.h. */
#include "bench.h"
#include "cloud.h"
#include "image.h"
#include "inputs.h"
#include "manifest.h"
#include "memstat.h"
#include "memtrace.h"
#include "model.h"
#include "msg.h"
#include "npy.h"
#include "output.h"
#include "preprocess.h"
#include "ptar.h"
#include "segment.h"
#include "segment_task.h"
#include "sha256.h"

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

struct config {
	long batch, points, prompt_batch;
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

/* splitmix64 as a float in [0, 1). */
static float unit(struct splitmix *r) { return (float)(splitmix_next(r) >> 40) / (float)(1 << 24); }

/*
 * The input of every iteration: --input decoded and preprocessed as `run`
 * does, or synthetic (seeded): values of the manifest's input shape, a
 * cloud of uniform points.  An exit status with err on failure.
 */
static int make_source(const struct opts *o, const struct model_spec *sp, long max_points, struct source *s,
                       char *err, size_t errlen)
{
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
	if (sp->task == TASK_SEGMENT) {
		if (buf) {
			int rc = cloud_read(buf, len, o->bench_input, 100000000, &s->cloud, err, errlen);
			free(buf);
			return rc < 0 ? EXIT_USAGE : 0;
		}
		s->cloud.n = (size_t)max_points * 2;
		if (!(s->cloud.xyz = malloc(s->cloud.n * 3 * sizeof(float))))
			return EXIT_OOM;
		for (size_t i = 0; i < s->cloud.n * 3; i++)
			s->cloud.xyz[i] = unit(&rng);
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
	if (!sp->has_input) {
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
		((float *)s->sample)[i] = unit(&rng) * 2.0f - 1.0f;
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

static double r3(double x) { return round(x * 1000.0) / 1000.0; }

/*
 * One configuration: warm-up, then timed iterations.  Returns its result
 * object, or NULL with err (and *status) when an iteration failed.
 */
static json_t *bench_config(const struct opts *o, const struct model_spec *sp, long prompts, struct model *m,
                            const struct source *s, const struct config *c, int *status, char *err, size_t errlen)
{
	const struct tch_api *T = m->T;
	int n = (int)o->warmup + (int)o->iters, oom = 0, segment = sp->task == TASK_SEGMENT;
	double *ms = malloc((size_t)n * sizeof *ms), first = 0, mean = 0, sd = 0;
	unsigned char *batch = NULL;
	void *scratch = NULL;
	size_t cap = 0;
	int64_t shape[NPY_MAXDIM + 1];
	long prompt_batch = c->prompt_batch;
	int oom_retries = 0, peak_reset = reset_peak_rss() == 0;
	json_t *res, *samples;

	if (!ms)
		goto oom;
	if (m->dev_index >= 0)
		T->tch_cuda_reset_peaks(m->dev_index);
	if (!segment) {
		if (!(batch = malloc(s->bytes * (size_t)c->batch)))
			goto oom;
		for (long b = 0; b < c->batch; b++)
			memcpy(batch + s->bytes * (size_t)b, s->sample, s->bytes);
		shape[0] = c->batch;
		memcpy(shape + 1, s->shape, (size_t)s->ndim * sizeof *shape);
	}
	for (int i = 0; i < n; i++) {
		double t0 = now_ms();
		if (segment) {
			struct seg_ctx sc = {T, m->mod, m->device, model_float_type(m), m->autocast, c->points, prompts,
			                     &prompt_batch, &oom_retries, o->seed, o->min_score, NULL};
			json_t *rec = json_object();
			enum seg_status st = segment_cloud(&sc, &s->cloud, 0, s->name, rec, err, errlen);
			json_decref(rec);
			if (st != SEG_OK) {
				*status = st == SEG_OOM ? EXIT_OOM : st == SEG_MODEL ? EXIT_MODEL : EXIT_SOME_FAILED;
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
		double *t = ms + o->warmup;
		int k = (int)o->iters;
		samples = json_array();
		for (int i = 0; i < k; i++) {
			json_array_append_new(samples, json_real(r3(t[i])));
			mean += t[i];
		}
		mean /= k;
		for (int i = 0; i < k; i++)
			sd += (t[i] - mean) * (t[i] - mean);
		sd = k > 1 ? sqrt(sd / (k - 1)) : 0.0;
		qsort(t, (size_t)k, sizeof *t, by_value);
		res = json_pack("{s:I, s:o, s:o, s:o, s:I, s:I, s:{s:f}, s:{s:f, s:f, s:f, s:f, s:f, s:f, s:f}, s:o, s:f}",
		                "batch_size", (json_int_t)(segment ? 1 : c->batch),
		                "points", segment ? json_integer(c->points) : json_null(),
		                "prompts", segment ? json_integer(prompts) : json_null(),
		                "prompt_batch", segment ? json_integer(c->prompt_batch) : json_null(),
		                "warmup", (json_int_t)o->warmup, "iters", (json_int_t)o->iters,
		                "time_ms", "first_inference", r3(first),
		                "latency_ms", "min", r3(t[0]), "p50", r3(pct(t, k, 0.5)), "p90", r3(pct(t, k, 0.9)), "p99",
		                r3(pct(t, k, 0.99)), "max", r3(t[k - 1]), "mean", r3(mean), "sd", r3(sd),
		                "samples_ms", samples,
		                "items_per_s", round((segment ? 1.0 : (double)c->batch) * 1000.0 / mean * 100.0) / 100.0);
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
		if (oom_retries)
			json_object_set_new(res, "oom_retries", json_integer(oom_retries));
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

/* The fields that make two results comparable. */
static int same_config(json_t *a, json_t *b)
{
	static const char *const keys[] = {"batch_size", "points", "prompt_batch", "prompts"};
	for (int i = 0; i < 4; i++)
		if (!json_equal(json_object_get(a, keys[i]), json_object_get(b, keys[i])) &&
		    !(json_is_null(json_object_get(a, keys[i])) && !json_object_get(b, keys[i])))
			return 0;
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
static int compare(json_t *results, json_t *base, double tol, int quiet)
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
			if (!same_config(r, b))
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

/* Prints the results as a Markdown table. */
static void print_md(json_t *head, json_t *results)
{
	size_t i;
	json_t *r;
	printf("## tinfer bench: %s (%s), %s %s%s, %lld threads, libtorch %s, input %s\n\n",
	       json_string_value(json_object_get(head, "model")), json_string_value(json_object_get(head, "file")),
	       json_string_value(json_object_get(head, "device")), json_string_value(json_object_get(head, "dtype")),
	       json_is_true(json_object_get(head, "autocast")) ? " autocast" : "",
	       (long long)json_integer_value(json_object_get(head, "threads")),
	       json_string_value(json_object_get(head, "libtorch")), json_string_value(json_object_get(head, "input")));
	printf("| batch | points | prompt batch | p50 ms | p90 ms | p99 ms | min ms | max ms | mean ± sd ms | items/s | peak RSS MiB |\n"
	       "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
	json_array_foreach(results, i, r) {
		json_t *l = json_object_get(r, "latency_ms");
		char pts[32] = "-", pb[32] = "-";
		if (json_is_integer(json_object_get(r, "points")))
			snprintf(pts, sizeof pts, "%lld", (long long)json_integer_value(json_object_get(r, "points")));
		if (json_is_integer(json_object_get(r, "prompt_batch")))
			snprintf(pb, sizeof pb, "%lld", (long long)json_integer_value(json_object_get(r, "prompt_batch")));
		printf("| %lld | %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f ± %.2f | %.1f | %.1f |\n",
		       (long long)json_integer_value(json_object_get(r, "batch_size")), pts, pb,
		       json_number_value(json_object_get(l, "p50")), json_number_value(json_object_get(l, "p90")),
		       json_number_value(json_object_get(l, "p99")), json_number_value(json_object_get(l, "min")),
		       json_number_value(json_object_get(l, "max")), json_number_value(json_object_get(l, "mean")),
		       json_number_value(json_object_get(l, "sd")), json_number_value(json_object_get(r, "items_per_s")),
		       (double)json_integer_value(json_object_get(json_object_get(r, "ram_bytes"), "peak")) / 1048576.0);
	}
	printf("\nload %.1f ms; first inference %.1f ms\n", json_number_value(json_object_get(json_object_get(head, "time_ms"), "load")),
	       json_number_value(json_object_get(json_object_get(json_array_get(results, 0), "time_ms"), "first_inference")));
}

int bench_main(const struct opts *o, double t_start)
{
	struct model_spec sp;
	struct run_settings set;
	struct model m;
	struct source s;
	struct ptar_info pi;
	char err[ERRLEN] = "", cpu[256], sha[65] = "";
	long threads = opts_threads(o);
	long one_batch[1], one_points[1], one_pb[1], max_points = 0;
	const long *bl, *pl, *pbl;
	int nb, np, npb, status = EXIT_OK;
	json_t *head = NULL, *results = json_array();

	memset(&m, 0, sizeof m);
	m.dev_index = -1;
	memset(&s, 0, sizeof s);
	if (manifest_resolve(o->model, o->models_file, &sp, err, sizeof err) < 0) {
		msg_error("%s", err);
		return EXIT_MODEL;
	}
	if (o->task)
		sp.task = (enum task)task_parse(o->task);
	if (ptar_stat(sp.file, &pi, err, sizeof err) < 0) {
		msg_error("model '%s': '%s': %s", sp.name, sp.file, err);
		status = EXIT_MODEL;
		goto out;
	}
	/* the lists: -b for models of batched inputs, points and prompt batch for segment */
	manifest_settings(&sp, o, &set);
	one_batch[0] = set.batch_size;
	one_points[0] = set.points;
	one_pb[0] = set.prompt_batch;
	bl = o->n_batch ? o->batch_list : one_batch, nb = o->n_batch ? o->n_batch : 1;
	pl = o->n_points ? o->points_list : one_points, np = o->n_points ? o->n_points : 1;
	pbl = o->n_prompt_batch ? o->prompt_batch_list : one_pb, npb = o->n_prompt_batch ? o->n_prompt_batch : 1;
	if (sp.task == TASK_SEGMENT ? o->n_batch > 0 : (o->n_points > 0 || o->n_prompt_batch > 0)) {
		msg_error(sp.task == TASK_SEGMENT ? "a segment model runs one cloud at a time: vary --points and --prompt-batch"
		                                  : "--points and --prompt-batch are for segment models");
		status = EXIT_USAGE;
		goto out;
	}
	if (sp.task != TASK_SEGMENT)
		np = npb = 1;
	else
		segment_memory_policy();
	for (int i = 0; i < np; i++)
		if (pl[i] > max_points)
			max_points = pl[i];
	if (o->memory_trace && memtrace_start(5, err, sizeof err) < 0) {
		msg_error("%s", err);
		status = EXIT_USAGE;
		goto out;
	}
	if ((status = make_source(o, &sp, max_points, &s, err, sizeof err)) != 0) {
		msg_error("%s", err);
		goto out;
	}
	memtrace_phase("load");
	if ((status = model_open(&m, &sp, o, threads, err, sizeof err)) != 0) {
		msg_error("%s", err);
		goto out;
	}
	if (m.dev_index >= 0)
		memtrace_vram(m.T, m.dev_index);
	memtrace_phase("first batch");
	for (int b = 0; b < nb && status == EXIT_OK; b++)
		for (int p = 0; p < np && status == EXIT_OK; p++)
			for (int q = 0; q < npb && status == EXIT_OK; q++) {
				struct config c = {bl[b], pl[p], pbl[q]};
				json_t *r = bench_config(o, &sp, set.prompts, &m, &s, &c, &status, err, sizeof err);
				if (!r)
					msg_error("batch %ld: %s", c.batch, err);
				else
					json_array_append_new(results, r);
			}
	cpu_model(cpu, sizeof cpu);
	if (sha256_file(sp.file, sha) < 0)
		sha[0] = '\0';
	head = json_object();
	json_object_set_new(head, "tool", json_string("tinfer"));
	json_object_set_new(head, "version", json_string(TINFER_VERSION));
	json_object_set_new(head, "libtorch", json_string(m.T->tch_version()));
	json_object_set_new(head, "cpu", json_string(cpu));
	json_object_set_new(head, "model", json_string(sp.name));
	json_object_set_new(head, "file", json_string(sp.file));
	json_object_set_new(head, "file_bytes", json_integer((json_int_t)pi.file_size));
	json_object_set_new(head, "sha256", sha[0] ? json_string(sha) : json_null());
	json_object_set_new(head, "task", json_string(task_name(sp.task)));
	json_object_set_new(head, "input", json_string(s.name));
	json_object_set_new(head, "device", json_string(m.device));
	json_object_set_new(head, "dtype", json_string(dtype_name(m.dtype)));
	json_object_set_new(head, "dtype_requested", json_string(dtype_name(o->dtype)));
	json_object_set_new(head, "fallback", m.fallback[0] ? json_string(m.fallback) : json_null());
	json_object_set_new(head, "autocast", json_boolean(m.autocast));
	json_object_set_new(head, "memory_format", sp.has_input ? json_string(m.channels_last ? "channels-last" : "contiguous")
	                                                       : json_null());
	json_object_set_new(head, "threads", json_integer(threads));
	json_object_set_new(head, "time_ms", json_pack("{s:f, s:f}", "startup", r3(m.t_load0 - t_start), "load",
	                                               r3(m.t_load1 - m.t_load0)));
	json_object_set_new(head, "ram_bytes", json_pack("{s:I}", "after_load", (json_int_t)m.ram_after_load));
	json_object_set_new(head, "vram_bytes", json_pack("{s:o}", "load_peak",
	                                                  m.vram_load_peak > 0 ? json_integer(m.vram_load_peak) : json_null()));
	if (!strcmp(o->format, "md")) {
		print_md(head, results);
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
			if (compare(results, base, o->tolerance, o->quiet))
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
	free(s.sample);
	cloud_free(&s.cloud);
	model_close(&m);
	model_spec_free(&sp);
	return status;
}
