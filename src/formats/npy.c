/*
 * npy.c — NumPy .npy reader and writer (see npy.h).
 *
 * The header is a Python dict literal with exactly the keys 'descr',
 * 'fortran_order' and 'shape'.  It is parsed by hand, within the bounds of the
 * header, and checked against the bytes that follow it before anything is
 * allocated.
 */
#include "formats/npy.h"
#include "sys/msg.h"

#include <math.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char MAGIC[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* numpy leaves room for the first axis to grow to this many digits. */
#define GROWTH_AXIS_MAX_DIGITS 21
#define ARRAY_ALIGN 64

static const struct {
	char kind;              /* numpy kind letter */
	size_t size;
	const char *descr;      /* little-endian descriptor, as numpy writes it */
	const char *name;
} TYPES[NPY_NTYPES] = {
	[NPY_BOOL] = {'b', 1, "|b1", "bool"},
	[NPY_I8] = {'i', 1, "|i1", "int8"},
	[NPY_U8] = {'u', 1, "|u1", "uint8"},
	[NPY_I16] = {'i', 2, "<i2", "int16"},
	[NPY_U16] = {'u', 2, "<u2", "uint16"},
	[NPY_I32] = {'i', 4, "<i4", "int32"},
	[NPY_U32] = {'u', 4, "<u4", "uint32"},
	[NPY_I64] = {'i', 8, "<i8", "int64"},
	[NPY_U64] = {'u', 8, "<u8", "uint64"},
	[NPY_F16] = {'f', 2, "<f2", "float16"},
	[NPY_F32] = {'f', 4, "<f4", "float32"},
	[NPY_F64] = {'f', 8, "<f8", "float64"},
};

size_t npy_itemsize(enum npy_dtype t)
{
	return (unsigned)t < NPY_NTYPES ? TYPES[t].size : 0;
}

const char *npy_descr(enum npy_dtype t)
{
	return (unsigned)t < NPY_NTYPES ? TYPES[t].descr : "?";
}

const char *npy_name(enum npy_dtype t)
{
	return (unsigned)t < NPY_NTYPES ? TYPES[t].name : "unknown";
}

static bool host_is_little(void)
{
	const uint16_t one = 1;
	unsigned char b;
	memcpy(&b, &one, 1);
	return b == 1;
}

/* A cursor over the header text [p, end). */
struct cur {
	const char *p, *end;
};

static void skip_ws(struct cur *c)
{
	while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
		c->p++;
}

static bool eat(struct cur *c, char ch)
{
	skip_ws(c);
	if (c->p < c->end && *c->p == ch) {
		c->p++;
		return true;
	}
	return false;
}

/*
 * Reads a quoted Python string literal without escapes or control characters
 * into out (at most outlen - 1 characters).  Returns false on a malformed or
 * overlong literal.
 */
static bool read_str(struct cur *c, char *out, size_t outlen)
{
	skip_ws(c);
	if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
		return false;
	char q = *c->p++;
	size_t n = 0;
	while (c->p < c->end && *c->p != q) {
		if (*c->p == '\\' || (unsigned char)*c->p < 0x20 || n + 1 >= outlen)
			return false;
		out[n++] = *c->p++;
	}
	if (c->p >= c->end)
		return false;
	c->p++;
	out[n] = '\0';
	return true;
}

/* Reads True or False.  Returns false on anything else. */
static bool read_bool(struct cur *c, bool *v)
{
	skip_ws(c);
	size_t left = (size_t)(c->end - c->p);
	if (left >= 4 && memcmp(c->p, "True", 4) == 0) {
		c->p += 4;
		*v = true;
		return true;
	}
	if (left >= 5 && memcmp(c->p, "False", 5) == 0) {
		c->p += 5;
		*v = false;
		return true;
	}
	return false;
}

/*
 * Reads a non-negative decimal integer (an optional Python 2 'L' suffix is
 * allowed) of at most INT64_MAX.  Returns 0, -1 on a syntax error, -2 when the
 * value is negative and -3 when it overflows.
 */
static int read_dim(struct cur *c, int64_t *v)
{
	skip_ws(c);
	if (c->p < c->end && *c->p == '-')
		return -2;
	if (c->p < c->end && *c->p == '+')
		c->p++;
	if (c->p >= c->end || *c->p < '0' || *c->p > '9')
		return -1;
	int64_t x = 0;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		int d = *c->p++ - '0';
		if (x > (INT64_MAX - d) / 10)
			return -3;
		x = x * 10 + d;
	}
	if (c->p < c->end && (*c->p == 'L' || *c->p == 'l'))
		c->p++;
	*v = x;
	return 0;
}

/*
 * Reads a shape tuple "()", "(5,)", "(2, 3)" (trailing comma allowed) into
 * shape[], at most NPY_MAXDIM entries.  Returns 0 or -1 with err set.
 */
static int read_shape(struct cur *c, int64_t *shape, int *ndim, char *err, size_t errlen)
{
	int n = 0;
	if (!eat(c, '(')) {
		msg_fmt(err, errlen, "bad .npy header: shape is not a tuple");
		return -1;
	}
	for (;;) {
		if (eat(c, ')'))
			break;
		if (n >= NPY_MAXDIM) {
			msg_fmt(err, errlen, ".npy array has more than %d dimensions", NPY_MAXDIM);
			return -1;
		}
		int rc = read_dim(c, &shape[n]);
		if (rc == -2) {
			msg_fmt(err, errlen, ".npy shape has a negative dimension");
			return -1;
		}
		if (rc == -3) {
			msg_fmt(err, errlen, ".npy shape has an absurd dimension");
			return -1;
		}
		if (rc < 0) {
			msg_fmt(err, errlen, "bad .npy header: malformed shape");
			return -1;
		}
		n++;
		if (eat(c, ','))
			continue;
		if (eat(c, ')'))
			break;
		msg_fmt(err, errlen, "bad .npy header: malformed shape");
		return -1;
	}
	*ndim = n;
	return 0;
}

/*
 * Maps a descriptor such as "<f4", "|b1", "?" or ">i8" to a dtype and whether
 * the data needs byte swapping.  Returns 0, or -1 with err set.
 */
static int parse_descr(const char *d, enum npy_dtype *t, bool *swap, char *err, size_t errlen)
{
	const char *s = d;
	char order = '=';
	if (*s == '<' || *s == '>' || *s == '|' || *s == '=')
		order = *s++;
	char kind = *s;
	size_t size = 0;
	if (kind == '?' && s[1] == '\0') {
		kind = 'b';
		size = 1;
	} else if (kind != '\0' && s[1] >= '1' && s[1] <= '8' && s[2] == '\0') {
		size = (size_t)(s[1] - '0');
	}
	for (int i = 0; i < NPY_NTYPES; i++) {
		if (size && TYPES[i].kind == kind && TYPES[i].size == size) {
			bool little = order == '<' || ((order == '=' || order == '|') && host_is_little());
			*t = (enum npy_dtype)i;
			*swap = size > 1 && little != host_is_little();
			return 0;
		}
	}
	const char *why = "";
	switch (kind) {
	case 'O': why = " (object arrays)"; break;
	case 'S': case 'U': case 'a': why = " (strings)"; break;
	case 'V': why = " (structured or void)"; break;
	case 'c': why = " (complex)"; break;
	case 'M': case 'm': why = " (datetime)"; break;
	default: break;
	}
	msg_fmt(err, errlen, "unsupported .npy dtype '%s'%s", d, why);
	return -1;
}

/* Reverses the bytes of each of count items of size sz in place. */
static void swap_items(unsigned char *p, size_t count, size_t sz)
{
	for (size_t i = 0; i < count; i++, p += sz)
		for (size_t a = 0, b = sz - 1; a < b; a++, b--) {
			unsigned char tmp = p[a];
			p[a] = p[b];
			p[b] = tmp;
		}
}

/*
 * Copies count items of size sz from src, laid out in Fortran order over
 * shape[ndim], to dst in C order.  count must be the product of shape and
 * non-zero.
 */
static void fortran_to_c(unsigned char *dst, const unsigned char *src, size_t count, size_t sz,
			 int ndim, const int64_t *shape)
{
	size_t cstride[NPY_MAXDIM];
	int64_t idx[NPY_MAXDIM] = {0};
	size_t st = 1;
	for (int d = ndim - 1; d >= 0; d--) {
		cstride[d] = st;
		st *= (size_t)shape[d];
	}
	size_t off = 0;
	for (size_t i = 0; i < count; i++) {
		memcpy(dst + off * sz, src + i * sz, sz);
		/* advance the column-major index: the first axis varies fastest */
		for (int d = 0; d < ndim; d++) {
			off += cstride[d];
			if (++idx[d] < shape[d])
				break;
			off -= cstride[d] * (size_t)shape[d];
			idx[d] = 0;
		}
	}
}

int npy_parse_header(const unsigned char *buf, size_t len, struct npy_header *h, char *err, size_t errlen)
{
	memset(h, 0, sizeof *h);
	if (err && errlen)
		err[0] = '\0';
	if (!buf || len < 10 || memcmp(buf, MAGIC, sizeof MAGIC) != 0) {
		msg_fmt(err, errlen, "not a .npy file");
		return -1;
	}
	int major = buf[6], minor = buf[7];
	size_t hstart, hlen;
	if (major == 1) {
		hstart = 10;
		hlen = (size_t)buf[8] | (size_t)buf[9] << 8;
	} else if (major == 2 || major == 3) {
		if (len < 12) {
			msg_fmt(err, errlen, "truncated .npy header");
			return -1;
		}
		hstart = 12;
		hlen = (size_t)buf[8] | (size_t)buf[9] << 8 | (size_t)buf[10] << 16 | (size_t)buf[11] << 24;
	} else {
		msg_fmt(err, errlen, "unsupported .npy format version %d.%d", major, minor);
		return -1;
	}
	if (minor != 0) {
		msg_fmt(err, errlen, "unsupported .npy format version %d.%d", major, minor);
		return -1;
	}
	if (hlen > len - hstart) {
		msg_fmt(err, errlen, ".npy header runs past the end of the file");
		return -1;
	}

	struct cur c = {(const char *)buf + hstart, (const char *)buf + hstart + hlen};
	char descr[32] = "", key[32];
	bool fortran = false, have_descr = false, have_fortran = false, have_shape = false;
	int64_t shape[NPY_MAXDIM];
	int ndim = 0;

	if (!eat(&c, '{')) {
		msg_fmt(err, errlen, "bad .npy header: not a dict");
		return -1;
	}
	for (;;) {
		if (eat(&c, '}'))
			break;
		if (!read_str(&c, key, sizeof key) || !eat(&c, ':')) {
			msg_fmt(err, errlen, "bad .npy header: malformed dict");
			return -1;
		}
		if (strcmp(key, "descr") == 0 && !have_descr) {
			skip_ws(&c);
			if (c.p < c.end && *c.p == '[') {
				msg_fmt(err, errlen, "unsupported .npy dtype (structured array)");
				return -1;
			}
			if (!read_str(&c, descr, sizeof descr)) {
				msg_fmt(err, errlen, "bad .npy header: malformed descr");
				return -1;
			}
			have_descr = true;
		} else if (strcmp(key, "fortran_order") == 0 && !have_fortran) {
			if (!read_bool(&c, &fortran)) {
				msg_fmt(err, errlen, "bad .npy header: malformed fortran_order");
				return -1;
			}
			have_fortran = true;
		} else if (strcmp(key, "shape") == 0 && !have_shape) {
			if (read_shape(&c, shape, &ndim, err, errlen) < 0)
				return -1;
			have_shape = true;
		} else {
			msg_fmt(err, errlen, "bad .npy header: unexpected key '%s'", key);
			return -1;
		}
		if (eat(&c, ','))
			continue;
		if (eat(&c, '}'))
			break;
		msg_fmt(err, errlen, "bad .npy header: malformed dict");
		return -1;
	}
	skip_ws(&c);
	if (c.p != c.end || !have_descr || !have_fortran || !have_shape) {
		msg_fmt(err, errlen, "bad .npy header: %s", c.p != c.end ? "junk after the dict" : "missing keys");
		return -1;
	}

	enum npy_dtype t;
	bool swap;
	if (parse_descr(descr, &t, &swap, err, errlen) < 0)
		return -1;
	size_t sz = npy_itemsize(t);

	size_t count = 1;
	for (int d = 0; d < ndim; d++) {
		if (shape[d] != 0 && count > SIZE_MAX / sz / (uint64_t)shape[d]) {
			count = SIZE_MAX;
			for (int e = 0; e < ndim; e++)
				if (shape[e] == 0)
					count = 0;
			if (count) {
				msg_fmt(err, errlen, ".npy shape is absurdly large");
				return -1;
			}
			break;
		}
		count *= (size_t)shape[d];
	}
	h->dtype = t;
	h->ndim = ndim;
	memcpy(h->shape, shape, (size_t)ndim * sizeof shape[0]);
	h->count = count;
	h->fortran = fortran;
	h->swap = swap;
	h->offset = hstart + hlen;
	return 0;
}

int npy_parse(const unsigned char *buf, size_t len, struct npy *out, char *err, size_t errlen)
{
	struct npy_header h;
	memset(out, 0, sizeof *out);
	if (npy_parse_header(buf, len, &h, err, errlen) < 0)
		return -1;
	enum npy_dtype t = h.dtype;
	size_t sz = npy_itemsize(t), count = h.count;
	int ndim = h.ndim;
	const int64_t *shape = h.shape;
	bool fortran = h.fortran, swap = h.swap;
	size_t have = len - h.offset;
	if (have != count * sz) {
		if (have % sz)
			msg_fmt(err, errlen, ".npy header claims %zu items but the file holds %zu bytes of data",
			       count, have);
		else
			msg_fmt(err, errlen, ".npy header claims %zu items but the file holds %zu", count, have / sz);
		return -1;
	}

	const unsigned char *src = buf + h.offset;
	unsigned char *data = malloc(count > 0 ? count * sz : 1);
	if (!data) {
		msg_fmt(err, errlen, "out of memory reading .npy (%zu bytes)", count * sz);
		return -1;
	}
	if (fortran && ndim > 1 && count > 0)
		fortran_to_c(data, src, count, sz, ndim, shape);
	else if (count)
		memcpy(data, src, count * sz);
	if (swap)
		swap_items(data, count, sz);
	if (t == NPY_BOOL)
		for (size_t i = 0; i < count; i++)
			data[i] = data[i] != 0;

	out->dtype = t;
	out->ndim = ndim;
	memcpy(out->shape, shape, (size_t)ndim * sizeof shape[0]);
	out->count = count;
	out->data = data;
	return 0;
}

void npy_free(struct npy *a)
{
	if (!a)
		return;
	free(a->data);
	a->data = NULL;
	a->count = 0;
}

/*
 * Writes the version 1.0 header exactly as numpy 1.24 does (sorted keys,
 * spare room for the first axis to grow, data aligned to 64 bytes), then the
 * data.  On a big-endian host the descriptor says so instead of swapping.
 */
int npy_header(char *out, size_t total, enum npy_dtype t, int ndim, const int64_t *shape)
{
	if ((unsigned)t >= NPY_NTYPES || ndim < 0 || ndim > NPY_MAXDIM || (ndim > 0 && !shape)) {
		errno = EINVAL;
		return -1;
	}
	size_t sz = npy_itemsize(t), count = 1;
	for (int d = 0; d < ndim; d++) {
		if (shape[d] < 0) {
			errno = EINVAL;
			return -1;
		}
		if (shape[d] != 0 && count > SIZE_MAX / sz / (uint64_t)shape[d]) {
			errno = EOVERFLOW;
			return -1;
		}
		count *= (size_t)shape[d];
	}

	char descr[8];
	snprintf(descr, sizeof descr, "%s", npy_descr(t));
	if (sz > 1 && !host_is_little())
		descr[0] = '>';

	char hdr[512];
	int n = snprintf(hdr, sizeof hdr, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
	for (int d = 0; d < ndim; d++)
		n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%s%lld", d ? ", " : "", (long long)shape[d]);
	n += snprintf(hdr + n, sizeof hdr - (size_t)n, "%s), }", ndim == 1 ? "," : "");
	if (ndim > 0) {
		char first[24];
		int w = snprintf(first, sizeof first, "%lld", (long long)shape[0]);
		for (int i = w; i < GROWTH_AXIS_MAX_DIGITS; i++)
			hdr[n++] = ' ';
	}
	/* pad with spaces and a final newline: to total bytes, else so that the data starts aligned */
	size_t pad;
	if (total) {
		if (10 + (size_t)n + 1 > total || total > 10 + sizeof hdr || total % 16) {
			errno = ENOSPC;
			return -1;
		}
		pad = total - (10 + (size_t)n + 1);
	} else {
		pad = (ARRAY_ALIGN - (10 + (size_t)n + 1) % ARRAY_ALIGN) % ARRAY_ALIGN;
	}
	memset(hdr + n, ' ', pad);
	n += (int)pad;
	hdr[n++] = '\n';

	memcpy(out, MAGIC, sizeof MAGIC);
	out[6] = 1;
	out[7] = 0;
	out[8] = (char)(n & 0xff);
	out[9] = (char)(n >> 8);
	memcpy(out + 10, hdr, (size_t)n);
	return 10 + n;
}

int npy_write(FILE *f, enum npy_dtype t, int ndim, const int64_t *shape, const void *data)
{
	char hdr[NPY_HEADER_MAX];
	int n;
	if (!f) {
		errno = EINVAL;
		return -1;
	}
	if ((n = npy_header(hdr, 0, t, ndim, shape)) < 0)
		return -1;
	size_t sz = npy_itemsize(t), count = 1;
	for (int d = 0; d < ndim; d++)
		count *= (size_t)shape[d];
	if (count && !data) {
		errno = EINVAL;
		return -1;
	}
	if (fwrite(hdr, 1, (size_t)n, f) != (size_t)n)
		return -1;
	if (count && fwrite(data, sz, count, f) != count)
		return -1;
	return 0;
}

double npy_get(const struct npy *a, size_t i)
{
	const unsigned char *p = (const unsigned char *)a->data + i * npy_itemsize(a->dtype);

	switch (a->dtype) {
	case NPY_BOOL: return *p;
	case NPY_I8: { int8_t v; memcpy(&v, p, 1); return v; }
	case NPY_U8: return *p;
	case NPY_I16: { int16_t v; memcpy(&v, p, 2); return v; }
	case NPY_U16: { uint16_t v; memcpy(&v, p, 2); return v; }
	case NPY_I32: { int32_t v; memcpy(&v, p, 4); return v; }
	case NPY_U32: { uint32_t v; memcpy(&v, p, 4); return v; }
	case NPY_I64: { int64_t v; memcpy(&v, p, 8); return (double)v; }
	case NPY_U64: { uint64_t v; memcpy(&v, p, 8); return (double)v; }
	case NPY_F16: {
		uint16_t hf;
		memcpy(&hf, p, 2);
		int e = (hf >> 10) & 0x1f, m = hf & 0x3ff;
		double v = e == 0x1f ? (m ? NAN : INFINITY) : e ? ldexp(1024 + m, e - 25) : ldexp(m, -24);
		return (hf & 0x8000) ? -v : v;
	}
	case NPY_F32: { float v; memcpy(&v, p, 4); return v; }
	case NPY_F64: { double v; memcpy(&v, p, 8); return v; }
	default: return NAN;
	}
}
