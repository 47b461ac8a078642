/* gate.c — see gate.h. */
#include "app/gate.h"
#include "sys/msg.h"
#include "sys/num.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct gate_figure gate_figures[GATE_NFIGURES] = {
	{"p50_ms", "p50 latency", 0, 1},
	{"items_per_s", "items/s", 0, 0},
	{"peak_rss_bytes", "peak RSS", 1, 1},
	{"peak_vram_bytes", "peak VRAM", 1, 1},
};

/* Where an older result (no "figures") keeps figure k: object, key. */
static const char *const legacy[GATE_NFIGURES][2] = {
	{"latency_ms", "p50"}, {NULL, "items_per_s"}, {"ram_bytes", "peak"}, {"vram_bytes", "peak_allocated"}};

/* Each figure's tolerance is the memory one for bytes. */
static double tolerance_of(int k, const struct gate_params *g)
{
	return gate_figures[k].bytes ? g->memory_tolerance : g->tolerance;
}

const char *gate_plain(double x, char *buf, size_t len)
{
	char *p;
	snprintf(buf, len, "%.6f", x);
	if (strchr(buf, '.')) {
		for (p = buf + strlen(buf) - 1; *p == '0'; p--)
			*p = '\0';
		if (*p == '.')
			*p = '\0';
	}
	if (!strcmp(buf, "-0"))
		snprintf(buf, len, "0");
	return buf;
}

/* A figure's value for people: "1.23 ms", "163.5 MiB", "1716.4". */
static const char *human(int k, double v, char *buf, size_t len)
{
	if (gate_figures[k].bytes)
		snprintf(buf, len, "%.1f MiB", v / 1048576.0);
	else if (k == 0)
		snprintf(buf, len, "%.3f ms", v);
	else
		snprintf(buf, len, "%.1f", v);
	return buf;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median of v[n] (sorted in place). */
static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, by_value);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* A figure's number as JSON: bytes as integers, ms to 3 decimals, rates to 2. */
static json_t *number(int k, double x)
{
	if (gate_figures[k].bytes)
		return json_integer((json_int_t)llround(x));
	return json_real(num_round(x, k == 0 ? 3 : 2));
}

json_t *gate_stats(int k, const double *v, int n)
{
	double *s = malloc((size_t)n * 2 * sizeof *s), med, mad;
	json_t *o, *values = json_array();
	if (!s || n < 1) {
		free(s);
		json_decref(values);
		return json_null();
	}
	for (int i = 0; i < n; i++) {
		s[i] = v[i];
		json_array_append_new(values, number(k, v[i]));
	}
	med = median(s, n);
	for (int i = 0; i < n; i++)
		s[n + i] = fabs(v[i] - med);
	mad = median(s + n, n);
	o = json_pack("{s:o, s:o, s:o, s:o, s:o}", "median", number(k, med), "mad", number(k, mad), "min",
	              number(k, s[0]), "max", number(k, s[n - 1]), "values", values);
	free(s);
	return o;
}

int gate_figure_get(json_t *r, int k, double *med, double *lo, double *hi)
{
	json_t *f = json_object_get(json_object_get(r, "figures"), gate_figures[k].key), *x;
	if (json_is_object(f)) {
		json_t *m = json_object_get(f, "median"), *a = json_object_get(f, "min"), *b = json_object_get(f, "max");
		if (!json_is_number(m))
			return -1;
		*med = json_number_value(m);
		*lo = json_is_number(a) ? json_number_value(a) : *med;
		*hi = json_is_number(b) ? json_number_value(b) : *med;
		return 0;
	}
	x = legacy[k][0] ? json_object_get(json_object_get(r, legacy[k][0]), legacy[k][1])
	                 : json_object_get(r, legacy[k][1]);
	if (!json_is_number(x))
		return -1;
	*med = *lo = *hi = json_number_value(x);
	return 0;
}

json_t *gate_load(const char *path, json_t **results, char *err, size_t errlen)
{
	json_error_t je;
	json_t *all = json_load_file(path, 0, &je), *head = NULL;
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	long n = 0;

	*results = NULL;
	if (json_is_object(all) && json_is_array(json_object_get(all, "results"))) {
		*results = json_incref(json_object_get(all, "results"));
		json_object_del(all, "results");
		return all;
	}
	json_decref(all);
	if (!(f = fopen(path, "re"))) {
		msg_fmt(err, errlen, "'%s': %s", path, strerror(errno));
		return NULL;
	}
	*results = json_array();
	while (getline(&line, &cap, f) > 0) {
		json_t *o = json_loads(line, 0, &je);
		n++;
		if (json_is_object(o) && json_object_get(o, "latency_ms")) {
			static const char *const own[] = {"batch_size", "points", "prompt_batch", "warmup", "iters",
			                                  "repeat", "latency_ms", "samples_ms", "items_per_s", "figures",
			                                  "vs_baseline", "oom_retries"};
			if (!head) { /* the run's fields repeat on every line; the configuration's own are dropped */
				head = json_deep_copy(o);
				for (size_t k = 0; k < sizeof own / sizeof own[0]; k++)
					json_object_del(head, own[k]);
			}
			json_array_append(*results, o);
		}
		json_decref(o);
	}
	free(line);
	fclose(f);
	if (!head) {
		msg_fmt(err, errlen, "'%s': no bench results in it (%ld lines)", path, n);
		json_decref(*results);
		*results = NULL;
		return NULL;
	}
	return head;
}

/* v as a short plain string for a message. */
static const char *value_str(json_t *v, char *buf, size_t len)
{
	char num[64];
	if (!v)
		snprintf(buf, len, "(not recorded)");
	else if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, len, "%s", gate_plain(json_real_value(v), num, sizeof num));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
	else if (json_is_null(v))
		snprintf(buf, len, "null");
	else {
		char *s = json_dumps(v, JSON_COMPACT);
		snprintf(buf, len, "%s", s ? s : "?");
		free(s);
	}
	return buf;
}

static int is_knob(const struct task_def *d, const char *key)
{
	char k[64];
	for (int i = 0; d && d->knobs && d->knobs[i]; i++) {
		snprintf(k, sizeof k, "%s", d->knobs[i]);
		for (char *p = k; *p; p++)
			if (*p == '-')
				*p = '_';
		if (!strcmp(k, key))
			return 1;
	}
	return 0;
}

/* Records one difference in diffs, and in the message msg as label (field when NULL). */
static void differ(json_t *diffs, char *msg, size_t len, const char *field, const char *label, json_t *base,
                   json_t *now)
{
	char a[200], b[200];
	json_array_append_new(diffs, json_pack("{s:s, s:O, s:O}", "field", field, "baseline",
	                                       base ? base : json_null(), "this_run", now ? now : json_null()));
	snprintf(msg + strlen(msg), len - strlen(msg), "%s%s %s (baseline) vs %s (this run)", msg[0] ? "; " : "",
	         label ? label : field, value_str(base, a, sizeof a), value_str(now, b, sizeof b));
}

/* A head's model name, for messages. */
static const char *model_name(json_t *head)
{
	const char *n = json_string_value(json_object_get(head, "model"));
	return n ? n : "?";
}

int gate_check(const struct task_def *d, json_t *head, json_t *base_head, const struct gate_params *g,
               json_t *summary, char *err, size_t errlen)
{
	static const char *const fields[] = {"sha256", "device", "dtype", "autocast", "threads", "libtorch", "task"};
	json_t *diffs = json_array(), *ts = json_object_get(head, "task_settings"),
	       *bs = json_object_get(base_head, "task_settings"), *v;
	char msg[3072] = "";
	const char *key;

	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		json_t *a = json_object_get(base_head, fields[i]), *b = json_object_get(head, fields[i]);
		if (!a || !b || !json_equal(a, b)) {
			char label[300];
			snprintf(label, sizeof label, "sha256 of the model (baseline '%s', this run '%s')",
			         model_name(base_head), model_name(head)); /* which models the files are */
			differ(diffs, msg, sizeof msg, fields[i], !strcmp(fields[i], "sha256") ? label : NULL, a, b);
		}
	}
	/* the task's fixed settings (its knobs vary per configuration) */
	json_object_foreach(ts, key, v) {
		char f[80];
		if (is_knob(d, key) || json_equal(v, json_object_get(bs, key)))
			continue;
		snprintf(f, sizeof f, "task_settings.%s", key);
		differ(diffs, msg, sizeof msg, f, NULL, json_object_get(bs, key), v);
	}
	json_object_foreach(bs, key, v) {
		char f[80];
		if (is_knob(d, key) || json_object_get(ts, key))
			continue;
		snprintf(f, sizeof f, "task_settings.%s", key);
		differ(diffs, msg, sizeof msg, f, NULL, v, NULL);
	}
	json_object_set_new(summary, "differences", diffs);
	json_object_set_new(summary, "compare_any", json_boolean(g->compare_any));
	if (!msg[0])
		return 0;
	if (g->compare_any) {
		msg_warn("--compare-any: comparing with a baseline measured on something else: %s", msg);
		return 0;
	}
	msg_fmt(err, errlen, "--baseline '%s' is not comparable with this run: %s (--compare-any compares anyway)",
	        g->path, msg);
	return -1;
}

/* The fields that make a configuration: batch size and the task's knobs. */
static int same_config(const struct task_def *d, json_t *a, json_t *b)
{
	if (!json_equal(json_object_get(a, "batch_size"), json_object_get(b, "batch_size")))
		return 0;
	for (int k = 0; d && d->knobs && d->knobs[k]; k++) {
		char key[64];
		snprintf(key, sizeof key, "%s", d->knobs[k]);
		for (char *p = key; *p; p++)
			if (*p == '-')
				*p = '_';
		if (!json_equal(json_object_get(a, key), json_object_get(b, key)))
			return 0;
	}
	return 1;
}

void gate_config_label(const struct task_def *d, json_t *r, char *buf, size_t len)
{
	snprintf(buf, len, "batch %lld", (long long)json_integer_value(json_object_get(r, "batch_size")));
	for (int k = 0; d && d->knobs && d->knobs[k]; k++) {
		char key[64];
		snprintf(key, sizeof key, "%s", d->knobs[k]);
		for (char *p = key; *p; p++)
			if (*p == '-')
				*p = '_';
		snprintf(buf + strlen(buf), len - strlen(buf), ", %s %lld", d->knobs[k],
		         (long long)json_integer_value(json_object_get(r, key)));
	}
}

/* The configuration's identifying fields of r, as an object for "missing". */
static json_t *config_of(const struct task_def *d, json_t *r)
{
	json_t *o = json_pack("{s:O}", "batch_size", json_object_get(r, "batch_size"));
	for (int k = 0; d && d->knobs && d->knobs[k]; k++) {
		char key[64];
		snprintf(key, sizeof key, "%s", d->knobs[k]);
		for (char *p = key; *p; p++)
			if (*p == '-')
				*p = '_';
		if (json_object_get(r, key))
			json_object_set(o, key, json_object_get(r, key));
	}
	return o;
}

/*
 * Compares figure k of r with b's; adds it to vs.  1 when it regressed.
 * Worse by more than the tolerance and outside the noise: the ranges of
 * the two runs (min..max over their repeats) do not overlap.
 */
static int compare_figure(const struct task_def *d, int k, json_t *r, json_t *b, const struct gate_params *g,
                          json_t *vs)
{
	const struct gate_figure *f = &gate_figures[k];
	double now, nlo, nhi, was, blo, bhi, change, worse, tol = tolerance_of(k, g);
	char cfg[200], a[64], c[64], t[64], rl[64], rh[64], bl[64], bh[64];
	int beyond_tol, beyond_noise, regressed;
	const char *verdict;

	if (gate_figure_get(r, k, &now, &nlo, &nhi) < 0 || gate_figure_get(b, k, &was, &blo, &bhi) < 0)
		return 0;
	change = was != 0 ? (now - was) / fabs(was) * 100.0 : now != 0 ? 100.0 : 0.0;
	worse = f->higher_is_worse ? change : -change;
	beyond_tol = worse > tol + 1e-9; /* an unchanged value never regresses, even at --tolerance 0 */
	beyond_noise = f->higher_is_worse ? nlo > bhi : nhi < blo;
	regressed = beyond_tol && beyond_noise;
	verdict = regressed ? "regression" : beyond_tol ? "within noise" : "ok";
	json_object_set_new(vs, f->key,
	                    json_pack("{s:o, s:o, s:o, s:f, s:s}", "baseline", number(k, was), "this_run",
	                              number(k, now), "delta", number(k, now - was), "delta_pct",
	                              num_round(change, 2), "verdict", verdict));
	gate_config_label(d, r, cfg, sizeof cfg);
	human(k, now, a, sizeof a);
	human(k, was, c, sizeof c);
	if (regressed)
		msg_error("regression at %s: %s %s, baseline %s (%+.1f%%, tolerance %s%%)", cfg, f->label, a, c, change,
		          gate_plain(tol, t, sizeof t));
	else if (beyond_tol)
		msg_info("%s: %s %s, baseline %s (%+.1f%%): within the noise (this run %s..%s, baseline %s..%s)", cfg,
		         f->label, a, c, change, human(k, nlo, rl, sizeof rl), human(k, nhi, rh, sizeof rh),
		         human(k, blo, bl, sizeof bl), human(k, bhi, bh, sizeof bh));
	else
		msg_info("%s: %s %s, baseline %s (%+.1f%%)", cfg, f->label, a, c, change);
	return regressed;
}

int gate_compare(const struct task_def *d, json_t *results, json_t *base, const struct gate_params *g,
                 json_t *summary)
{
	size_t i, j;
	json_t *r, *b, *missing = json_array();
	int regressions = 0, matched = 0, fail;

	json_array_foreach(results, i, r) {
		json_t *vs = NULL;
		json_array_foreach(base, j, b) {
			if (!same_config(d, r, b))
				continue;
			matched++;
			vs = json_object();
			for (int k = 0; k < GATE_NFIGURES; k++)
				regressions += compare_figure(d, k, r, b, g, vs);
			break;
		}
		json_object_set_new(r, "vs_baseline", vs ? vs : json_null());
	}
	json_array_foreach(base, j, b) {
		int found = 0;
		json_array_foreach(results, i, r)
			found |= same_config(d, r, b);
		if (!found) {
			char cfg[200];
			gate_config_label(d, b, cfg, sizeof cfg);
			json_array_append_new(missing, config_of(d, b));
			if (g->allow_missing)
				msg_warn("--baseline has %s, which this run did not measure (--allow-missing)", cfg);
			else
				msg_error("--baseline has %s, which this run did not measure (--allow-missing lets it be)",
				          cfg);
		}
	}
	if (!matched)
		msg_error("--baseline: no configuration in common with this run");
	fail = !matched || regressions || (json_array_size(missing) && !g->allow_missing);
	json_object_set_new(summary, "tolerance_pct", json_real(num_round(g->tolerance, 4)));
	json_object_set_new(summary, "memory_tolerance_pct", json_real(num_round(g->memory_tolerance, 4)));
	json_object_set_new(summary, "allow_missing", json_boolean(g->allow_missing));
	json_object_set_new(summary, "missing", missing);
	json_object_set_new(summary, "regressions", json_integer(regressions));
	json_object_set_new(summary, "pass", json_boolean(!fail));
	return fail;
}
