/*
 * fuzz_cloud.c — libFuzzer target for cloud_read (PLY, XYZ, NPY).
 *
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined -Isrc \
 *       tests/fuzz/fuzz_cloud.c src/cloud.c src/npy.c src/msg.c -o /tmp/fuzz_cloud -lm
 *   mkdir -p /tmp/cloud_corpus
 *   /tmp/fuzz_cloud -max_total_time=180 -rss_limit_mb=2048 /tmp/cloud_corpus tests/data/cloud
 *
 * Each input is read three ways: as it sniffs, and with the names a.xyz and
 * a.ply, so that text without a magic goes through the xyz reader too.  A
 * success must describe a consistent cloud; a failure a one-line message.
 */
#include "formats/cloud.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct cloud *c)
{
	size_t i;

	if (c->n == 0 || c->xyz == NULL || (c->has_normals != (c->nrm != NULL)))
		__builtin_trap();
	for (i = 0; i < 3 * c->n; i++)
		if (!isfinite(c->xyz[i]) || (c->nrm && !isfinite(c->nrm[i])))
			__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[3] = {NULL, "a.xyz", "a.ply"};
	int k;

	for (k = 0; k < 3; k++) {
		struct cloud c;
		char err[256];

		if (cloud_read(data, size, names[k], 1000000, &c, err, sizeof err) == 0)
			check(&c);
		else if (c.xyz != NULL || c.nrm != NULL || c.n != 0 || err[0] == '\0' ||
		         strchr(err, '\n') != NULL)
			__builtin_trap();
		cloud_free(&c);
	}
	return 0;
}
