/*
 * chunk_src.h — for the tests and fuzz targets of the stream readers
 * (formats/tar, formats/imgstream): a byte_src over memory that hands out
 * at most `chunk` bytes per read, as a pipe does, and counts what it gave
 * in `off`.
 */
#ifndef TINFER_TESTS_CHUNK_SRC_H
#define TINFER_TESTS_CHUNK_SRC_H
#include <string.h>
#include <sys/types.h>

struct src {
	const unsigned char *p;
	size_t n, off, chunk;
};

static inline ssize_t src_read(void *ctx, void *buf, size_t n)
{
	struct src *s = ctx;
	size_t k = s->n - s->off;
	if (k > n)
		k = n;
	if (k > s->chunk)
		k = s->chunk;
	if (k)
		memcpy(buf, s->p + s->off, k);
	s->off += k;
	return (ssize_t)k;
}

#endif
