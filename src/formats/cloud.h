/*
 * cloud.h — point clouds for the segment task: PLY (ascii, binary little and
 * big endian), whitespace text .xyz/.txt and .npy [N, 3] or [N, 6].
 *
 * Every reader checks what a header claims against the bytes actually
 * present, and against max_points, before allocating anything for it.
 * Coordinates and normals must be finite.
 */
#ifndef TINFER_CLOUD_H
#define TINFER_CLOUD_H

#include <stddef.h>

enum cloud_format { CLOUD_UNKNOWN = 0, CLOUD_PLY, CLOUD_XYZ, CLOUD_NPY };

struct cloud {
	size_t n;               /* number of points, >= 1 after a successful read */
	int has_normals;        /* 1 when nrm is set */
	float *xyz;             /* (n, 3) */
	float *nrm;             /* (n, 3), or NULL */
};

/*
 * Returns the format of buf: "ply" + newline and "\x93NUMPY" by magic bytes;
 * otherwise CLOUD_XYZ when name (may be NULL) ends in .xyz or .txt, or when
 * the first bytes are printable text that starts like a number or a '#'
 * comment; CLOUD_UNKNOWN otherwise.
 */
enum cloud_format cloud_sniff(const unsigned char *buf, size_t len, const char *name);

/*
 * Reads the cloud held in buf (format from cloud_sniff) into *out.
 *
 * PLY: the vertex element's x, y, z and, when all three are present, nx, ny,
 * nz, of any PLY scalar type; other vertex properties (list ones included) and
 * other elements before or after the vertex element are skipped.  XYZ: lines
 * of 3 or 6 numbers (x y z [nx ny nz]), the same count on every line, '#'
 * comments and blank lines ignored.  NPY: any numeric dtype, shape [N, 3] or
 * [N, 6].
 *
 * max_points: a cloud with more points is refused (0 = no limit).
 *
 * Returns 0 on success.  On error returns -1, leaves *out empty and writes a
 * one-line reason (no trailing newline, no file name) into err, such as
 * "ply: vertex 12: truncated data"; vertex indices count from 0, line
 * numbers from 1.
 */
int cloud_read(const unsigned char *buf, size_t len, const char *name, size_t max_points,
               struct cloud *out, char *err, size_t errlen);

/* Releases the arrays of c and empties it; accepts NULL and an empty cloud. */
void cloud_free(struct cloud *c);

#endif
