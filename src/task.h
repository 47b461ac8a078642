/*
 * task.h — what each task makes of a batch's model output.  One file per
 * task (classify.c, embed.c, raw.c); a new task adds a file and an entry
 * in task_ops_for().
 */
#ifndef TINFER_TASK_H
#define TINFER_TASK_H

#include <jansson.h>
#include <stddef.h>

#include "engine.h"
#include "manifest.h"

struct task_ctx {
	const struct tch_api *T;
	const struct model_spec *spec;
	long top_k;                 /* classify */
	const char *save_dir;       /* raw: write tensors as .npy there */
	float conf, iou;            /* detect */
	int max_det;
	const char *draw_dir;       /* detect: write pictures with the boxes there */
};

/* One input of a batch, as the task sees it. */
struct task_item {
	json_t *rec;                /* its record: the task adds its fields */
	size_t index;               /* position in the run's input list (file names) */
	const char *path;
	const struct geometry *geo; /* images: where the source went in the model input; NULL for tensors */
	const struct image *img;    /* the decoded source, kept only for --draw; else NULL */
};

struct task_ops {
	enum task task;
	/*
	 * Adds the task's fields to the records of the n items whose output is
	 * out (first axis = the batch).  Returns 0; or -1 with a reason in err
	 * when the output does not fit the task: a model error that fails the
	 * run (exit 3).
	 */
	int (*post)(const struct task_ctx *c, const tch_value *out, struct task_item *items, int n,
	            char *err, size_t errlen);
};

/* The ops of a task, NULL when this build cannot run it. */
const struct task_ops *task_ops_for(enum task t);

extern const struct task_ops classify_ops, detect_ops, embed_ops, raw_ops;

/*
 * A file for input `index` in dir: "dir/NNNNNN_stem.suffix", NNNNNN being
 * the input's position in the run's list so that inputs with the same name
 * never overwrite each other.
 */
void task_file_name(char *out, size_t len, const char *dir, size_t index, const char *path,
                    const char *suffix);

/*
 * Copies a whole float tensor (any floating dtype) to a malloc'd float
 * buffer, checking it has ndim dimensions with shape[0] == n (ndim 0: any).  Returns the
 * buffer with the shape in shape[ndim], or NULL with a reason in err.
 */
float *task_float_rows(const struct task_ctx *c, const tch_value *out, int n, int ndim,
                       int64_t *shape, char *err, size_t errlen);

#endif
