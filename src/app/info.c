/* info.c — see info.h. */
#include "app/info.h"
#include "formats/manifest.h"
#include "sys/msg.h"
#include "app/output.h"
#include "engine/shim.h"
#include "formats/ptar.h"
#include "tasks/task.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints obj as one JSON line on stdout; exit status. */
static int print_json(json_t *obj)
{
	int rc = json_dumpf(obj, stdout, OUTPUT_JSON_FLAGS) < 0 || putchar('\n') == EOF;
	json_decref(obj);
	return rc ? EXIT_SOME_FAILED : EXIT_OK;
}

static void human_bytes(char *buf, size_t len, double b)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;
	while (b >= 1024.0 && u < 4) {
		b /= 1024.0;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", b, unit[u]);
}

int info_main(const struct opts *o)
{
	struct model_spec spec;
	struct ptar_info pi;
	char err[ERRLEN], a[32], b[32], c[32], built[64];
	uint64_t fp32, fp16;
	json_t *j, *extra;
	int rc;

	if (manifest_resolve(o->model, o->models_file, &spec, err, sizeof err) < 0) {
		msg_error("%s", err);
		return EXIT_MODEL;
	}
	if (!task_resolve(&spec, NULL, err, sizeof err)) { /* an entry a run would refuse */
		msg_error("%s", err);
		model_spec_free(&spec);
		return EXIT_MODEL;
	}
	if (ptar_stat(spec.file, &pi, err, sizeof err) < 0) {
		msg_error("model '%s': '%s': %s", spec.name, spec.file, err);
		model_spec_free(&spec);
		return EXIT_MODEL;
	}
	/* Weights in fp32 and fp16: floating-point storages are taken to be fp32
	 * as saved; other storages (int64 buffers, ...) keep their size. */
	if (pi.float_bytes != (uint64_t)-1) {
		fp32 = pi.weight_bytes;
		fp16 = pi.weight_bytes - pi.float_bytes / 2;
	} else {
		fp32 = pi.weight_bytes;
		fp16 = pi.weight_bytes / 2;
	}
	j = json_object();
	json_object_set_new(j, "model", json_string(spec.name));
	json_object_set_new(j, "file", json_string(spec.file));
	json_object_set_new(j, "source", json_string(spec.source ? spec.source : "none"));
	json_object_set_new(j, "task", json_string(spec.task));
	json_object_set_new(j, "entry", spec.entry ? json_incref(spec.entry) : json_null());
	json_object_set_new(j, "file_bytes", json_integer((json_int_t)pi.file_size));
	json_object_set_new(j, "weight_bytes", json_integer((json_int_t)pi.weight_bytes));
	json_object_set_new(j, "weight_records", json_integer(pi.n_records));
	json_object_set_new(j, "largest_record_bytes", json_integer((json_int_t)pi.largest_record));
	extra = json_array();
	for (int i = 0; i < pi.n_extra && i < 16; i++)
		json_array_append_new(extra, json_string(pi.extra[i]));
	json_object_set_new(j, "extra_files", extra);
	json_object_set_new(j, "memory_bytes", json_pack("{s:I, s:I}", "fp32", (json_int_t)fp32, "fp16", (json_int_t)fp16));
	json_object_set_new(j, "libtorch_built_against",
	                    engine_built_against(built, sizeof built) == 0 ? json_string(built) : json_null());
	if (o->json) {
		model_spec_free(&spec);
		return print_json(j);
	}
	human_bytes(a, sizeof a, (double)pi.file_size);
	human_bytes(b, sizeof b, (double)pi.weight_bytes);
	human_bytes(c, sizeof c, (double)pi.largest_record);
	printf("model:    %s\nfile:     %s (%s)\nsource:   %s\ntask:     %s\n", spec.name, spec.file, a,
	       spec.source ? spec.source : "none", spec.task);
	if (json_is_string(json_object_get(spec.entry, "description")))
		printf("about:    %s\n", json_string_value(json_object_get(spec.entry, "description")));
	if (spec.has_input)
		printf("input:    %d channel%s, %dx%d (width x height)\n", spec.pre.channels,
		       spec.pre.channels > 1 ? "s" : "", spec.pre.width, spec.pre.height);
	printf("weights:  %s in %d records (largest %s)\n", b, pi.n_records, c);
	human_bytes(a, sizeof a, (double)fp32);
	human_bytes(b, sizeof b, (double)fp16);
	printf("memory:   %s in fp32, %s in fp16\n", a, b);
	if (spec.n_labels)
		printf("labels:   %d (%s%s)\n", spec.n_labels, spec.labels[0], spec.n_labels > 1 ? ", ..." : "");
	printf("extra:    ");
	for (int i = 0; i < pi.n_extra && i < 16; i++)
		printf("%s%s", i ? ", " : "", pi.extra[i]);
	printf("%s\n", pi.n_extra ? "" : "none");
	printf("libtorch: %s%s (not loaded: a run's --report gives the one loaded and its BLAS)\n",
	       json_is_string(json_object_get(j, "libtorch_built_against")) ? "built against " : "",
	       json_is_string(json_object_get(j, "libtorch_built_against"))
	           ? json_string_value(json_object_get(j, "libtorch_built_against"))
	           : "unknown (the shim is missing or older than this tinfer)");
	json_decref(j);
	model_spec_free(&spec);
	rc = fflush(stdout) == 0 ? EXIT_OK : EXIT_SOME_FAILED;
	return rc;
}

int models_main(const struct opts *o)
{
	char err[ERRLEN] = "";
	char *path = manifest_find(o->models_file, err, sizeof err);
	json_t *root, *list, *e;
	const char *name;

	if (!path) {
		if (err[0]) {
			msg_error("%s", err);
			return EXIT_MODEL;
		}
		msg_error("no manifest found (--models, $TINFER_MODELS, ./models.json, ~/.config/tinfer/models.json)");
		return EXIT_MODEL;
	}
	if (!(root = manifest_load(path, err, sizeof err))) {
		msg_error("%s", err);
		free(path);
		return EXIT_MODEL;
	}
	list = json_array();
	json_object_foreach(json_object_get(root, "models"), name, e) {
		const char *task = json_string_value(json_object_get(e, "task"));
		const char *file = json_string_value(json_object_get(e, "file"));
		const char *desc = json_string_value(json_object_get(e, "description"));
		if (o->json)
			json_array_append_new(list, json_pack("{s:s, s:s, s:s?, s:s?}", "name", name, "task",
			                                      task ? task : "raw", "file", file, "description", desc));
		else
			printf("%-16s %-9s %s\n", name, task ? task : "raw", desc ? desc : (file ? file : ""));
	}
	json_decref(root);
	if (o->json) {
		json_t *top = json_pack("{s:s, s:o}", "manifest", path, "models", list);
		free(path);
		return print_json(top);
	}
	json_decref(list);
	free(path);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_SOME_FAILED;
}

int version_main(void)
{
	char built[64];
	printf("tinfer %s\n", TINFER_VERSION);
	if (engine_built_against(built, sizeof built) == 0)
		printf("libtorch %s (built against; a run's --report gives the one loaded and its BLAS)\n", built);
	else
		printf("libtorch: unknown (the shim is missing or older than this tinfer)\n");
	return EXIT_OK;
}
