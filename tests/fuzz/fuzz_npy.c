/*
 * fuzz_npy.c — libFuzzer target for npy_parse, and npy_write on what parsed.
 *
 * `make fuzz` builds it with clang and runs it (FUZZ_SECONDS each) on a
 * corpus seeded from the test fixtures.
 */
#include "formats/npy.h"

#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct npy a;
	char err[256];
	if (npy_parse(data, size, &a, err, sizeof err) == 0) {
		FILE *f = fopen("/dev/null", "wb");
		if (f) {
			npy_write(f, a.dtype, a.ndim, a.shape, a.data);
			fclose(f);
		}
		npy_free(&a);
	} else if (a.data != NULL || strchr(err, '\n') != NULL) {
		__builtin_trap();
	}
	return 0;
}
