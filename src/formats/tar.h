/*
 * tar.h — a tar archive read as a stream, member by member: no seeking (it
 * reads standard input as well as a file), memory bounded by the largest
 * member read, never by the archive.
 *
 * ustar (prefix + name), pax extended headers ("path" and "size"; global
 * headers ignored), GNU long names (././@LongLink), old v7 headers; the
 * header checksum is verified (signed or unsigned sum, as writers differ);
 * sizes in octal or base-256.  The archive ends at a zero block, or at the
 * end of the bytes after at least one header.  A cut or corrupt archive is
 * one error, after which the reader is at its end.
 */
#ifndef TINFER_TAR_H
#define TINFER_TAR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Where bytes come from: read() semantics (a short count is not the end; 0 is). */
struct byte_src {
	ssize_t (*read)(void *ctx, void *buf, size_t n);
	void *ctx;
};

struct tar_reader;

struct tar_member {
	char *name;                 /* owned by the reader, valid until the next tar_next */
	uint64_t size;              /* bytes of data */
	int regular;                /* a regular file (else a directory, link, device, ...) */
};

/* A reader over src; NULL when out of memory.  Reads nothing yet. */
struct tar_reader *tar_open(struct byte_src src);

/* Whether a 512-byte block is a tar header (its checksum holds, not all zero). */
int tar_is_header(const unsigned char *block);

/*
 * Reads up to the next member's header (skipping what is left of the
 * current member) and describes it in *m.  Returns 1, 0 at the end of the
 * archive, or -1 with a one-line reason in err (a corrupt or cut archive);
 * after -1 the reader is at its end.
 */
int tar_next(struct tar_reader *r, struct tar_member *m, char *err, size_t errlen);

/*
 * The current member's data, malloc'd, its length in *len.  NULL with a
 * reason in err when it is empty, larger than max (skipped, the archive
 * goes on), or cut short (the reader is then at its end).
 */
unsigned char *tar_read(struct tar_reader *r, size_t max, size_t *len, char *err, size_t errlen);

/* Reads past the current member's data in fixed-size chunks.  0, or -1 with err (the reader is at its end). */
int tar_skip(struct tar_reader *r, char *err, size_t errlen);

/* Frees the reader (NULL is fine); does not close its source. */
void tar_close(struct tar_reader *r);

#endif
