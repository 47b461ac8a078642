/*
 * npy.h — NumPy .npy files (format versions 1, 2 and 3), read and written.
 *
 * Reading validates the header against the bytes actually present before any
 * allocation, so a header that lies about its shape is an error, not an
 * allocation of what it claims.
 */
#ifndef TINFER_NPY_H
#define TINFER_NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define NPY_MAXDIM 16

enum npy_dtype {
	NPY_BOOL = 0, NPY_I8, NPY_U8, NPY_I16, NPY_U16, NPY_I32, NPY_U32,
	NPY_I64, NPY_U64, NPY_F16, NPY_F32, NPY_F64, NPY_NTYPES
};

struct npy {
	enum npy_dtype dtype;
	int ndim;                   /* 0 for a scalar */
	int64_t shape[NPY_MAXDIM];
	size_t count;               /* product of shape (1 for a scalar) */
	void *data;                 /* count items, native byte order, C order */
};

/* Size in bytes of one item; "<f4"-style descriptor (little endian) of a dtype. */
size_t npy_itemsize(enum npy_dtype t);
const char *npy_descr(enum npy_dtype t);
/* Short name used in JSON records: "uint8", "int64", "float32", ... */
const char *npy_name(enum npy_dtype t);

/* What a .npy header says; the data start at offset. */
struct npy_header {
	enum npy_dtype dtype;
	int ndim;
	int64_t shape[NPY_MAXDIM];
	size_t count;               /* product of shape */
	int fortran;                /* fortran_order: True */
	int swap;                   /* stored in the other byte order than the host's */
	size_t offset;              /* bytes of magic, version, length and dict */
};

/*
 * Parses the header at the start of buf (len bytes of the file, at least
 * the header's; the data need not be there).  Returns 0, or -1 with a
 * one-line reason in err.
 */
int npy_parse_header(const unsigned char *buf, size_t len, struct npy_header *h, char *err, size_t errlen);

/*
 * Parses a whole .npy file held in buf.  Big-endian data is swapped to native
 * order, Fortran-ordered arrays are transposed to C order.  Object, string,
 * structured and complex arrays are refused.  Returns 0, or -1 with a
 * one-line reason in err and *out left empty.
 */
int npy_parse(const unsigned char *buf, size_t len, struct npy *out, char *err, size_t errlen);

/* Item i (C order) of a as a double; a holds any numeric dtype. */
double npy_get(const struct npy *a, size_t i);

/* Releases out->data; accepts NULL. */
void npy_free(struct npy *a);

/* Largest header npy_header() makes. */
#define NPY_HEADER_MAX 528

/*
 * The version 1.0 header of a C-order array in out (NPY_HEADER_MAX bytes):
 * padded to total bytes (a multiple of 16) when total is not 0, else to
 * numpy's 64-byte alignment.  The first axis has room to grow to 21 digits,
 * as numpy leaves it, so a header rewritten with a larger first axis keeps
 * its length.  Returns the length, or -1 with errno set (ENOSPC: it does not
 * fit in total).
 */
int npy_header(char *out, size_t total, enum npy_dtype t, int ndim, const int64_t *shape);

/* Writes a C-order little-endian array as a version 1.0 .npy.  0, or -1 with errno set. */
int npy_write(FILE *f, enum npy_dtype t, int ndim, const int64_t *shape, const void *data);

#endif
