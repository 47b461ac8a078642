/*
 * task.h — the task table.  A task says what inputs a model takes, which
 * options and manifest keys are its own, and what a record says about the
 * model's output.  Everything above this layer (run, bench, info) reaches a
 * task only through its task_def: adding a task is one file and one row in
 * task.c's table.
 *
 * Two kinds of task:
 *   batched   (classify, detect, embed, raw): the caller stacks inputs into
 *             batches, runs forward passes (with out-of-memory halving), and
 *             calls post() with each batch's output;
 *   per input (segment): run_one() drives the model itself, one input at a
 *             time, because one input takes many forward passes.
 */
#ifndef TINFER_TASK_H
#define TINFER_TASK_H

#include <jansson.h>
#include <stddef.h>

#include "cli/opts.h"
#include "engine/model.h"
#include "formats/cloud.h"
#include "formats/image.h"
#include "formats/manifest.h"
#include "formats/preprocess.h"

/* What a task's model takes (bits of task_def.inputs). */
enum task_input {
	TASK_IN_IMAGE = 1,          /* PNG/JPEG, preprocessed by the manifest's "input" */
	TASK_IN_TENSOR = 2,         /* .npy, batched along a new first axis */
	TASK_IN_CLOUD = 4           /* PLY, XYZ, .npy point clouds */
};

/* One input of a batch, as a task sees it. */
struct task_item {
	json_t *rec;                /* its record: the task adds its fields */
	size_t index;               /* position in the run: names its files in --save-dir/--draw */
	const char *name;           /* the input's name */
	const struct geometry *geo; /* images: where the source went in the model input; else NULL */
	const struct image *img;    /* the decoded source when the task keeps images (keep_images); else NULL */
	const struct cloud *cloud;  /* TASK_IN_CLOUD */
	int failed;                 /* set by the task: this input's output is unusable, err says why */
	char *err;                  /* ERRLEN bytes */
};

/* What run_one() made of an input. */
enum task_status {
	TASK_OK = 0,
	TASK_INPUT,                 /* this input failed (err): an error record, the run goes on */
	TASK_OOM,                   /* out of memory even at the smallest size (err): an error record */
	TASK_MODEL                  /* the model does not do what the task needs (err): fatal, exit 3 */
};

struct task;

struct task_def {
	const char *name;
	unsigned inputs;                    /* enum task_input bits */
	/* Command-line options (long names) that only this task takes: any other
	 * task refuses them (cli/opts.h, OPT_TASK). */
	const char *const *options;
	/* Manifest entry keys of this task, beside the common ones (manifest.h),
	 * and its keys in "defaults" beside batch_size. */
	const char *const *keys;
	const char *const *default_keys;
	/* List options that `bench` varies for this task (e.g. "points"), one
	 * configuration per combination; set_knob() applies one value. */
	const char *const *knobs;
	/*
	 * Reads the task's manifest keys and options into t->state.  Returns 0,
	 * or an exit status (EXIT_USAGE, EXIT_MODEL) with a reason in err.
	 * Loads nothing: run calls it before libtorch is mapped.
	 */
	int (*open)(struct task *t, const struct opts *o, char *err, size_t errlen);
	void (*close)(struct task *t);
	/*
	 * Batched tasks: adds the task's fields to the records of the n items
	 * whose output is out (first axis = the batch).  An input whose output
	 * is unusable (NaN) gets failed and err.  Returns 0, or -1 with a reason
	 * in err when the output does not fit the task: a model error (exit 3).
	 */
	int (*post)(struct task *t, const tch_value *out, struct task_item *items, int n, char *err,
	            size_t errlen);
	/* Per-input tasks: runs the model on one input and fills its record. */
	enum task_status (*run_one)(struct task *t, struct model *m, struct task_item *it, char *err,
	                            size_t errlen);
	/*
	 * Optional, run only: opens what the task writes beside the records
	 * (embed --save-dir: embeddings.npy), before libtorch is mapped.  rows
	 * is resume_rows() of --resume (the rows its kept records cite), -1
	 * without it.  Returns 0 or an exit status (EXIT_USAGE) with err.
	 */
	int (*start)(struct task *t, long long rows, char *err, size_t errlen);
	/*
	 * Optional, run only: called with every item of a batch, in record
	 * order, after post() and before any of their records is written (an
	 * item not to be written as ok has failed set).  Writes what those
	 * records will cite and makes it durable first, then adds the fields
	 * that cite it; may fail an item (failed, err).  Returns 0, or an exit
	 * status with err (EXIT_WRITE: a write failed; EXIT_USAGE).
	 */
	int (*commit)(struct task *t, struct task_item *items, int n, char *err, size_t errlen);
	int (*set_knob)(struct task *t, const char *knob, long value);
	/* The settings that shape its results and cost (bench's configuration). */
	json_t *(*settings)(const struct task *t);
};

/* A task opened for one run. */
struct task {
	const struct task_def *def;
	const struct model_spec *spec;
	const struct tch_api *T;    /* set once libtorch is mapped, before the first post() */
	int keep_images;            /* items keep their decoded source (detect --draw) */
	int oom_retries;            /* run_one's own out-of-memory retries */
	int status;                 /* with post() failing: its exit status when not EXIT_MODEL (e.g. EXIT_USAGE) */
	void *state;                /* the task's own */
};

/* The task named name, NULL when there is none. */
const struct task_def *task_find(const char *name);

/* "classify, detect, segment, embed, raw": the names, for messages and help. */
const char *task_names(void);

/*
 * The task of spec (or the one `override` names), its manifest entry
 * checked: every key must be a common key or one of this task's.  Returns
 * the task, or NULL with a one-line reason naming the key or task and the
 * valid values.
 */
const struct task_def *task_resolve(const struct model_spec *spec, const char *override, char *err,
                                    size_t errlen);

/*
 * task_resolve(), then the task's open(): t is ready for a run.  Returns 0
 * or an exit status with err.  task_close() accepts a task never opened.
 */
int task_open(struct task *t, const struct model_spec *spec, const struct opts *o, char *err, size_t errlen);
void task_close(struct task *t);

/* The input kinds a model takes: the task's, less images when the manifest
 * has no "input" description for them. */
unsigned task_inputs(const struct task *t);

/*
 * A file for input `index` in dir: "dir/NNNNNN_stem.suffix", NNNNNN being
 * the input's position in the run's list so that inputs with the same name
 * never overwrite each other.
 */
void task_file_name(char *out, size_t len, const char *dir, size_t index, const char *path,
                    const char *suffix);

/*
 * Copies a whole float tensor (any floating dtype) to a malloc'd float
 * buffer, checking it has ndim dimensions with shape[0] == n (ndim 0: any).
 * Returns the buffer with the shape in shape[ndim], or NULL with a reason in
 * err.
 */
float *task_float_rows(const struct task *t, const tch_value *out, int n, int ndim, int64_t *shape,
                       char *err, size_t errlen);

/*
 * Marks it failed when any of its count values is not finite: NaN and
 * infinities make no label, box or vector.  Returns 1 when it did.
 */
int task_fail_nonfinite(struct task_item *it, const float *v, size_t count);

/*
 * A knob of the task, resolved once: the command line's value when given,
 * else the entry's defaults.key, else builtin.  -1 with err when the
 * manifest's value is not a number in [lo, hi] (whole with integer), even
 * when the command line overrides it: a broken manifest is reported.
 */
int task_knob(const struct task *t, const char *key, int given, double value, double builtin, double lo,
              double hi, int integer, double *out, char *err, size_t errlen);

/* The label of class index as JSON: its name from the manifest, or null. */
json_t *task_label(const struct task *t, int index);

/* The rows of the table: one per task file. */
extern const struct task_def classify_task, detect_task, segment_task, embed_task, raw_task;

#endif
