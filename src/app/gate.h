/*
 * gate.h — bench's regression gate.  An earlier result (--baseline) is read
 * back; refused when it was measured on something else (model file, device,
 * dtype, autocast, threads, libtorch, task and its fixed settings) unless
 * --compare-any; then compared configuration by configuration, figure by
 * figure: a figure regresses when its median is worse than the baseline's
 * by more than the tolerance AND the ranges (min..max over the repeats) of
 * the two runs do not overlap, so that noise one run or the other has
 * already shown is never called a regression.  Baseline configurations the
 * run lacks fail the gate unless --allow-missing.
 */
#ifndef TINFER_GATE_H
#define TINFER_GATE_H

#include <jansson.h>
#include <stddef.h>

#include "tasks/task.h"

struct gate_params {
	const char *path;           /* --baseline FILE */
	double tolerance;           /* percent: latency and items/s */
	double memory_tolerance;    /* percent: peak RSS and VRAM */
	int compare_any;
	int allow_missing;
	int quiet;
};

/* A figure bench measures per configuration and the gate compares. */
struct gate_figure {
	const char *key;            /* in a result's "figures": "p50_ms", ... */
	const char *label;          /* in messages: "p50 latency" */
	int bytes;                  /* integer bytes (memory), else a real */
	int higher_is_worse;
};
#define GATE_NFIGURES 4
extern const struct gate_figure gate_figures[GATE_NFIGURES];

/*
 * Statistics of n measurements of figure k: {"median", "mad", "min", "max",
 * "values"}; integers for byte figures, else rounded reals.  The median of
 * an even count is the mean of the two middle values.
 */
json_t *gate_stats(int k, const double *v, int n);

/* The median, min and max of figure k in result r (its "figures", else
 * the single value an older tinfer wrote); 0, or -1 when r has none. */
int gate_figure_get(json_t *r, int k, double *median, double *lo, double *hi);

/*
 * Reads a bench result: --format json ({..., "results": [...]}) or jsonl
 * (one object per configuration, the configuration's fields repeated).
 * Returns the head (everything but the results) and sets *results, or NULL
 * with err.
 */
json_t *gate_load(const char *path, json_t **results, char *err, size_t errlen);

/*
 * Compares what head and base_head were measured on.  Each difference is
 * added to summary's "differences" as {"field", "baseline", "this_run"}.
 * Returns 0 when they agree or g->compare_any allows it (said on stderr),
 * else -1 with err naming every differing field and both values.
 */
int gate_check(const struct task_def *d, json_t *head, json_t *base_head, const struct gate_params *g,
               json_t *summary, char *err, size_t errlen);

/*
 * Compares each result with the baseline's same configuration (batch size
 * and the task's knobs), adds "vs_baseline" to it, and "missing",
 * "regressions" and "pass" to summary; prints each comparison on stderr
 * (regressions and missing configurations as errors, the rest unless
 * quiet).  Returns 0 when the gate passes, 1 when it fails.
 */
int gate_compare(const struct task_def *d, json_t *results, json_t *base_results, const struct gate_params *g,
                 json_t *summary);

/* "batch 8", or "batch 1, points 1000, prompt-batch 4": r's configuration. */
void gate_config_label(const struct task_def *d, json_t *r, char *buf, size_t len);

/* x written plainly: at most 6 decimals, trailing zeros dropped, never e-notation. */
const char *gate_plain(double x, char *buf, size_t len);

#endif
