/*
 * segment_task.h — the segment task: one point cloud through the SPEC §5
 * pipeline, the model's encode once and decode per prompt batch.  Unlike
 * the other tasks it drives the model itself, because one input takes
 * many forward passes.
 */
#ifndef TINFER_SEGMENT_TASK_H
#define TINFER_SEGMENT_TASK_H

#include <jansson.h>
#include <stddef.h>

#include "cloud.h"
#include "engine.h"

struct seg_ctx {
	const struct tch_api *T;
	tch_module *mod;
	const char *device;
	int dtype;                  /* TCH_F32/F16/BF16: what float inputs are given as */
	int autocast;
	long points, prompts;       /* --points, --prompts */
	long *prompt_batch;         /* --prompt-batch; halved on out-of-memory, for the rest of the run */
	int *oom_retries;
	uint64_t seed;
	double min_score;
	const char *save_dir;       /* labels as .npy and a coloured .ply there */
};

enum seg_status {
	SEG_OK = 0,
	SEG_INPUT,                  /* this input failed (err): an error record */
	SEG_OOM,                    /* out of memory at prompt batch 1 (err): an error record */
	SEG_DTYPE,                  /* kernels missing for the precision (err): fall back, then again */
	SEG_MODEL                   /* the model does not follow the contract (err): fatal */
};

/*
 * Makes the C heap hand every allocation of 128 KiB or more straight back to
 * the kernel when freed (glibc's M_MMAP_THRESHOLD, fixed instead of
 * adaptive).  The decoder's per-prompt-batch tensors are large and
 * short-lived; kept in the heap they leave fragments that make peak RSS
 * depend on the order of sizes seen.  With it, peak RSS follows points x
 * prompt batch (and is ~20% lower at 15000 x 4) for ~6% more time.  Call
 * before the model loads.
 */
void segment_memory_policy(void);

/*
 * Segments cloud (input number index, at path) and adds "points",
 * "sampled", "prompts", "parts" and "labels" (or "labels_file" and
 * "ply_file" with save_dir) to rec.
 */
enum seg_status segment_cloud(const struct seg_ctx *c, const struct cloud *cl, size_t index,
                              const char *path, json_t *rec, char *err, size_t errlen);

#endif
