/*
 * opts.h — the command line: one table of options (opts.c) feeds the parser
 * and --help; tests/cli/test_docs.sh fails when the man page or a shell
 * completion misses one of them.
 */
#ifndef TINFER_OPTS_H
#define TINFER_OPTS_H

#include <stddef.h>
#include <stdint.h>

enum command { CMD_NONE = 0, CMD_RUN, CMD_BENCH, CMD_INFO, CMD_MODELS, CMD_COMPLETIONS, CMD_HELP, CMD_VERSION };

/* How a shell completes an option's value. */
enum complete_kind { COMPLETE_NONE = 0, COMPLETE_FILE, COMPLETE_DIR, COMPLETE_MODEL };

/* Which models an option applies to: any, the tasks that list it
 * (tasks/task.h, task_def.options), or those whose inputs are images. */
enum option_scope { SCOPE_ANY = 0, SCOPE_TASK, SCOPE_IMAGES };

/* One option: the parser, --help, the shell completions and the docs test read these. */
struct option_def {
	int id;
	char shortname;             /* 0 = none */
	const char *longname;
	const char *arg;            /* value's name in --help; NULL = a flag */
	unsigned commands;          /* bit (1 << CMD_x) for each command that takes it */
	const char *choices;        /* the accepted values, space-separated; NULL = any */
	enum complete_kind complete;
	enum option_scope scope;
	const char *help;
};

/* The table of options (n entries) and the commands with a line of help each. */
const struct option_def *opts_table(int *n);
struct command_def {
	enum command cmd;
	const char *name, *help;
};
const struct command_def *opts_commands(int *n);

/* Every option with its default (whisper.cpp's whisper_params). */
struct opts {
	enum command cmd;
	const char *model;          /* -m: manifest name or path */
	const char *models_file;    /* --models */
	const char *task;           /* --task, NULL = manifest's */
	const char *device;         /* -d: auto, cpu, cuda, cuda:N */
	int dtype;                  /* TCH_F32 (default), TCH_F16, TCH_BF16 */
	int autocast;
	long batch_size;            /* 0 = manifest's, else 1 */
	/* bench: lists of values, every combination run (n_x = 0: the default) */
#define OPTS_MAXLIST 16
	long batch_list[OPTS_MAXLIST], points_list[OPTS_MAXLIST], prompt_batch_list[OPTS_MAXLIST];
	int n_batch, n_points, n_prompt_batch;
	long warmup, iters;
	const char *bench_input;    /* --input: a real input instead of synthetic ones */
	const char *format;         /* json, jsonl, md */
	const char *baseline;       /* --baseline FILE: fail on a regression against it */
	double tolerance;           /* --tolerance, percent */
	double memory_tolerance;    /* --memory-tolerance, percent (default: tolerance) */
	long repeat;                /* --repeat: measurements of each configuration */
	int compare_any;            /* --compare-any: gate against an incomparable baseline */
	int allow_missing;          /* --allow-missing: baseline configurations may be absent */
	const char *bench_results;  /* --results FILE: gate it instead of running */
	int argc;                   /* the command line, for bench's provenance */
	char **argv;
	const char *memory_trace;   /* --memory-trace FILE.csv (run and bench) */
	const char *plot;           /* --plot FILE.svg */
	long threads;               /* 0 = all cores */
	const char *output;         /* -o, NULL = stdout */
	const char *report;         /* --report FILE, "-" = stderr, NULL = human line */
	const char *files_from;     /* -T */
	int recursive;
	int null_sep;
	int quiet;
	long top_k;
	double conf, iou;           /* detect; -1 = the manifest's, else 0.25 / 0.45 */
	long max_det;               /* detect; 0 = the manifest's, else 300 */
	const char *classes;        /* detect: --classes LIST, NULL = all */
	const char *draw_dir;       /* detect: images with their boxes drawn */
	long points, prompts, prompt_batch; /* segment; 0 = the manifest's, else 15000, 75, 4 */
	unsigned long long seed;    /* segment: sampling and prompt selection */
	double min_score;           /* segment: drop masks whose predicted IoU is lower */
	long long max_pixels;
	int fast_decode;
	const char *save_dir;
	int image_stream;           /* --image-stream */
	long every;                 /* --every N */
	const char *crop_from;      /* --crop-from FILE, "-" = stdin */
	double crop_pad;
	long decode_threads;        /* 0 = chosen from the cores and the device */
	int json;                   /* info, models: --json */
	int resume;                 /* skip inputs with an ok record in -o FILE */
	long shard_i, shard_n;      /* --shard I/N; shard_n 0 = all */
	const char *progress;       /* auto, always, never */
	const char *optimize;       /* --optimize: auto, on, off */
	const char *memory_format;  /* auto, channels-last, contiguous */
	long long max_vram;         /* --max-vram in bytes; 0 = none (or a percentage) */
	double max_vram_pct;        /* --max-vram N%; 0 = none */
	int empty_cache;            /* --empty-cache */
	char **inputs;              /* operands after the options */
	int n_inputs;
	const char *shell;          /* completions: bash, zsh or fish */
#define OPTS_MAX 128
	unsigned char given[OPTS_MAX]; /* given[i]: option i of the table was on the command line */
};

/*
 * Parses argv into *o (defaults first, then the environment: TINFER_DEVICE).
 * Returns -1 and prints a one-line reason and a usage hint on a usage error;
 * 0 otherwise.  *o points into argv.
 */
int opts_parse(int argc, char **argv, struct opts *o);

/* Prints the full help (to stdout) and the short usage (to stderr). */
void opts_help(void);
void opts_usage(void);

/*
 * Checks the options given against the model's task: an option of scope
 * SCOPE_TASK must be in task_options, one of SCOPE_IMAGES needs a model
 * that takes images.  Returns 0, or -1 with a reason naming the option,
 * the task and the model.
 */
int opts_check_task(const struct opts *o, const char *task, const char *const *task_options, int takes_images,
                    const char *model, char *err, size_t errlen);

/* The values of a list option (-b 1,8,32) by long name: n values, or NULL
 * (n = 0) when the option was not given or takes no list. */
const long *opts_list(const struct opts *o, const char *longname, int *n);

/* -j, or the CPUs this process may run on (its affinity mask, as taskset and cgroups set it). */
long opts_threads(const struct opts *o);

#endif
