/*
 * fuzz_imgstream.c — libFuzzer target for the PNG/JPEG stream splitter:
 * the input split into images (at most 1 MiB each) through a source whose
 * read size comes from the input's first byte; the images handed out must
 * be, back to back, a prefix of the input.
 *
 * `make fuzz` builds it with clang and runs it (FUZZ_SECONDS each) on a
 * corpus seeded from tests/data/images.
 */
#include "formats/imgstream.h"

#include <stdlib.h>
#include <string.h>
#include "../chunk_src.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct src s = {data, size, 0, size ? (size_t)(data[size - 1] % 64) * 13 + 1 : 1};
	struct imgstream *is = imgstream_open((struct byte_src){src_read, &s});
	unsigned char *img;
	size_t len, at = 0;
	char err[512];
	int rc;
	if (!is)
		return 0;
	while ((rc = imgstream_next(is, 1 << 20, &img, &len, err, sizeof err)) == 1) {
		if (len == 0 || len > (1 << 20) || at + len > size || memcmp(img, data + at, len))
			__builtin_trap();
		at += len;
		free(img);
	}
	if (rc < 0 && (!err[0] || strchr(err, '\n')))
		__builtin_trap();
	if (rc == 0 && at != size)
		__builtin_trap(); /* a clean end means every byte went into an image */
	if (imgstream_next(is, 1 << 20, &img, &len, err, sizeof err) != 0)
		__builtin_trap();
	imgstream_close(is);
	return 0;
}
