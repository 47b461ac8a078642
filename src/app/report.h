/*
 * report.h — the run summary (SPEC §6): one JSON object to --report FILE
 * (or stderr for "-"), else one human line on stderr.  The part that says
 * what ran (model, file, task, device, precision, threads, libtorch) is
 * built here once, for run's report and for bench's results alike.
 */
#ifndef TINFER_REPORT_H
#define TINFER_REPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/model.h"
#include "formats/manifest.h"

struct run_stats {
	size_t inputs, ok, failed, skipped;
	int oom_retries;
	int oom_failed;             /* inputs that ran out of memory at batch size 1 */
	long batch_size;
	long threads;
	const char *task;           /* the task's name */
	char device[32];            /* what ran, "none" when the model was never loaded */
	int dtype, dtype_requested; /* TCH_F32, TCH_F16, TCH_BF16 */
	int autocast, autocast_requested;
	int fast_decode;            /* --fast-decode: JPEGs may have been decoded at reduced scale */
	const char *memory_format;  /* what the image batches ran in: "channels-last" or "contiguous" */
	char fallback[160];         /* "" when what ran is what was asked */
	const char *libtorch;       /* NULL when libtorch was never loaded */
	const char *blas;           /* the BLAS libtorch runs on; NULL when libtorch was never loaded */
	const char *optimize_mode;  /* --optimize: "auto", "on", "off"; NULL: not reported (bench) */
	int optimized;              /* 0 as loaded, 1 frozen, 2 frozen + optimize_for_inference */
	char optimize_why[200];     /* what --optimize did, or why not */
	double optimize_ms;         /* making and checking the optimised modules */
	/* milliseconds on the monotonic clock; 0 = did not happen */
	double t_start, t_load0, t_load1, t_first_result, t_end;
	double forward_ms;          /* time spent in forward passes (segment: in the model calls and merge) */
	double post_ms;             /* the task turning outputs into records */
	double decode_ms;           /* reading, decoding, preprocessing (all decoding threads together) */
	double wait_ms;             /* the model waiting for its next batch, after the first */
	size_t records;             /* records written */
	size_t not_run;             /* inputs read that got no record (interrupted, fatal error) */
	const char *error;          /* the fatal error, NULL when none */
	const char *interrupted;    /* "SIGINT", "SIGTERM", "SIGPIPE", or NULL */
	int64_t ram_start, ram_after_load;
	int64_t vram_load_peak, vram_peak_allocated, vram_peak_reserved; /* 0 = none (CPU) */
	int64_t vram_limit;         /* --max-vram in bytes; 0 = none */
	int empty_cache;            /* --empty-cache ran: the two below are the largest seen over the batches */
	int64_t vram_reserved_before_empty, vram_reserved_after_empty;
};

/*
 * Copies into st what the model says of the run: device, precision and
 * fallback, load times and memory, VRAM peaks so far, memory format (of
 * image inputs).  A model never loaded leaves device "none".
 */
void report_take_model(struct run_stats *st, const struct model *m, int has_image_input);

/*
 * What ran: tool, version, libtorch, model, file, task, device, dtype (and
 * what was asked, and why they differ), autocast, memory format, threads,
 * and the load's time and memory.  A new object.
 */
json_t *report_config(const struct run_stats *st, const struct model_spec *spec);

/* A duration in ms to one decimal, or null when one end did not happen. */
json_t *report_ms(double from, double to);

/*
 * Writes the summary: JSON to path ("-" = stderr) when path is given, else
 * one human line on stderr unless quiet.  Returns 0, or -1 after saying on
 * stderr why the report could not be written (a failed run: exit 5).
 */
int report_write(const struct run_stats *st, const struct model_spec *spec, const char *path, int quiet);

#endif
