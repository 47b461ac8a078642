/*
 * fuzz_image.c — libFuzzer target for image_decode (PNG, JPEG, EXIF).
 *
 * `make fuzz` builds it with clang and runs it (FUZZ_SECONDS each) on a
 * corpus seeded from the test fixtures.
 *
 * Each input is decoded at full size and with a 64x64 reduced-scale target;
 * a success must describe a consistent image.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "formats/image.h"

static void check(const struct image *img)
{
	size_t n, i;
	unsigned sum = 0;

	if (img->data == NULL || img->width <= 0 || img->height <= 0 ||
	    (img->channels != 1 && img->channels != 3))
		abort();
	/* Read every byte, so that ASan sees a short buffer, and branch on
	 * them, so that valgrind or MSan sees uninitialised pixels. */
	n = (size_t)img->width * (size_t)img->height * (size_t)img->channels;
	for (i = 0; i < n; i++)
		sum += img->data[i];
	if (sum == 0xFFFFFFFFu)         /* 4e6 pixels * 3 * 255 never reaches it */
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int fast[2][2] = {{0, 0}, {64, 64}};
	char err[256];
	int i, w, h;

	/* the header-only size used by --fast-decode: sane whenever it answers */
	if (image_jpeg_size(data, size, &w, &h) == 0 && (w <= 0 || h <= 0))
		abort();
	for (i = 0; i < 2; i++) {
		struct image img;

		if (image_decode(data, size, 4000000, fast[i][0], fast[i][1], &img, err, sizeof err) == 0)
			check(&img);
		else if (err[0] == '\0' || memchr(err, '\n', strlen(err)) != NULL)
			abort();
		image_free(&img);
	}
	return 0;
}
