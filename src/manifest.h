/*
 * manifest.h — which model to run and how: the manifest entry named by -m,
 * or, for a model given by path, its manifest entry, its sidecar FILE.json,
 * the config.txt that ultralytics exports carry, or task raw.  Metadata only:
 * nothing here loads libtorch.
 */
#ifndef TINFER_MANIFEST_H
#define TINFER_MANIFEST_H

#include <jansson.h>

#include "opts.h"
#include "preprocess.h"

enum task { TASK_RAW = 0, TASK_CLASSIFY, TASK_DETECT, TASK_SEGMENT, TASK_EMBED };

enum decoder_type { DECODER_NONE = 0, DECODER_YOLOV8, DECODER_YOLOV2, DECODER_BOXES };

#define MAX_ANCHORS 16

/* detect: how to read the output (SPEC §3 decoder.type) */
struct detect_spec {
	enum decoder_type type;
	int classes;                /* 0 = from the output's shape (yolov8) or the labels */
	int n_anchors;              /* yolov2 */
	float anchors[MAX_ANCHORS][2]; /* yolov2: width, height in grid cells */
};

struct model_spec {
	char *name;             /* manifest key, or the file's name */
	char *file;             /* model file path */
	char *source;           /* where the description came from: a manifest path, "sidecar", "config.txt", "none" */
	char *manifest;         /* the manifest consulted (NULL when none exists) */
	enum task task;
	int has_input;          /* an image input description is present */
	struct preprocess pre;
	int output_probs;       /* classify: output already holds probabilities */
	int normalize;          /* embed: L2-normalise */
	char **labels;
	int n_labels;
	struct detect_spec det;
	/* defaults from the entry; 0 (or -1 for thresholds) = not given */
	long batch_size;
	double conf, iou;
	long max_det;
	long points, prompts, prompt_batch; /* segment */
	json_t *entry;          /* the entry as read, for `info` (owned) */
};

/*
 * Finds the manifest to use: models_file if given, else $TINFER_MODELS,
 * ./models.json, $XDG_CONFIG_HOME/tinfer/models.json (~/.config when unset),
 * then the samples manifest shipped with the program (paths.h).  Returns a malloc'd path, or NULL when none exists.  A
 * models_file that does not exist is an error (NULL with *err set).
 */
char *manifest_find(const char *models_file, char *err, size_t errlen);

/* Loads a manifest; NULL with a reason in err. */
json_t *manifest_load(const char *path, char *err, size_t errlen);

/*
 * Resolves -m MODEL into *spec.  Returns 0, or -1 with a reason in err
 * (unknown name, missing file, malformed entry).
 */
int manifest_resolve(const char *model, const char *models_file, struct model_spec *spec,
                     char *err, size_t errlen);

void model_spec_free(struct model_spec *spec);

/* The knobs a run uses: the command line's, else the entry's defaults, else tinfer's. */
struct run_settings {
	long batch_size;            /* 1 */
	long points, prompts, prompt_batch; /* segment: 15000, 75, 4 */
	float conf, iou;            /* detect: 0.25, 0.45 */
	int max_det;                /* detect: 300 */
};
void manifest_settings(const struct model_spec *spec, const struct opts *o, struct run_settings *out);

const char *task_name(enum task t);
/* Parses a task name; -1 if unknown. */
int task_parse(const char *s);

#endif
