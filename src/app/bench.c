/* bench.c — see bench.h. */
#include "app/bench.h"
#include "app/gate.h"
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
#include "sys/text.h"
#include "tasks/task.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
	const char *dtype;          /* a .npy input's element type, else NULL */
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
	if (buf && len >= 6 && !memcmp(buf, "\x93NUMPY", 6) && (inputs & TASK_IN_TENSOR)) {
		/* any numeric dtype and shape `run` takes, batched the same way: along a new first axis */
		struct npy a;
		int rc = npy_parse(buf, len, &a, err, errlen);
		free(buf);
		if (rc < 0) {
			char why[ERRLEN];
			snprintf(why, sizeof why, "%s", err);
			msg_fmt(err, errlen, "--input '%s': %s", o->bench_input, why);
			return EXIT_USAGE;
		}
		if ((s->src = model_npy_type(a.dtype)) < 0) {
			msg_fmt(err, errlen, "--input '%s': unsupported tensor dtype %s", o->bench_input, npy_name(a.dtype));
			npy_free(&a);
			return EXIT_USAGE;
		}
		s->ndim = a.ndim;
		memcpy(s->shape, a.shape, sizeof a.shape);
		s->bytes = a.count * npy_itemsize(a.dtype);
		s->sample = a.data;
		s->dtype = npy_name(a.dtype);
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

/* Median of v[n], v left as it is. */
static double median_of(const double *v, int n)
{
	double c[64], *s = n <= 64 ? c : malloc((size_t)n * sizeof *s), m;
	if (!s)
		return v[0];
	memcpy(s, v, (size_t)n * sizeof *s);
	qsort(s, (size_t)n, sizeof *s, by_value);
	m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0;
	if (s != c)
		free(s);
	return m;
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

/* A configuration's name in the memory trace: "b8", "b1 points=1000 prompt-batch=4". */
static void phase_name(const struct task_def *d, const struct config *c, const char *suffix, char *buf, size_t len)
{
	snprintf(buf, len, "b%ld", c->batch);
	for (int k = 0; d->knobs && d->knobs[k]; k++)
		snprintf(buf + strlen(buf), len - strlen(buf), " %s=%ld", d->knobs[k], c->knob[k]);
	snprintf(buf + strlen(buf), len - strlen(buf), "%s", suffix);
}

/*
 * One measurement of a configuration: o->warmup untimed iterations, then
 * o->iters timed ones into ms[0..iters).  Sets *first (the first
 * iteration's time), *rss and *vram (this measurement's peaks; -1 for no
 * VRAM) and *peak_reset (whether the RSS peak could be restarted).  Marks
 * the memory trace's phases when mark.  Returns 0, or -1 with err and
 * *status when an iteration failed.
 */
static int measure(const struct opts *o, struct task *t, struct model *m, const struct source *s,
                   const struct config *c, const unsigned char *batch, const int64_t *shape, int mark, double *ms,
                   double *first, double *rss, double *vram, int *peak_reset, int *status, char *err, size_t errlen)
{
	const struct tch_api *T = m->T;
	const struct task_def *d = t->def;
	int n = (int)o->warmup + (int)o->iters, oom = 0;
	void *scratch = NULL;
	size_t cap = 0;
	struct tch_vram v = {-1, -1, -1, -1};
	char warm[160], timed[160];

	phase_name(d, c, " warm-up", warm, sizeof warm);
	phase_name(d, c, "", timed, sizeof timed);
	*peak_reset = reset_peak_rss() == 0;
	if (m->dev_index >= 0) { /* a phase boundary: the last configuration's cache goes, then the peaks */
		T->tch_cuda_empty_cache();
		T->tch_cuda_reset_peaks(m->dev_index);
	}
	for (int i = 0; i < n; i++) {
		double t0, dt;
		if (mark && i == 0)
			memtrace_phase(o->warmup ? warm : timed);
		if (mark && i == o->warmup && i > 0)
			memtrace_phase(timed);
		t0 = now_ms();
		if (d->run_one) {
			char item_err[ERRLEN] = "";
			struct task_item it = {.rec = json_object(), .name = s->name, .cloud = &s->cloud, .err = item_err};
			enum task_status st = d->run_one(t, m, &it, err, errlen);
			json_decref(it.rec);
			if (st != TASK_OK) {
				*status = st == TASK_OOM ? EXIT_OOM : st == TASK_MODEL ? EXIT_MODEL : EXIT_SOME_FAILED;
				free(scratch);
				return -1;
			}
		} else {
			tch_value *out = model_forward(m, batch, s->src, shape, s->ndim + 1, &oom, err, errlen);
			if (!out) {
				*status = oom ? EXIT_OOM : EXIT_MODEL;
				free(scratch);
				return -1;
			}
			touch(T, out, &scratch, &cap);
			T->tch_value_free(out);
		}
		dt = now_ms() - t0;
		if (i == 0)
			*first = dt;
		if (i >= o->warmup)
			ms[i - o->warmup] = dt;
	}
	free(scratch);
	*rss = (double)mem_peak_rss();
	if (m->dev_index >= 0)
		T->tch_cuda_vram(m->dev_index, &v);
	*vram = (double)v.peak_allocated;
	return 0;
}

/*
 * One configuration, measured o->repeat times.  Its result: latency
 * percentiles (min and max over every sample, p50/p90/p99 the medians of
 * each repeat's, mean and sd over every sample), items/s and peaks (the
 * medians over the repeats), and "figures": each gated figure's median,
 * MAD, min, max and values over the repeats.  NULL with err (and *status)
 * when an iteration failed.
 */
static json_t *bench_config(const struct opts *o, struct task *t, struct model *m, const struct source *s,
                            const struct config *c, int *status, char *err, size_t errlen)
{
	const struct task_def *d = t->def;
	int k = (int)o->iters, reps = (int)o->repeat, peak_reset = 1, on_cuda = m->dev_index >= 0;
	size_t all = (size_t)k * (size_t)reps;
	double *ms = malloc(all * sizeof *ms), *sorted = malloc((size_t)k * sizeof *sorted),
	       *fig = malloc((size_t)reps * (GATE_NFIGURES + 2) * sizeof *fig), first = 0, mean = 0, sd = 0;
	unsigned char *batch = NULL;
	int64_t shape[NPY_MAXDIM + 1];
	json_t *res = NULL, *samples, *figures;

	if (!ms || !sorted || !fig)
		goto oom;
	for (int j = 0; d->knobs && d->knobs[j]; j++)
		d->set_knob(t, d->knobs[j], c->knob[j]);
	t->oom_retries = 0;
	if (!d->run_one) {
		if (!(batch = malloc(s->bytes * (size_t)c->batch + 1)))
			goto oom;
		for (long b = 0; b < c->batch; b++)
			memcpy(batch + s->bytes * (size_t)b, s->sample, s->bytes);
		shape[0] = c->batch;
		memcpy(shape + 1, s->shape, (size_t)s->ndim * sizeof *shape);
	}
	/* fig[f * reps + r]: figure f of repeat r (gate_figures, then p90 and p99) */
	for (int r = 0; r < reps; r++) {
		double *x = ms + (size_t)r * (size_t)k, f1 = 0, rss, vram, rmean = 0;
		int reset;
		if (measure(o, t, m, s, c, batch, shape, r == 0, x, &f1, &rss, &vram, &reset, status, err, errlen) < 0)
			goto fail;
		if (r == 0)
			first = f1;
		peak_reset &= reset;
		for (int i = 0; i < k; i++)
			rmean += x[i];
		rmean /= k;
		memcpy(sorted, x, (size_t)k * sizeof *sorted);
		qsort(sorted, (size_t)k, sizeof *sorted, by_value);
		fig[0 * reps + r] = pct(sorted, k, 0.5);
		fig[1 * reps + r] = (double)c->batch * 1000.0 / rmean;
		fig[2 * reps + r] = rss;
		fig[3 * reps + r] = vram;
		fig[4 * reps + r] = pct(sorted, k, 0.9);
		fig[5 * reps + r] = pct(sorted, k, 0.99);
	}
	free(batch);
	batch = NULL;
	samples = json_array();
	for (size_t i = 0; i < all; i++) {
		json_array_append_new(samples, json_real(r3(ms[i])));
		mean += ms[i];
	}
	mean /= (double)all;
	for (size_t i = 0; i < all; i++)
		sd += (ms[i] - mean) * (ms[i] - mean);
	sd = all > 1 ? sqrt(sd / (double)(all - 1)) : 0.0;
	qsort(ms, all, sizeof *ms, by_value);
	figures = json_object();
	for (int f = 0; f < GATE_NFIGURES; f++)
		json_object_set_new(figures, gate_figures[f].key,
		                    f == 3 && !on_cuda ? json_null() : gate_stats(f, fig + f * reps, reps));
	res = json_pack("{s:I}", "batch_size", (json_int_t)c->batch);
	for (int j = 0; d->knobs && d->knobs[j]; j++) {
		char key[64];
		json_object_set_new(res, knob_key(key, sizeof key, d->knobs[j]), json_integer(c->knob[j]));
	}
	json_object_update_new(
		res, json_pack("{s:I, s:I, s:I, s:{s:f}, s:{s:f, s:f, s:f, s:f, s:f, s:f, s:f}, s:o, s:f}", "warmup",
		               (json_int_t)o->warmup, "iters", (json_int_t)o->iters, "repeat", (json_int_t)reps, "time_ms",
		               "first_inference", r3(first), "latency_ms", "min", r3(ms[0]), "p50",
		               r3(median_of(fig, reps)), "p90", r3(median_of(fig + 4 * reps, reps)), "p99",
		               r3(median_of(fig + 5 * reps, reps)), "max", r3(ms[all - 1]), "mean", r3(mean), "sd", r3(sd),
		               "samples_ms", samples, "items_per_s", num_round(median_of(fig + reps, reps), 2)));
	json_object_set_new(res, "ram_bytes",
	                    json_pack("{s:I, s:b}", "peak", (json_int_t)llround(median_of(fig + 2 * reps, reps)),
	                              "peak_is_per_configuration", peak_reset));
	{
		struct tch_vram v = {-1, -1, -1, -1};
		if (on_cuda)
			m->T->tch_cuda_vram(m->dev_index, &v);
		json_object_set_new(
			res, "vram_bytes",
			json_pack("{s:o, s:o}", "peak_allocated",
			          on_cuda ? json_integer((json_int_t)llround(median_of(fig + 3 * reps, reps))) : json_null(),
			          "peak_reserved", v.peak_reserved >= 0 ? json_integer(v.peak_reserved) : json_null()));
	}
	json_object_set_new(res, "figures", figures);
	if (t->oom_retries)
		json_object_set_new(res, "oom_retries", json_integer(t->oom_retries));
	free(ms);
	free(sorted);
	free(fig);
	return res;
oom:
	msg_fmt(err, errlen, "out of memory");
	*status = EXIT_OOM;
fail:
	free(ms);
	free(sorted);
	free(fig);
	free(batch);
	return NULL;
}

/* Figure k of r for the table: its value in the table's unit (MiB for bytes). */
static double md_value(json_t *r, int k, int *ok)
{
	double v, lo, hi;
	*ok = gate_figure_get(r, k, &v, &lo, &hi) == 0;
	return gate_figures[k].bytes ? v / 1048576.0 : v;
}

/*
 * Prints the results as a Markdown table: a column per knob of the task;
 * with a baseline, its value and the change of each gated figure and the
 * verdict per configuration.
 */
static void print_md(const struct task_def *d, json_t *head, json_t *results)
{
	size_t i;
	json_t *r, *gate = json_object_get(head, "baseline");
	char key[64], num[64];
	int cuda = 0, reps = 1, nfig;

	json_array_foreach(results, i, r) {
		double v, lo, hi;
		cuda |= gate_figure_get(r, 3, &v, &lo, &hi) == 0;
		if (json_integer_value(json_object_get(r, "repeat")) > reps)
			reps = (int)json_integer_value(json_object_get(r, "repeat"));
	}
	nfig = cuda ? 4 : 3;
	printf("## tinfer bench: %s (%s), %s %s%s, %lld threads, libtorch %s, input %s\n\n",
	       json_string_value(json_object_get(head, "model")), json_string_value(json_object_get(head, "file")),
	       json_string_value(json_object_get(head, "device")), json_string_value(json_object_get(head, "dtype")),
	       json_is_true(json_object_get(head, "autocast")) ? " autocast" : "",
	       (long long)json_integer_value(json_object_get(head, "threads")),
	       json_string_value(json_object_get(head, "libtorch")), json_string_value(json_object_get(head, "input")));
	if (json_object_get(head, "when"))
		printf("%s on %s (%s, %lld cores), tinfer %s%s%s\n\n", json_string_value(json_object_get(head, "when")),
		       json_string_value(json_object_get(head, "host")), json_string_value(json_object_get(head, "cpu")),
		       (long long)json_integer_value(json_object_get(head, "cores")),
		       json_string_value(json_object_get(head, "version")), reps > 1 ? "; medians of repeats: " : "",
		       reps > 1 ? gate_plain(reps, num, sizeof num) : "");
	printf("| batch |");
	for (int k = 0; d && d->knobs && d->knobs[k]; k++)
		printf(" %s |", d->knobs[k]);
	printf(" p50 ms |%s p90 ms | p99 ms | min ms | max ms | mean ± sd ms | items/s | peak RSS MiB |%s",
	       reps > 1 ? " p50 MAD ms |" : "", cuda ? " peak VRAM MiB |" : "");
	if (gate)
		printf(" base p50 ms | Δ p50 | base items/s | Δ items/s | base RSS MiB | Δ RSS |%s gate |",
		       cuda ? " base VRAM MiB | Δ VRAM |" : "");
	printf("\n|---:|");
	for (int k = 0; d && d->knobs && d->knobs[k]; k++)
		printf("---:|");
	printf("---:|---:|---:|---:|---:|---:|---:|---:|%s%s", reps > 1 ? "---:|" : "", cuda ? "---:|" : "");
	if (gate)
		printf("---:|---:|---:|---:|---:|---:|%s:---|", cuda ? "---:|---:|" : "");
	printf("\n");
	json_array_foreach(results, i, r) {
		json_t *l = json_object_get(r, "latency_ms"), *vs = json_object_get(r, "vs_baseline");
		int ok;
		printf("| %lld |", (long long)json_integer_value(json_object_get(r, "batch_size")));
		for (int k = 0; d && d->knobs && d->knobs[k]; k++)
			printf(" %lld |", (long long)json_integer_value(json_object_get(r, knob_key(key, sizeof key, d->knobs[k]))));
		printf(" %.3f |", md_value(r, 0, &ok));
		if (reps > 1)
			printf(" %.3f |", json_number_value(json_object_get(json_object_get(json_object_get(r, "figures"), "p50_ms"), "mad")));
		printf(" %.3f | %.3f | %.3f | %.3f | %.3f ± %.3f | %.1f | %.1f |", json_number_value(json_object_get(l, "p90")),
		       json_number_value(json_object_get(l, "p99")), json_number_value(json_object_get(l, "min")),
		       json_number_value(json_object_get(l, "max")), json_number_value(json_object_get(l, "mean")),
		       json_number_value(json_object_get(l, "sd")), md_value(r, 1, &ok), md_value(r, 2, &ok));
		if (cuda)
			printf(" %.1f |", md_value(r, 3, &ok));
		if (gate) {
			const char *verdict = json_is_object(vs) ? "ok" : "new";
			char bad[128] = "";
			for (int k = 0; k < nfig; k++) {
				json_t *c = json_object_get(vs, gate_figures[k].key);
				double b = json_number_value(json_object_get(c, "baseline"));
				const char *v = json_string_value(json_object_get(c, "verdict"));
				if (!c) {
					printf(" | |");
					continue;
				}
				if (gate_figures[k].bytes)
					printf(" %.1f |", b / 1048576.0);
				else
					printf(k == 0 ? " %.3f |" : " %.1f |", b);
				printf(" %+.1f%% |", json_number_value(json_object_get(c, "delta_pct")));
				if (v && !strcmp(v, "regression"))
					snprintf(bad + strlen(bad), sizeof bad - strlen(bad), "%s%s", bad[0] ? ", " : "",
					         gate_figures[k].label);
				else if (v && !strcmp(v, "within noise") && !strcmp(verdict, "ok"))
					verdict = "ok (within noise)";
			}
			if (bad[0])
				printf(" **regression**: %s |", bad);
			else
				printf(" %s |", verdict);
		}
		printf("\n");
	}
	printf("\nload %.1f ms; first inference %.1f ms\n",
	       json_number_value(json_object_get(json_object_get(head, "time_ms"), "load")),
	       json_number_value(json_object_get(json_object_get(json_array_get(results, 0), "time_ms"), "first_inference")));
	if (gate) {
		json_t *miss = json_object_get(gate, "missing"), *c;
		printf("\nbaseline %s: %s", json_string_value(json_object_get(gate, "file")),
		       json_is_true(json_object_get(gate, "pass")) ? "pass" : "**FAIL**");
		printf("; tolerance %s%%", gate_plain(json_number_value(json_object_get(gate, "tolerance_pct")), num, sizeof num));
		printf(", memory %s%%", gate_plain(json_number_value(json_object_get(gate, "memory_tolerance_pct")), num, sizeof num));
		json_array_foreach(json_object_get(gate, "differences"), i, c)
			printf("%s%s", i ? ", " : "; compared across a different ",
			       json_string_value(json_object_get(c, "field")));
		if (json_array_size(json_object_get(gate, "differences")))
			printf(" (--compare-any)");
		json_array_foreach(miss, i, c) {
			char cfg[200];
			gate_config_label(d, c, cfg, sizeof cfg);
			printf("%s%s", i ? ", " : "; missing: ", cfg);
		}
		printf("\n");
	}
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

/*
 * Where and when the run happened, for the head: "when" (UTC, ISO 8601),
 * "host", "cores" (CPUs online) and "command" (argv as an array).
 */
static void provenance(json_t *head, const struct opts *o)
{
	char host[256] = "", when[32] = "";
	time_t now = time(NULL);
	struct tm tm;
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	json_t *argv = json_array();

	if (gmtime_r(&now, &tm))
		strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (gethostname(host, sizeof host - 1) < 0)
		host[0] = '\0';
	for (int i = 0; i < o->argc; i++) { /* an argument that is not UTF-8 gets U+FFFD for its bad bytes */
		char *a = text_utf8_lossy(o->argv[i], strlen(o->argv[i]));
		json_array_append_new(argv, a ? json_string(a) : json_null());
		free(a);
	}
	json_object_set_new(head, "when", json_string(when));
	json_object_set_new(head, "host", host[0] ? json_string(host) : json_null());
	json_object_set_new(head, "cores", cores > 0 ? json_integer(cores) : json_null());
	json_object_set_new(head, "command", argv);
}

/* Writes head and results to stdout as --format asks.  EXIT_WRITE when stdout fails. */
static int emit(const struct opts *o, const struct task_def *d, json_t *head, json_t *results)
{
	if (!strcmp(o->format, "md")) {
		print_md(d, head, results);
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
		json_object_del(head, "results");
	}
	return fflush(stdout) != 0 || ferror(stdout) ? EXIT_WRITE : EXIT_OK;
}

/* --results FILE: gates an earlier result against --baseline without running anything. */
static int gate_only(const struct opts *o, const struct gate_params *g)
{
	char err[ERRLEN];
	json_t *results = NULL, *base = NULL, *summary = json_object();
	json_t *head = gate_load(o->bench_results, &results, err, sizeof err), *base_head = NULL;
	const struct task_def *d;
	int status;

	if (!head) {
		msg_error("--results %s", err);
		status = EXIT_USAGE;
		goto out;
	}
	if (!(base_head = gate_load(o->baseline, &base, err, sizeof err))) {
		msg_error("--baseline %s", err);
		status = EXIT_USAGE;
		goto out;
	}
	d = task_find(json_string_value(json_object_get(head, "task")));
	json_object_set_new(summary, "file", json_string(o->baseline));
	if (gate_check(d, head, base_head, g, summary, err, sizeof err) < 0) {
		msg_error("%s", err);
		status = EXIT_USAGE;
		goto out;
	}
	status = gate_compare(d, results, base, g, summary) ? EXIT_SOME_FAILED : EXIT_OK;
	json_object_set(head, "baseline", summary);
	if (emit(o, d, head, results) != EXIT_OK)
		status = EXIT_WRITE;
out:
	json_decref(summary);
	json_decref(head);
	json_decref(results);
	json_decref(base_head);
	json_decref(base);
	return status;
}

int bench_main(const struct opts *o, double t_start)
{
	struct model_spec sp;
	struct task t = {0};
	struct model m;
	struct source s;
	struct ptar_info pi;
	struct run_stats st = {0};
	struct gate_params g = {o->baseline, o->tolerance, o->memory_tolerance, o->compare_any, o->allow_missing,
	                        o->quiet};
	char err[ERRLEN] = "", cpu[256], sha[65] = "";
	long cloud_points = 0;
	int n_conf, status = EXIT_OK;
	struct config *confs = NULL;
	json_t *head = NULL, *results = json_array(), *base_head = NULL, *base = NULL, *summary = NULL;

	if (o->bench_results) {
		json_decref(results);
		return gate_only(o, &g);
	}
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
	/* a baseline that cannot be read fails before libtorch is even mapped */
	if (o->baseline && !(base_head = gate_load(o->baseline, &base, err, sizeof err))) {
		msg_error("--baseline %s", err);
		status = EXIT_USAGE;
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
	if (sha256_file(sp.file, sha) < 0)
		sha[0] = '\0';
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
	cpu_model(cpu, sizeof cpu);
	st.t_start = t_start;
	st.threads = opts_threads(o);
	st.task = t.def->name;
	st.dtype_requested = o->dtype;
	st.autocast_requested = o->autocast;
	st.fast_decode = o->fast_decode;
	report_take_model(&st, &m, (task_inputs(&t) & TASK_IN_IMAGE) != 0);
	head = report_config(&st, &sp);
	provenance(head, o);
	json_object_set_new(head, "cpu", json_string(cpu));
	json_object_set_new(head, "file_bytes", json_integer((json_int_t)pi.file_size));
	json_object_set_new(head, "sha256", sha[0] ? json_string(sha) : json_null());
	json_object_set_new(head, "input", json_string(s.name));
	json_object_set_new(head, "input_dtype", s.dtype ? json_string(s.dtype) : json_null());
	if (t.def->settings)
		json_object_set_new(head, "task_settings", t.def->settings(&t));
	/* what the model runs as is known now: refuse an incomparable baseline before measuring */
	if (base_head) {
		summary = json_pack("{s:s}", "file", o->baseline);
		if (gate_check(t.def, head, base_head, &g, summary, err, sizeof err) < 0) {
			msg_error("%s", err);
			status = EXIT_USAGE;
			goto out;
		}
	}
	for (int c = 0; c < n_conf && status == EXIT_OK; c++) {
		json_t *r = bench_config(o, &t, &m, &s, &confs[c], &status, err, sizeof err);
		if (!r)
			msg_error("batch %ld: %s", confs[c].batch, err);
		else
			json_array_append_new(results, r);
	}
	if (base && status == EXIT_OK) {
		if (gate_compare(t.def, results, base, &g, summary))
			status = EXIT_SOME_FAILED;
		json_object_set(head, "baseline", summary);
	}
	if (emit(o, t.def, head, results) != EXIT_OK)
		status = EXIT_WRITE;
out:
	if (o->memory_trace && memtrace_finish(o->memory_trace, o->plot, "tinfer bench: memory over time", err,
	                                       sizeof err) < 0) {
		msg_error("%s", err);
		if (status == EXIT_OK || status == EXIT_SOME_FAILED)
			status = EXIT_WRITE;
	}
	json_decref(head);
	json_decref(results);
	json_decref(base_head);
	json_decref(base);
	json_decref(summary);
	free(confs);
	free(s.sample);
	cloud_free(&s.cloud);
	model_close(&m);
	task_close(&t);
	model_spec_free(&sp);
	return status;
}
