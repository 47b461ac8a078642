/*
 * Unit tests for app/gate.c, the parts that need no model: statistics over
 * repeats, plain numbers, figures read from new and old results, the
 * comparability check, and the comparison's verdicts (tolerance, noise,
 * tolerance 0 on an unchanged value, missing configurations).
 */
#include "check.h"
#include "app/gate.h"
#include "sys/msg.h"

#include <math.h>
#include <string.h>

/* A result for batch b whose p50 over the repeats is v[0..n). */
static json_t *result(long b, const double *v, int n, double rss)
{
	double r[8];
	for (int i = 0; i < n; i++)
		r[i] = rss;
	return json_pack("{s:I, s:{s:o, s:o}}", "batch_size", (json_int_t)b, "figures", "p50_ms", gate_stats(0, v, n),
	                 "peak_rss_bytes", gate_stats(2, r, n));
}

int main(void)
{
	char buf[64], err[ERRLEN];
	double med, lo, hi;
	struct gate_params g = {"base.json", 10, 10, 0, 0, 1};
	const struct task_def *d = task_find("classify");

	msg_set_quiet(1);
	{
		double v[] = {3, 1, 2, 10, 2};
		json_t *s = gate_stats(0, v, 5);
		CHECK(json_real_value(json_object_get(s, "median")) == 2 && json_real_value(json_object_get(s, "mad")) == 1 &&
		          json_real_value(json_object_get(s, "min")) == 1 && json_real_value(json_object_get(s, "max")) == 10 &&
		          json_array_size(json_object_get(s, "values")) == 5,
		      "stats/median-mad-min-max", "%s", json_dumps(s, 0));
		json_decref(s);
	}
	{
		double v[] = {100, 201};
		json_t *s = gate_stats(2, v, 2);
		CHECK(json_is_integer(json_object_get(s, "median")) && json_integer_value(json_object_get(s, "median")) == 151,
		      "stats/bytes-are-integers", "%s", json_dumps(s, 0));
		json_decref(s);
	}
	CHECK(!strcmp(gate_plain(10, buf, sizeof buf), "10"), "plain/integer", "%s", buf);
	CHECK(!strcmp(gate_plain(0.0000001, buf, sizeof buf), "0"), "plain/tiny", "%s", buf);
	CHECK(!strcmp(gate_plain(1e6, buf, sizeof buf), "1000000"), "plain/large", "%s", buf);
	CHECK(!strcmp(gate_plain(2.5, buf, sizeof buf), "2.5"), "plain/decimals", "%s", buf);
	{
		json_t *old = json_pack("{s:{s:f}, s:f, s:{s:I}}", "latency_ms", "p50", 1.5, "items_per_s", 600.0, "ram_bytes",
		                        "peak", (json_int_t)1000);
		CHECK(gate_figure_get(old, 0, &med, &lo, &hi) == 0 && med == 1.5 && lo == 1.5 && hi == 1.5,
		      "figure/older-results", "%f", med);
		CHECK(gate_figure_get(old, 3, &med, &lo, &hi) < 0, "figure/absent", "vram");
		json_decref(old);
	}
	{
		json_t *a = json_pack("{s:s, s:s, s:s, s:b, s:i, s:s, s:s}", "sha256", "aa", "device", "cpu", "dtype", "fp32",
		                      "autocast", 0, "threads", 2, "libtorch", "1.13.0", "task", "classify");
		json_t *b = json_deep_copy(a), *sum = json_object();
		CHECK(gate_check(d, a, b, &g, sum, err, sizeof err) == 0, "check/same", "%s", err);
		json_object_set_new(b, "threads", json_integer(4));
		CHECK(gate_check(d, a, b, &g, sum, err, sizeof err) < 0 && strstr(err, "threads 4 (baseline) vs 2 (this run)"),
		      "check/threads", "%s", err);
		g.compare_any = 1;
		CHECK(gate_check(d, a, b, &g, sum, err, sizeof err) == 0 &&
		          json_array_size(json_object_get(sum, "differences")) == 1,
		      "check/compare-any", "%s", json_dumps(sum, 0));
		g.compare_any = 0;
		json_decref(a);
		json_decref(b);
		json_decref(sum);
	}
	{
		double same[] = {1.0, 1.1, 1.2}, worse[] = {1.5, 1.6, 1.7}, noisy[] = {0.9, 1.5, 2.5};
		json_t *base = json_pack("[o, o]", result(1, same, 3, 1000), result(8, same, 3, 1000));
		json_t *now = json_pack("[o]", result(1, same, 3, 1000)), *sum = json_object();
		g.tolerance = g.memory_tolerance = 0;
		g.allow_missing = 1;
		CHECK(gate_compare(d, now, base, &g, sum) == 0, "compare/tolerance-0-unchanged", "%s", json_dumps(sum, 0));
		g.allow_missing = 0;
		CHECK(gate_compare(d, now, base, &g, sum) == 1 &&
		          json_integer_value(json_object_get(json_array_get(json_object_get(sum, "missing"), 0), "batch_size")) == 8,
		      "compare/missing-fails", "%s", json_dumps(sum, 0));
		json_array_remove(base, 1);
		g.tolerance = g.memory_tolerance = 10;
		json_decref(now);
		now = json_pack("[o]", result(1, worse, 3, 1000));
		CHECK(gate_compare(d, now, base, &g, sum) == 1 && json_integer_value(json_object_get(sum, "regressions")) == 1,
		      "compare/regression", "%s", json_dumps(sum, 0));
		json_decref(now);
		now = json_pack("[o]", result(1, noisy, 3, 1000));
		CHECK(gate_compare(d, now, base, &g, sum) == 0 &&
		          !strcmp(json_string_value(json_object_get(json_object_get(json_object_get(json_array_get(now, 0), "vs_baseline"), "p50_ms"), "verdict")), "within noise"),
		      "compare/within-noise", "%s", json_dumps(now, 0));
		json_decref(now);
		now = json_pack("[o]", result(1, same, 3, 2000));
		CHECK(gate_compare(d, now, base, &g, sum) == 1, "compare/memory", "%s", json_dumps(sum, 0));
		g.memory_tolerance = 150;
		CHECK(gate_compare(d, now, base, &g, sum) == 0, "compare/memory-tolerance", "%s", json_dumps(sum, 0));
		json_decref(now);
		json_decref(base);
		json_decref(sum);
	}
	return check_done();
}
