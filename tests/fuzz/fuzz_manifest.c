/*
 * fuzz_manifest.c — libFuzzer target for the manifest reader: the input is
 * written as a manifest file and every model it names is resolved, as
 * `tinfer run -m NAME --models FILE` would.  `make fuzz` builds and runs it.
 */
#include "formats/manifest.h"
#include "sys/msg.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	char err[ERRLEN];
	struct model_spec s;
	json_t *root;
	FILE *f;

	if (!path[0]) {
		snprintf(path, sizeof path, "/tmp/fuzz-manifest-%d.json", (int)getpid());
	}
	if (!(f = fopen(path, "wb")))
		return 0;
	fwrite(data, 1, size, f);
	fclose(f);
	if ((root = manifest_load(path, err, sizeof err))) {
		const char *name;
		json_t *e;
		json_object_foreach(json_object_get(root, "models"), name, e) {
			if (manifest_resolve(name, path, &s, err, sizeof err) < 0 && (!err[0] || strchr(err, '\n')))
				abort(); /* an error must say why, on one line */
			model_spec_free(&s);
		}
		json_decref(root);
	} else if (!err[0]) {
		abort();
	}
	return 0;
}
