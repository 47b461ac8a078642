/*
 * fuzz_ptar.c — libFuzzer target for the TorchScript archive reader, run on
 * memory through ptar_stat_mem and ptar_extra_mem.
 *
 * `make fuzz` builds it with clang and runs it (FUZZ_SECONDS each) on a
 * corpus seeded from the test fixtures.
 */
#include "formats/ptar.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ptar_info info;
	char err[256];
	size_t len;
	if (ptar_stat_mem(data, size, &info, err, sizeof err) == 0) {
		if (info.largest_record > info.weight_bytes ||
		    (info.float_bytes != (uint64_t)-1 && info.float_bytes > info.weight_bytes) ||
		    strnlen(info.root, sizeof info.root) == sizeof info.root)
			__builtin_trap();
	} else if (strchr(err, '\n') != NULL || err[0] == '\0') {
		__builtin_trap();
	}
	char *x = ptar_extra_mem(data, size, "config.txt", &len, err, sizeof err);
	if (x && x[len] != '\0')
		__builtin_trap();
	free(x);
	return 0;
}
