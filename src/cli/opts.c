/* opts.c — the option table, the parser and --help.  See opts.h. */
#include "cli/opts.h"
#include "engine/model.h"
#include "sys/msg.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum opt_id {
	O_MODEL, O_MODELS, O_TASK, O_DEVICE, O_DTYPE, O_HALF, O_AUTOCAST, O_BATCH, O_THREADS,
	O_OUTPUT, O_REPORT, O_FILES_FROM, O_RECURSIVE, O_NULL, O_QUIET, O_TOP_K,
	O_MAX_PIXELS, O_FAST_DECODE, O_SAVE_DIR, O_IMAGE_STREAM, O_EVERY, O_CROP_FROM, O_CROP_PAD, O_DECODE_THREADS, O_OPTIMIZE, O_JSON, O_RESUME, O_SHARD, O_PROGRESS, O_CONF, O_IOU, O_MAX_DET, O_CLASSES, O_DRAW, O_MEMORY_FORMAT, O_POINTS, O_PROMPTS, O_PROMPT_BATCH, O_SEED, O_MIN_SCORE, O_WARMUP, O_ITERS, O_REPEAT, O_INPUT, O_FORMAT, O_BASELINE, O_TOLERANCE,
	O_MEMORY_TOLERANCE, O_COMPARE_ANY, O_ALLOW_MISSING, O_RESULTS,
	O_MEMORY_TRACE, O_PLOT, O_MAX_VRAM, O_EMPTY_CACHE, O_HELP, O_VERSION
};

/* Which commands take an option. */
#define C_RUN (1 << CMD_RUN)
#define C_BENCH (1 << CMD_BENCH)
#define C_RB (C_RUN | C_BENCH)
#define C_INFO (1 << CMD_INFO)
#define C_MODELS (1 << CMD_MODELS)
#define C_ALL (C_RUN | C_BENCH | C_INFO | C_MODELS)
#define F COMPLETE_FILE
#define D COMPLETE_DIR

/* The one table of options. */
static const struct option_def table[] = {
	{O_MODEL, 'm', "model", "NAME|PATH", C_RB | C_INFO, NULL, COMPLETE_MODEL, 0, "manifest name or .pt/.torchscript file"},
	{O_MODELS, 0, "models", "FILE", C_ALL, NULL, F, 0, "manifest to use"},
	{O_TASK, 0, "task", "TASK", C_RB, "classify detect segment embed raw", 0, 0, "task (default: the manifest's, else raw)"},
	{O_DEVICE, 'd', "device", "DEV", C_RB, NULL, 0, 0, "auto, cpu, cuda, cuda:N (default: $TINFER_DEVICE, auto)"},
	{O_DTYPE, 0, "dtype", "T", C_RB, "fp32 fp16 bf16", 0, 0, "weights' precision (default fp32)"},
	{O_HALF, 0, "half", NULL, C_RB, NULL, 0, 0, "same as --dtype fp16"},
	{O_AUTOCAST, 0, "autocast", NULL, C_RB, NULL, 0, 0, "mixed precision (CUDA fp16, CPU bf16)"},
	{O_MAX_VRAM, 0, "max-vram", "SIZE|N%", C_RUN, NULL, 0, 0, "CUDA: cap the device memory libtorch may reserve (bytes, K/M/G/T, or % of the device)"},
	{O_EMPTY_CACHE, 0, "empty-cache", NULL, C_RUN, NULL, 0, 0, "CUDA: hand cached device memory back to the driver after each batch"},
	{O_MEMORY_FORMAT, 0, "memory-format", "F", C_RB, "auto channels-last contiguous", 0, 0, "image batches' layout (default auto: channels-last, contiguous if the model fails)"},
	{O_BATCH, 'b', "batch-size", "N", C_RB, NULL, 0, 0, "inputs per forward pass (default: manifest's, else 1; bench: a list, 1,8,32)"},
	{O_THREADS, 'j', "threads", "N", C_RB, NULL, 0, 0, "intra-op threads (default: all cores)"},
	{O_OUTPUT, 'o', "output", "FILE", C_RUN, NULL, F, 0, "write JSON Lines results to FILE (default stdout)"},
	{O_REPORT, 0, "report", "FILE", C_RUN, NULL, F, 0, "run summary as JSON to FILE (- = stderr)"},
	{O_FILES_FROM, 'T', "files-from", "FILE", C_RUN, NULL, F, 0, "read input paths from FILE (- = stdin)"},
	{O_RECURSIVE, 'r', "recursive", NULL, C_RUN, NULL, 0, 0, "descend into directories"},
	{O_NULL, '0', "null", NULL, C_RUN, NULL, 0, 0, "paths in lists are NUL-separated"},
	{O_RESUME, 0, "resume", NULL, C_RUN, NULL, 0, 0, "with -o FILE: skip inputs that have an ok record there, append the rest"},
	{O_SHARD, 0, "shard", "I/N", C_RUN, NULL, 0, 0, "only inputs at positions p with p mod N = I; auto: from SLURM_ARRAY_* or JOB_COMPLETION_INDEX/TINFER_SHARDS"},
	{O_PROGRESS, 0, "progress", "WHEN", C_RUN, "auto always never", 0, 0, "progress line: auto (stderr is a terminal), always, never"},
	{O_QUIET, 'q', "quiet", NULL, C_ALL, NULL, 0, 0, "no messages on stderr except errors"},
	{O_TOP_K, 0, "top-k", "N", C_RUN, NULL, 0, SCOPE_TASK, "classify: classes per record (default 5)"},
	{O_CONF, 0, "conf", "X", C_RUN, NULL, 0, SCOPE_TASK, "detect: keep boxes scoring above X (default: manifest's, else 0.25)"},
	{O_IOU, 0, "iou", "X", C_RUN, NULL, 0, SCOPE_TASK, "detect: NMS IoU threshold (default: manifest's, else 0.45)"},
	{O_MAX_DET, 0, "max-det", "N", C_RUN, NULL, 0, SCOPE_TASK, "detect: at most N boxes per image (default: manifest's, else 300)"},
	{O_CLASSES, 0, "classes", "LIST", C_RUN, NULL, 0, SCOPE_TASK, "detect: keep only these classes, labels or indices, comma-separated (default all)"},
	{O_DRAW, 0, "draw", "DIR", C_RUN, NULL, D, SCOPE_TASK, "detect: write each image with its boxes drawn into DIR"},
	{O_POINTS, 0, "points", "N", C_RB, NULL, 0, SCOPE_TASK, "segment: points sampled per cloud (default: manifest's, else 15000; bench: a list)"},
	{O_PROMPTS, 0, "prompts", "N", C_RB, NULL, 0, SCOPE_TASK, "segment: prompt points per cloud (default: manifest's, else 75)"},
	{O_PROMPT_BATCH, 0, "prompt-batch", "N", C_RB, NULL, 0, SCOPE_TASK, "segment: prompts per decoder pass (default: manifest's, else 4; bench: a list)"},
	{O_SEED, 0, "seed", "N", C_RB, NULL, 0, SCOPE_TASK, "segment: seed of point sampling and prompt selection (default 0)"},
	{O_MIN_SCORE, 0, "min-score", "X", C_RB, NULL, 0, SCOPE_TASK, "segment: drop masks whose predicted IoU is lower (default 0.5)"},
	{O_MAX_PIXELS, 0, "max-pixels", "N", C_RB, NULL, 0, SCOPE_IMAGES, "refuse larger images (default 100000000)"},
	{O_FAST_DECODE, 0, "fast-decode", NULL, C_RB, NULL, 0, SCOPE_IMAGES, "JPEG: decode at reduced scale when the target is smaller"},
	{O_SAVE_DIR, 0, "save-dir", "DIR", C_RUN, NULL, D, SCOPE_TASK, "raw, segment, embed: large outputs as .npy files there (embed: one embeddings.npy, each record its row)"},
	{O_IMAGE_STREAM, 0, "image-stream", NULL, C_RUN, NULL, 0, SCOPE_IMAGES, "stdin is concatenated PNG/JPEG images (ffmpeg -f image2pipe): one input each, named -#FRAME"},
	{O_EVERY, 0, "every", "N", C_RUN, NULL, 0, SCOPE_IMAGES, "with --image-stream: keep one image in N (default 1)"},
	{O_CROP_FROM, 0, "crop-from", "FILE", C_RUN, NULL, F, SCOPE_IMAGES, "inputs are the boxes of detect records in FILE (- = stdin), cut from their images"},
	{O_CROP_PAD, 0, "crop-pad", "X", C_RUN, NULL, 0, SCOPE_IMAGES, "with --crop-from: widen each box by X of its size on every side (default 0)"},
	{O_DECODE_THREADS, 0, "decode-threads", "N", C_RUN, NULL, 0, 0, "threads that read and decode inputs ahead of the model (default 1)"},
	{O_OPTIMIZE, 0, "optimize", "WHEN", C_RUN, "auto on off", 0, 0, "freeze and optimise the module for inference, checked against it on a batch: auto (when the run is long enough to repay it), on, off"},
	{O_JSON, 0, "json", NULL, C_INFO | C_MODELS, NULL, 0, 0, "machine-readable output"},
	{O_WARMUP, 0, "warmup", "N", C_BENCH, NULL, 0, 0, "bench: untimed iterations first (default 3)"},
	{O_ITERS, 0, "iters", "N", C_BENCH, NULL, 0, 0, "bench: timed iterations (default 20)"},
	{O_REPEAT, 0, "repeat", "N", C_BENCH, NULL, 0, 0, "bench: measure each configuration N times; medians and spread (default 1)"},
	{O_INPUT, 0, "input", "FILE", C_BENCH, NULL, F, 0, "bench: a real input (image, or .npy of any numeric dtype), preprocessed as run does (default: synthetic)"},
	{O_FORMAT, 0, "format", "FMT", C_BENCH, "json jsonl md", 0, 0, "bench: json (default), jsonl (one object per configuration), md"},
	{O_BASELINE, 0, "baseline", "FILE", C_BENCH, NULL, F, 0, "bench: exit 1 when worse than this earlier result, 2 when it is not comparable"},
	{O_TOLERANCE, 0, "tolerance", "PCT", C_BENCH, NULL, 0, 0, "bench: how much worse latency or items/s may be, in percent (default 10)"},
	{O_MEMORY_TOLERANCE, 0, "memory-tolerance", "PCT", C_BENCH, NULL, 0, 0, "bench: how much more peak RSS and VRAM may be, in percent (default: --tolerance)"},
	{O_COMPARE_ANY, 0, "compare-any", NULL, C_BENCH, NULL, 0, 0, "bench: gate against a baseline of another model, device, dtype, threads or libtorch anyway"},
	{O_ALLOW_MISSING, 0, "allow-missing", NULL, C_BENCH, NULL, 0, 0, "bench: baseline configurations this run lacks do not fail the gate"},
	{O_RESULTS, 0, "results", "FILE", C_BENCH, NULL, F, 0, "bench: gate FILE, an earlier bench's output, against --baseline instead of running"},
	{O_MEMORY_TRACE, 0, "memory-trace", "FILE", C_RB, NULL, F, 0, "RSS (and VRAM) over time as CSV"},
	{O_PLOT, 0, "plot", "FILE", C_RB, NULL, F, 0, "with --memory-trace: draw it as SVG, phases marked"},
	{O_HELP, 'h', "help", NULL, C_ALL, NULL, 0, 0, "show this help and exit"},
	{O_VERSION, 'V', "version", NULL, C_ALL, NULL, 0, 0, "show the version and exit"},
};
#undef F
#undef D
#define NOPTS (int)(sizeof table / sizeof table[0])
_Static_assert(NOPTS <= OPTS_MAX, "struct opts: given[] is too small for the option table");

static const char *const usage_lines[] = {
	"tinfer run   -m MODEL [options] [INPUT ...]",
	"tinfer bench -m MODEL [options] [--input FILE]",
	"tinfer info  -m MODEL [--json]",
	"tinfer models [--json]",
	"tinfer completions bash|zsh|fish",
	"tinfer --help | --version",
};

static const struct command_def commands[] = {
	{CMD_RUN, "run", "run the model over inputs"},
	{CMD_BENCH, "bench", "measure latency, throughput and memory"},
	{CMD_INFO, "info", "show a model's metadata"},
	{CMD_MODELS, "models", "list the manifest's models"},
	{CMD_COMPLETIONS, "completions", "print a shell completion script"},
};
#define NCMDS (int)(sizeof commands / sizeof commands[0])

const struct option_def *opts_table(int *n)
{
	*n = NOPTS;
	return table;
}

const struct command_def *opts_commands(int *n)
{
	*n = NCMDS;
	return commands;
}

/* Is val one of the space-separated words of choices? */
static int is_choice(const char *choices, const char *val)
{
	size_t len = strlen(val);
	for (const char *p = choices; *p;) {
		size_t w = strcspn(p, " ");
		if (w == len && !strncmp(p, val, len))
			return 1;
		p += w;
		p += *p == ' ';
	}
	return 0;
}

void opts_usage(void)
{
	for (size_t i = 0; i < sizeof usage_lines / sizeof usage_lines[0]; i++)
		fprintf(stderr, "%s %s\n", i ? "      " : "usage:", usage_lines[i]);
	fprintf(stderr, "Try 'tinfer --help' for more information.\n");
}

void opts_help(void)
{
	printf("tinfer — batch inference with one TorchScript model, JSON Lines out\n\n");
	for (size_t i = 0; i < sizeof usage_lines / sizeof usage_lines[0]; i++)
		printf("%s %s\n", i ? "      " : "usage:", usage_lines[i]);
	printf("\nINPUT is a file, a directory, or - (one input's bytes on stdin).  With no\n"
	       "INPUT, paths are read from stdin when it is not a terminal.\n\noptions:\n");
	for (int i = 0; i < NOPTS; i++) {
		const struct option_def *d = &table[i];
		char left[64];
		if (d->shortname)
			snprintf(left, sizeof left, "-%c, --%s%s%s", d->shortname, d->longname,
			         d->arg ? " " : "", d->arg ? d->arg : "");
		else
			snprintf(left, sizeof left, "    --%s%s%s", d->longname, d->arg ? " " : "",
			         d->arg ? d->arg : "");
		printf("  %-28s %s\n", left, d->help);
	}
	printf("\nexit status: 0 all inputs ok, 1 some failed, 2 usage, 3 model error,\n"
	       "4 out of memory, 130/143 interrupted.  See tinfer(1).\n");
}

int opts_check_task(const struct opts *o, const char *task, const char *const *task_options, int takes_images,
                    const char *model, char *err, size_t errlen)
{
	for (int i = 0; i < NOPTS; i++) {
		const struct option_def *d = &table[i];
		int ok = 1;
		if (!o->given[i])
			continue;
		if (d->scope == SCOPE_TASK) {
			ok = 0;
			for (const char *const *t = task_options; t && *t; t++)
				ok |= !strcmp(*t, d->longname);
		} else if (d->scope == SCOPE_IMAGES) {
			ok = takes_images;
		}
		if (!ok) {
			msg_fmt(err, errlen, "--%s does not apply to model '%s': its task is %s%s", d->longname, model,
			        task, d->scope == SCOPE_IMAGES ? ", which takes no images" : "");
			return -1;
		}
	}
	return 0;
}

const long *opts_list(const struct opts *o, const char *longname, int *n)
{
	const struct {
		const char *name;
		const long *list;
		int n;
	} lists[] = {{"batch-size", o->batch_list, o->n_batch},
	             {"points", o->points_list, o->n_points},
	             {"prompt-batch", o->prompt_batch_list, o->n_prompt_batch}};
	for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++)
		if (!strcmp(lists[i].name, longname) && lists[i].n) {
			*n = lists[i].n;
			return lists[i].list;
		}
	*n = 0;
	return NULL;
}

long opts_threads(const struct opts *o)
{
	cpu_set_t set;
	if (o->threads)
		return o->threads;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	return 1;
}

/* Parses a whole decimal integer in [lo, hi]; -1 and a message otherwise. */
static int parse_long(const char *opt, const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi) {
		msg_error("--%s: '%s' is not a whole number from %lld to %lld", opt, s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

/* Parses a decimal number in [lo, hi] (no NaN); -1 and a message otherwise. */
static int parse_double(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;
	double v;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !(v >= lo && v <= hi)) {
		msg_error("--%s: '%s' is not a number from %g to %g", opt, s, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

/* Parses "N[,N...]" (each >= 1, at most OPTS_MAXLIST) into list; -1 on error. */
static int set_list(const char *opt, const char *s, long *list, int *n)
{
	char buf[256], *save = NULL, *tok;
	long long v;
	*n = 0;
	if (strlen(s) >= sizeof buf) {
		msg_error("--%s: list too long", opt);
		return -1;
	}
	snprintf(buf, sizeof buf, "%s", s);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (*n == OPTS_MAXLIST) {
			msg_error("--%s: at most %d values", opt, OPTS_MAXLIST);
			return -1;
		}
		if (parse_long(opt, tok, 1, 100000000, &v) < 0)
			return -1;
		list[(*n)++] = (long)v;
	}
	if (*n == 0 || s[strlen(s) - 1] == ',') {
		msg_error("--%s: '%s' is not a number or a list like 1,8,32", opt, s);
		return -1;
	}
	return 0;
}

/* Stores a long option value in [lo, hi]; -1 on error. */
static int set_long(const char *opt, const char *s, long lo, long hi, long *dst)
{
	long long v;
	if (parse_long(opt, s, lo, hi, &v) < 0)
		return -1;
	*dst = (long)v;
	return 0;
}

/*
 * --max-vram: a size in bytes, with an optional K, M, G or T (powers of
 * 1024, as ulimit and docker --memory count; "GiB", "G" and "GB" alike),
 * or N% of the device's memory, 0 < N <= 100.  -1 and a message otherwise.
 */
static int parse_vram(const char *opt, const char *s, struct opts *o)
{
	static const char units[] = "KMGT";
	char *end;
	double v, mult = 1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || !(v > 0) || (*s < '0' || *s > '9'))
		goto bad;
	if (!strcmp(end, "%")) {
		if (v > 100)
			goto bad;
		o->max_vram_pct = v;
		return 0;
	}
	if (*end) {
		const char *u = strchr(units, end[0] & ~0x20);
		if (!u || !*u)
			goto bad;
		for (const char *k = units; k <= u; k++)
			mult *= 1024;
		end++;
		if (*end && strcmp(end, "B") && strcmp(end, "iB"))
			goto bad;
	}
	v *= mult;
	if (v < 1 || v > 9.0e18)
		goto bad;
	o->max_vram = (long long)v;
	return 0;
bad:
	msg_error("--%s: '%s' is not a size (bytes, or with K, M, G, T) or a percentage (0%% < N%% <= 100%%)", opt, s);
	return -1;
}

static int check_device(const char *s)
{
	char *end;
	if (!strcmp(s, "auto") || !strcmp(s, "cpu") || !strcmp(s, "cuda"))
		return 0;
	if (!strncmp(s, "cuda:", 5) && s[5] >= '0' && s[5] <= '9') {
		errno = 0;
		long n = strtol(s + 5, &end, 10);
		if (!errno && !*end && n >= 0 && n < 64)
			return 0;
	}
	msg_error("--device: '%s' is not auto, cpu, cuda or cuda:N", s);
	return -1;
}

/* An environment variable as a whole number in [lo, hi]: 1 with *out, 0 when unset, -1 (said) when bad. */
static int env_long(const char *name, long lo, long hi, long *out)
{
	const char *v = getenv(name);
	char *end;
	long long x;
	if (!v || !*v)
		return 0;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || *end || x < lo || x > hi) {
		msg_error("--shard auto: $%s='%s' is not a whole number from %ld to %ld", name, v, lo, hi);
		return -1;
	}
	*out = (long)x;
	return 1;
}

/*
 * --shard auto: this task's shard from the scheduler's environment.  SLURM
 * job arrays: (SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN) /
 * SLURM_ARRAY_TASK_STEP of SLURM_ARRAY_TASK_COUNT, for arrays that are one
 * evenly stepped range (a list such as 1,2,7 has no such numbering and is
 * refused); Kubernetes Indexed Jobs: JOB_COMPLETION_INDEX of TINFER_SHARDS.
 */
static int shard_auto(struct opts *o)
{
	long id, min = 0, step = 1, count, max, idx, n;
	int rc = env_long("SLURM_ARRAY_TASK_ID", 0, 1000000000, &id);
	if (rc < 0)
		return -1;
	if (rc > 0) {
		if (env_long("SLURM_ARRAY_TASK_MIN", 0, 1000000000, &min) < 0 ||
		    env_long("SLURM_ARRAY_TASK_STEP", 1, 1000000000, &step) < 0 ||
		    env_long("SLURM_ARRAY_TASK_COUNT", 1, 1000000, &count) <= 0) {
			msg_error("--shard auto: a SLURM array task without $SLURM_ARRAY_TASK_COUNT");
			return -1;
		}
		if (env_long("SLURM_ARRAY_TASK_MAX", 0, 1000000000, &max) > 0 && max != min + (count - 1) * step) {
			msg_error("--shard auto: the array %ld-%ld:%ld of %ld tasks is not one evenly stepped range: use --shard I/N",
			          min, max, step, count);
			return -1;
		}
		if (id < min || (id - min) % step || (id - min) / step >= count) {
			msg_error("--shard auto: task %ld is not in the array %ld, %ld + %ld, ... (%ld tasks)", id, min, min,
			          step, count);
			return -1;
		}
		o->shard_i = (id - min) / step;
		o->shard_n = count;
		return 0;
	}
	if ((rc = env_long("JOB_COMPLETION_INDEX", 0, 1000000, &idx)) < 0)
		return -1;
	if (rc > 0) {
		if ((rc = env_long("TINFER_SHARDS", 1, 1000000, &n)) <= 0) {
			if (rc == 0)
				msg_error("--shard auto: a Kubernetes Indexed Job needs $TINFER_SHARDS (its completions)");
			return -1;
		}
		if (idx >= n) {
			msg_error("--shard auto: $JOB_COMPLETION_INDEX %ld is out of range for $TINFER_SHARDS %ld", idx, n);
			return -1;
		}
		o->shard_i = idx;
		o->shard_n = n;
		return 0;
	}
	msg_error("--shard auto: no scheduler in the environment (SLURM_ARRAY_TASK_ID, or JOB_COMPLETION_INDEX with "
	          "TINFER_SHARDS)");
	return -1;
}

/* Applies one option; -1 on a bad value. */
static int apply(struct opts *o, const struct option_def *d, const char *val)
{
	long long ll;
	if (d->choices && !is_choice(d->choices, val)) {
		msg_error("--%s: '%s' is not one of: %s", d->longname, val, d->choices);
		return -1;
	}
	switch ((enum opt_id)d->id) {
	case O_MODEL: o->model = val; break;
	case O_MODELS: o->models_file = val; break;
	case O_TASK: o->task = val; break;
	case O_DEVICE:
		if (check_device(val) < 0)
			return -1;
		o->device = val;
		break;
	case O_DTYPE: o->dtype = model_dtype_parse(val); break;
	case O_HALF: o->dtype = TCH_F16; break;
	case O_AUTOCAST: o->autocast = 1; break;
	case O_BATCH:
		if (set_list(d->longname, val, o->batch_list, &o->n_batch) < 0)
			return -1;
		o->batch_size = o->batch_list[0];
		break;
	case O_THREADS: return set_long(d->longname, val, 1, 4096, &o->threads);
	case O_OUTPUT: o->output = val; break;
	case O_REPORT: o->report = val; break;
	case O_FILES_FROM: o->files_from = val; break;
	case O_RECURSIVE: o->recursive = 1; break;
	case O_NULL: o->null_sep = 1; break;
	case O_QUIET: o->quiet = 1; break;
	case O_TOP_K: return set_long(d->longname, val, 1, 1000000, &o->top_k);
	case O_MAX_PIXELS:
		if (parse_long(d->longname, val, 1, LLONG_MAX, &ll) < 0)
			return -1;
		o->max_pixels = ll;
		break;
	case O_FAST_DECODE: o->fast_decode = 1; break;
	case O_SAVE_DIR: o->save_dir = val; break;
	case O_JSON: o->json = 1; break;
	case O_RESUME: o->resume = 1; break;
	case O_SHARD: {
		char *slash = strchr(val, '/'), *end;
		long i, n;
		if (!strcmp(val, "auto"))
			return shard_auto(o);
		errno = 0;
		i = slash ? strtol(val, &end, 10) : -1;
		if (!slash || end != slash || errno || (n = strtol(slash + 1, &end, 10), *end || errno) ||
		    slash == val || !slash[1] || n < 1 || n > 1000000 || i < 0 || i >= n) {
			msg_error("--shard: '%s' is not I/N with 0 <= I < N", val);
			return -1;
		}
		o->shard_i = i;
		o->shard_n = n;
		break;
	}
	case O_PROGRESS: o->progress = val; break;
	case O_OPTIMIZE: o->optimize = val; break;
	case O_MEMORY_FORMAT: o->memory_format = val; break;
	case O_CONF: return parse_double(d->longname, val, 0.0, 1.0, &o->conf);
	case O_IOU: return parse_double(d->longname, val, 0.0, 1.0, &o->iou);
	case O_MAX_DET: return set_long(d->longname, val, 1, 1000000, &o->max_det);
	case O_CLASSES: o->classes = val; break;
	case O_DRAW: o->draw_dir = val; break;
	case O_POINTS:
		if (set_list(d->longname, val, o->points_list, &o->n_points) < 0)
			return -1;
		o->points = o->points_list[0];
		break;
	case O_PROMPTS: return set_long(d->longname, val, 1, 100000000, &o->prompts);
	case O_PROMPT_BATCH:
		if (set_list(d->longname, val, o->prompt_batch_list, &o->n_prompt_batch) < 0)
			return -1;
		o->prompt_batch = o->prompt_batch_list[0];
		break;
	case O_WARMUP: return set_long(d->longname, val, 0, 1000000, &o->warmup);
	case O_ITERS: return set_long(d->longname, val, 1, 1000000, &o->iters);
	case O_IMAGE_STREAM: o->image_stream = 1; break;
	case O_EVERY: return set_long(d->longname, val, 1, 1000000000, &o->every);
	case O_CROP_FROM: o->crop_from = val; break;
	case O_CROP_PAD: return parse_double(d->longname, val, 0.0, 100.0, &o->crop_pad);
	case O_DECODE_THREADS: return set_long(d->longname, val, 1, 64, &o->decode_threads);
	case O_INPUT: o->bench_input = val; break;
	case O_FORMAT: o->format = val; break;
	case O_BASELINE: o->baseline = val; break;
	case O_TOLERANCE: return parse_double(d->longname, val, 0.0, 1e6, &o->tolerance);
	case O_MEMORY_TOLERANCE: return parse_double(d->longname, val, 0.0, 1e6, &o->memory_tolerance);
	case O_REPEAT: return set_long(d->longname, val, 1, 1000, &o->repeat);
	case O_COMPARE_ANY: o->compare_any = 1; break;
	case O_ALLOW_MISSING: o->allow_missing = 1; break;
	case O_RESULTS: o->bench_results = val; break;
	case O_MEMORY_TRACE: o->memory_trace = val; break;
	case O_PLOT: o->plot = val; break;
	case O_MAX_VRAM: return parse_vram(d->longname, val, o);
	case O_EMPTY_CACHE: o->empty_cache = 1; break;
	case O_SEED:
		if (parse_long(d->longname, val, 0, LLONG_MAX, &ll) < 0)
			return -1;
		o->seed = (unsigned long long)ll;
		break;
	case O_MIN_SCORE: return parse_double(d->longname, val, 0.0, 1.0, &o->min_score);
	case O_HELP: o->cmd = CMD_HELP; break;
	case O_VERSION: o->cmd = CMD_VERSION; break;
	}
	return 0;
}

/* 1 when the option with this id was on the command line. */
static int was_given(const struct opts *o, enum opt_id id)
{
	for (int i = 0; i < NOPTS; i++)
		if (table[i].id == (int)id)
			return o->given[i];
	return 0;
}

static const char *command_name(enum command c)
{
	for (int k = 0; k < NCMDS; k++)
		if (commands[k].cmd == c)
			return commands[k].name;
	return "tinfer";
}

/* Finds an option by long name (with an optional "=value" in *eq) or short letter. */
static const struct option_def *find_long(const char *name, size_t len)
{
	for (int i = 0; i < NOPTS; i++)
		if (strlen(table[i].longname) == len && !strncmp(table[i].longname, name, len))
			return &table[i];
	return NULL;
}

static const struct option_def *find_short(char c)
{
	for (int i = 0; i < NOPTS; i++)
		if (table[i].shortname == c)
			return &table[i];
	return NULL;
}

int opts_parse(int argc, char **argv, struct opts *o)
{
	enum command cmd = CMD_NONE;
	const char *env = getenv("TINFER_DEVICE");
	int i = 1, only_operands = 0, device_given = 0;

	memset(o, 0, sizeof *o);
	o->device = "auto";
	o->dtype = TCH_F32;
	o->top_k = 5;
	o->max_pixels = 100000000LL;
	o->progress = "auto";
	o->optimize = "auto";
	o->memory_format = "auto";
	o->conf = o->iou = -1.0;
	o->min_score = 0.5;
	o->warmup = 3;
	o->iters = 20;
	o->format = "json";
	o->tolerance = 10.0;
	o->memory_tolerance = -1.0;
	o->repeat = 1;
	o->argc = argc;
	o->argv = argv;
	o->inputs = calloc((size_t)argc, sizeof *o->inputs);
	if (!o->inputs) {
		msg_error("out of memory");
		return -1;
	}
	if (argc > 1 && argv[1][0] != '-') {
		for (int k = 0; k < NCMDS; k++)
			if (!strcmp(argv[1], commands[k].name))
				cmd = commands[k].cmd;
		if (cmd == CMD_NONE) {
			const char *c = argv[1];
			msg_error("unknown command '%s'", c);
			opts_usage();
			return -1;
		}
		i = 2;
	}
	for (; i < argc; i++) {
		const char *a = argv[i];
		const struct option_def *d;
		const char *val = NULL;

		if (only_operands || a[0] != '-' || !strcmp(a, "-")) {
			o->inputs[o->n_inputs++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--")) {
			only_operands = 1;
			continue;
		}
		if (a[1] == '-') {
			const char *eq = strchr(a + 2, '=');
			d = find_long(a + 2, eq ? (size_t)(eq - a - 2) : strlen(a + 2));
			if (!d) {
				msg_error("unknown option '%s'", a);
				opts_usage();
				return -1;
			}
			if (eq && !d->arg) {
				msg_error("option '--%s' takes no value", d->longname);
				return -1;
			}
			if (d->arg)
				val = eq ? eq + 1 : NULL;
		} else {
			d = find_short(a[1]);
			if (!d) {
				msg_error("unknown option '%s'", a);
				opts_usage();
				return -1;
			}
			if (d->arg && a[2])
				val = a + 2;
			else if (!d->arg && a[2]) {
				/* bundled flags such as -qr */
				for (const char *p = a + 1; *p; p++) {
					const struct option_def *f = find_short(*p);
					if (!f || f->arg) {
						msg_error("unknown or misplaced option '-%c' in '%s'", *p, a);
						opts_usage();
						return -1;
					}
					apply(o, f, NULL);
					o->given[f - table] = 1;
				}
				continue;
			}
		}
		if (d->arg && !val) {
			if (i + 1 >= argc) {
				msg_error("option '--%s' needs a value (%s)", d->longname, d->arg);
				opts_usage();
				return -1;
			}
			val = argv[++i];
		}
		if (d->id != O_HELP && d->id != O_VERSION && cmd != CMD_NONE && !(d->commands & (1u << cmd))) {
			msg_error("option '--%s' does not apply to '%s'", d->longname, command_name(cmd));
			return -1;
		}
		if (apply(o, d, val) < 0)
			return -1;
		o->given[d - table] = 1;
		device_given |= d->id == O_DEVICE;
	}
	if (o->cmd == CMD_HELP || o->cmd == CMD_VERSION)
		return 0;
	if (cmd == CMD_NONE) {
		msg_error("no command given");
		opts_usage();
		return -1;
	}
	o->cmd = cmd;
	/* $TINFER_DEVICE matters to run and bench; -d overrides it. */
	if ((cmd == CMD_RUN || cmd == CMD_BENCH) && env && *env && !strcmp(o->device, "auto") && !device_given) {
		if (check_device(env) < 0) {
			msg_error("(the device came from $TINFER_DEVICE)");
			return -1;
		}
		o->device = env;
	}
	/* CUDA-only options on the CPU are refused here when the device says so
	 * (libtorch not loaded); with auto, when the model is loaded. */
	if (cmd == CMD_RUN && !strcmp(o->device, "cpu") && (o->max_vram || o->max_vram_pct > 0 || o->empty_cache)) {
		msg_error("%s applies to CUDA devices only (the device is cpu)",
		          o->empty_cache && !o->max_vram && !(o->max_vram_pct > 0) ? "--empty-cache" : "--max-vram");
		return -1;
	}
	if (cmd == CMD_COMPLETIONS) {
		if (o->n_inputs != 1 || !is_choice("bash zsh fish", o->inputs[0])) {
			msg_error("'completions' takes one shell: bash, zsh or fish");
			return -1;
		}
		o->shell = o->inputs[0];
		return 0;
	}
	if (o->bench_results && !o->baseline) {
		msg_error("--results is gated against a --baseline: give both");
		return -1;
	}
	if (o->bench_results && o->model) {
		msg_error("--results gates an earlier result: it runs no model (drop -m)");
		return -1;
	}
	if (o->memory_tolerance < 0)
		o->memory_tolerance = o->tolerance;
	if (cmd != CMD_MODELS && !o->model && !o->bench_results) {
		msg_error("'%s' needs a model: -m NAME|PATH", command_name(cmd));
		opts_usage();
		return -1;
	}
	if (cmd != CMD_RUN && o->n_inputs) {
		msg_error("'%s' takes no operands (got '%s')", command_name(cmd), o->inputs[0]);
		return -1;
	}
	if (cmd == CMD_RUN && (o->n_batch > 1 || o->n_points > 1 || o->n_prompt_batch > 1)) {
		msg_error("lists of values (1,8,32) are for 'bench'; 'run' takes one");
		return -1;
	}
	if (o->every > 1 && !o->image_stream) {
		msg_error("--every picks images of an --image-stream: give both");
		return -1;
	}
	if (was_given(o, O_CROP_PAD) && !o->crop_from) {
		msg_error("--crop-pad widens the boxes of --crop-from: give both");
		return -1;
	}
	if (o->plot && !o->memory_trace) {
		msg_error("--plot draws the --memory-trace: give both");
		return -1;
	}
	if (o->resume && (!o->output || !strcmp(o->output, "-"))) {
		msg_error("--resume needs -o FILE: the records to resume from");
		return -1;
	}
	if (o->files_from && !strcmp(o->files_from, "-")) {
		for (int k = 0; k < o->n_inputs; k++)
			if (!strcmp(o->inputs[k], "-")) {
				msg_error("--files-from - and the input - both want stdin");
				return -1;
			}
	}
	return 0;
}
