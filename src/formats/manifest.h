/*
 * manifest.h — which model to run and how: the manifest entry named by -m,
 * or, for a model given by path, its manifest entry, its sidecar FILE.json,
 * the config.txt that ultralytics exports carry (read as the entry it
 * amounts to), or task raw.  Metadata only: nothing here loads libtorch,
 * and what a task makes of its own keys is the task's business.
 */
#ifndef TINFER_MANIFEST_H
#define TINFER_MANIFEST_H

#include <jansson.h>

#include "formats/preprocess.h"

/* The keys every entry may have, and the common keys of its "defaults";
 * each task adds its own (tasks/task.h). */
extern const char *const manifest_keys[], *const manifest_default_keys[];

struct model_spec {
	char *name;             /* manifest key, or the file's name */
	char *file;             /* model file path */
	char *source;           /* where the description came from: a manifest path, "sidecar", "config.txt", "none" */
	char *manifest;         /* the manifest consulted (NULL when none exists) */
	char *task;             /* the entry's task name ("raw" when it names none); checked by tasks/task.c */
	int has_input;          /* an image input description is present */
	struct preprocess pre;
	char **labels;
	int n_labels;
	long batch_size;        /* defaults.batch_size; 0 = not given */
	json_t *entry;          /* the entry as read: tasks read their own keys from it (owned) */
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

#endif
