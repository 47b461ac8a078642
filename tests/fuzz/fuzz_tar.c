/*
 * fuzz_tar.c — libFuzzer target for the streaming tar reader: every member
 * listed, the regular ones read (at most 1 MiB each), through a source
 * whose read size comes from the input's first byte, as a pipe's varies.
 *
 * `make fuzz` builds it with clang and runs it (FUZZ_SECONDS each) on a
 * corpus seeded from tests/data/tar.
 */
#include "formats/tar.h"

#include <stdlib.h>
#include <string.h>
#include "../chunk_src.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A message is one non-empty line. */
static void one_line(const char *err)
{
	if (!err[0] || strchr(err, '\n'))
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src s = {data, size, 0, size ? (size_t)data[0] * 7 + 1 : 1};
	struct tar_reader *r = tar_open((struct byte_src){src_read, &s});
	struct tar_member m;
	char err[512];
	int rc, n = 0;
	if (!r)
		return 0;
	while ((rc = tar_next(r, &m, err, sizeof err)) == 1) {
		if (!m.name || ++n > 100000)
			__builtin_trap();
		if (m.regular && n % 2) {
			size_t len;
			unsigned char *d = tar_read(r, 1 << 20, &len, err, sizeof err);
			if (d ? len == 0 || len > (1 << 20) || len != m.size : (one_line(err), 0))
				__builtin_trap();
			free(d);
		} else if (n % 3 == 0 && tar_skip(r, err, sizeof err) < 0) {
			one_line(err);
		}
	}
	if (rc < 0)
		one_line(err);
	if (tar_next(r, &m, err, sizeof err) != 0 || s.off > size)
		__builtin_trap();
	tar_close(r);
	return 0;
}
